"""Render alerts and send them through apprise. Returns results; never raises for a failed send.

A destination is one apprise URL. Its ``key`` (a hash of the URL) is what the outbox stores, so
no secret reaches the database; its ``display`` is apprise's privacy rendering, for logs and
terminals. Email destinations get HTML (apprise adds the plain-text alternative); chat and
everything else get compact markdown.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import apprise
from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PackageLoader,
    select_autoescape,
)

from monitor.errors import ConfigError
from monitor.links import web_url
from monitor.masking import mask_secrets
from monitor.models import AlertItem

PACKAGE_TEMPLATES = "templates"
SUBJECT_CHARS = 150

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Destination:
    key: str
    url: str  # secret: never log or print this, use ``display``
    display: str
    html: bool

    def __repr__(self) -> str:
        return f"Destination({self.display})"


@dataclass(frozen=True, slots=True)
class Message:
    subject: str
    html: str
    markdown: str


@dataclass(frozen=True, slots=True)
class SendResult:
    destination: str  # display form
    ok: bool
    error: str | None = None


def destination_key(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()[:16]


def load_destinations(*, urls: Sequence[str], config_file: Path | None = None) -> list[Destination]:
    """Every configured apprise URL (and those of an apprise config file) as a destination."""
    found = [_destination(url, where=f"alerts.urls.{i}") for i, url in enumerate(urls)]
    if config_file is not None:
        found += _from_config_file(config_file)
    return found


def _destination(url: str, *, where: str) -> Destination:
    plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    if not plugin:
        scheme = url.split("://", 1)[0] if "://" in url else "?"
        raise ConfigError(
            f"config: {where}: apprise does not recognise this URL (scheme {scheme!r})"
        )
    return _wrap(plugin, url=url)


def _wrap(plugin: apprise.NotifyBase, *, url: str) -> Destination:
    formats = plugin.notify_format
    primary = formats[0] if isinstance(formats, tuple | list) else formats
    return Destination(
        key=destination_key(url),
        url=url,
        display=str(plugin.url(privacy=True)).split("?", 1)[0],
        html=primary == apprise.NotifyFormat.HTML,
    )


def _from_config_file(path: Path) -> list[Destination]:
    config = apprise.AppriseConfig()
    if not config.add(str(path)):
        raise ConfigError(f"config: alerts.config: cannot read apprise config {path}")
    servers = config.services()
    if not servers:
        raise ConfigError(f"config: alerts.config: no notification URLs found in {path}")
    return [_wrap(plugin, url=str(plugin.url())) for plugin in servers]


class Renderer:
    """Jinja2 templates: the user's folder first, then the package's own."""

    def __init__(self, *, user_templates: Path | None = None) -> None:
        loaders: list[BaseLoader] = (
            [FileSystemLoader(str(user_templates))] if user_templates else []
        )
        loaders.append(PackageLoader("monitor", PACKAGE_TEMPLATES))
        self.env = Environment(
            loader=ChoiceLoader(loaders),
            autoescape=select_autoescape(enabled_extensions=("html", "html.j2")),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters["md"] = _markdown_escape

    def match(self, item: AlertItem) -> Message:
        item = _linkable(item)
        subject = _subject(f"[monitor] {item.title} ({item.score:.2f})")
        return Message(
            subject=subject,
            html=self.env.get_template("match.html.j2").render(item=item, subject=subject),
            markdown=self.env.get_template("match.md.j2").render(item=item, subject=subject),
        )

    def digest(self, items: Sequence[AlertItem]) -> Message:
        ranked = sorted((_linkable(i) for i in items), key=lambda i: i.score, reverse=True)
        subject = _subject(f"[monitor] {len(ranked)} new matches: {ranked[0].title}")
        return Message(
            subject=subject,
            html=self.env.get_template("digest.html.j2").render(items=ranked, subject=subject),
            markdown=self.env.get_template("digest.md.j2").render(items=ranked, subject=subject),
        )

    def test(self) -> Message:
        subject = "[monitor] test alert"
        text = "This is a test from monitor: alerts for this destination work."
        return Message(subject=subject, html=f"<p>{text}</p>", markdown=text)


def _linkable(item: AlertItem) -> AlertItem:
    """The item with its URL emptied unless it is http(s): the templates (the user's too) put it
    in ``href``, and a feed may link to ``javascript:`` or ``data:``."""
    return replace(item, url=web_url(item.url) or "")


def send(destination: Destination, message: Message) -> SendResult:
    """Deliver one message to one destination; a failure is returned, never raised."""
    notifier = apprise.Apprise()
    notifier.add(destination.url)
    body, fmt = (
        (message.html, apprise.NotifyFormat.HTML)
        if destination.html
        else (message.markdown, apprise.NotifyFormat.MARKDOWN)
    )
    with apprise.LogCapture(level=logging.WARNING) as captured:
        try:
            ok = bool(notifier.notify(title=message.subject, body=body, body_format=fmt))
        except Exception as exc:  # a plugin bug must not take the sender down
            ok, captured = False, None
            error = f"{type(exc).__name__}: {exc}"
        else:
            error = _last_line(captured.getvalue()) if captured is not None else ""
    if ok:
        return SendResult(destination=destination.display, ok=True)
    return SendResult(
        destination=destination.display,
        ok=False,
        error=mask_secrets(f"notify: sending failed: {error or 'apprise reported failure'}"),
    )


def _last_line(text: str) -> str:
    lines = [line.split(" - ", 2)[-1].strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _subject(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= SUBJECT_CHARS else flat[: SUBJECT_CHARS - 1] + "…"


def _markdown_escape(text: str) -> str:
    return "".join("\\" + c if c in "\\`*_[]<>|#" else c for c in str(text))
