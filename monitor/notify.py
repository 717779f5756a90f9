"""Render alerts and send them through apprise. Returns results; never raises for a failed send.

A destination is one apprise URL under a stable name, its ``key``: the name given in
``[[alerts.destinations]]``, or for a plain ``alerts.urls`` entry (and each URL of an apprise
config file) the scheme and host of apprise's privacy rendering, e.g. ``mailtos://smtp.example.org``
(``#2``, ``#3`` … for later URLs with the same scheme and host). The outbox stores the key, so no
secret reaches the database and an edited URL (new password, port, token) keeps its alerts. Its
``display`` is apprise's privacy rendering, for logs and terminals.

Email destinations get HTML (apprise adds the plain-text alternative); chat and everything else
get compact markdown.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from monitor.errors import ConfigError
from monitor.lazy import lazy_module
from monitor.links import web_url
from monitor.masking import mask_secrets
from monitor.models import AlertItem
from monitor.settings import mask_alert_url

if TYPE_CHECKING:
    import apprise
    from jinja2 import Environment
else:  # ~0.15 s: imported when a destination is loaded or a message sent, not by every command
    apprise = lazy_module("apprise")

PACKAGE_TEMPLATES = "templates"
SUBJECT_CHARS = 150

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Destination:
    key: str  # the stable name alerts refer to
    url: str  # secret: never log or print this, use ``display``
    display: str
    html: bool
    legacy_key: str = ""  # what older versions stored: a hash of the URL

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


def load_destinations(
    *,
    named: Sequence[tuple[str, str]] = (),
    urls: Sequence[str] = (),
    config_file: Path | None = None,
) -> list[Destination]:
    """Every configured apprise URL as a destination: the named ones (name, url), then the plain
    ``urls`` and those of an apprise config file, named after their scheme and host."""
    found = [
        _destination(url, where=f"alerts.destinations.{i}.url", name=name)
        for i, (name, url) in enumerate(named)
    ]
    plain = [_destination(url, where=f"alerts.urls.{i}") for i, url in enumerate(urls)]
    if config_file is not None:
        plain += _from_config_file(config_file)
    found += _derive_names(plain, taken={d.key for d in found})
    return found


def derived_name(display: str) -> str:
    """``scheme://host`` of a privacy-rendered URL: no user, password, port or path."""
    scheme, _, rest = display.partition("://")
    host = rest.split("/", 1)[0].rsplit("@", 1)[-1]
    host = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    return f"{scheme}://{host}"


def _derive_names(plain: Sequence[Destination], *, taken: set[str]) -> list[Destination]:
    named = []
    for dest in plain:
        base = derived_name(dest.display)
        name, n = base, 1
        while name in taken:
            n += 1
            name = f"{base} #{n}"
        taken.add(name)
        named.append(replace(dest, key=name))
    return named


def _destination(url: str, *, where: str, name: str = "") -> Destination:
    plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    if not plugin:
        scheme = url.split("://", 1)[0] if "://" in url else "?"
        raise ConfigError(
            f"config: {where}: apprise does not recognise this URL (scheme {scheme!r})"
        )
    return _wrap(plugin, url=url, name=name)


def _wrap(plugin: apprise.NotifyBase, *, url: str, name: str = "") -> Destination:
    formats = plugin.notify_format
    primary = formats[0] if isinstance(formats, tuple | list) else formats
    return Destination(
        key=name,
        url=url,
        display=str(plugin.url(privacy=True)).split("?", 1)[0],
        html=primary == apprise.NotifyFormat.HTML,
        legacy_key=destination_key(url),
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
        self.user_templates = user_templates

    @cached_property
    def env(self) -> Environment:
        """Built on first render: commands that send nothing do not import jinja2."""
        from jinja2 import (
            BaseLoader,
            ChoiceLoader,
            Environment,
            FileSystemLoader,
            PackageLoader,
            select_autoescape,
        )

        loaders: list[BaseLoader] = (
            [FileSystemLoader(str(self.user_templates))] if self.user_templates else []
        )
        loaders.append(PackageLoader("monitor", PACKAGE_TEMPLATES))
        env = Environment(
            loader=ChoiceLoader(loaders),
            autoescape=select_autoescape(enabled_extensions=("html", "html.j2")),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        env.filters["md"] = _markdown_escape
        return env

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
    """Deliver one message to one destination; a failure is returned, never raised, with the
    destination's own words (apprise logs them: "SMTP AUTH extension not supported", a 5xx)."""
    notifier = apprise.Apprise()
    notifier.add(destination.url)
    body, fmt = (
        (message.html, apprise.NotifyFormat.HTML)
        if destination.html
        else (message.markdown, apprise.NotifyFormat.MARKDOWN)
    )
    try:
        with _APPRISE_DETAILS.opened():
            result = notifier.notify(
                title=message.subject, body=body, body_format=fmt, log_level=logging.DEBUG
            )
    except Exception as exc:  # a plugin bug must not take the sender down
        ok, error = False, f"{type(exc).__name__}: {exc}"
    else:
        ok, error = bool(result), failure_text(result.logs())
    if ok:
        return SendResult(destination=destination.display, ok=True)
    error = mask_secrets(mask_url_parts(error or "apprise reported failure", url=destination.url))
    return SendResult(
        destination=destination.display, ok=False, error=f"notify: sending failed: {error}"
    )


CAUSES = ("Socket Exception:", "Response Details:")  # apprise's DEBUG lines naming the cause
CAUSE_CHARS = 200


def failure_text(entries: Iterable[apprise.NotifyLogEntry]) -> str:
    """apprise's last warning or error of a send, with the cause it logged at DEBUG."""
    logged = list(entries)
    said = [e for e in logged if e.level not in ("DEBUG", "TRACE", "INFO")]
    causes = [_cause(e.message) for e in logged if e.message.startswith(CAUSES)]
    warning = said[-1].message.strip() if said else ""
    cause = next((c for c in reversed(causes) if c), "")
    if not cause:
        return warning
    return f"{warning.rstrip('.')}: {cause}" if warning else cause


def _cause(message: str) -> str:
    """The cause in one line, its end kept when long (where "Connection refused" is)."""
    cause = " ".join(message.split(":", 1)[1].split())
    if cause in ("b''", 'b""'):
        return ""  # an empty response body
    if len(cause) <= CAUSE_CHARS:
        return cause
    return cause[: CAUSE_CHARS // 3] + " … " + cause[-(CAUSE_CHARS * 2 // 3) :]


MIN_SECRET_CHARS = 4


def mask_url_parts(text: str, *, url: str) -> str:
    """``text`` without the parts of ``url`` that its masked form (``mask_alert_url``) hides:
    passwords, tokens in the path, secret query values (``masking.mask_secrets`` then catches
    the secrets it knows by their shape)."""
    masked = mask_alert_url(url)
    parts = urlsplit(url)
    pieces = [parts.password or "", *parts.path.split("/"), *parts.netloc.split("@")[0:1]]
    pieces += [v for _k, v in parse_qsl(parts.query, keep_blank_values=True)]
    for piece in sorted(set(pieces), key=len, reverse=True):
        forms = {piece, unquote(piece), quote(unquote(piece), safe="")}
        if len(piece) < MIN_SECRET_CHARS or any(f in masked for f in forms):
            continue  # shown anyway, or too short to tell from other text
        for form in forms:
            text = text.replace(form, "***")
    return text


class _AppriseDetails:
    """While sends run, apprise's logger lets DEBUG records reach its per-call capture (where a
    failure's cause is logged) and, unless the operator asked for its debug lines (``-v``),
    keeps them all from the application's handlers: the send's result carries apprise's words,
    and the caller logs one line per failure (``notify: … not delivered (…)``), not two."""

    def __init__(self) -> None:
        self.logger = logging.getLogger("apprise")
        self.lock = threading.Lock()
        self.users = 0
        self.saved: tuple[int, bool] | None = None

    @contextmanager
    def opened(self) -> Iterator[None]:
        with self.lock:
            self.users += 1
            if self.users == 1 and self.logger.getEffectiveLevel() > logging.DEBUG:
                self.saved = (self.logger.level, self.logger.propagate)
                self.logger.setLevel(logging.DEBUG)
                self.logger.propagate = False
        try:
            yield
        finally:
            with self.lock:
                self.users -= 1
                if self.users == 0 and self.saved is not None:
                    self.logger.setLevel(self.saved[0])
                    self.logger.propagate = self.saved[1]
                    self.saved = None


_APPRISE_DETAILS = _AppriseDetails()


def _subject(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= SUBJECT_CHARS else flat[: SUBJECT_CHARS - 1] + "…"


def _markdown_escape(text: str) -> str:
    return "".join("\\" + c if c in "\\`*_[]<>|#" else c for c in str(text))
