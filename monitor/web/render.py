"""HTML rendering: the Jinja2 environment (autoescaped), display helpers and the per-day chart."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from monitor.links import web_url
from monitor.models import Feed, utcnow
from monitor.store.matches import MARK_END, MARK_START
from monitor.web.security import CSRF_FIELD, csrf_token

CHART_WIDTH = 1000
CHART_HEIGHT = 90
CHART_GAP = 4
EXCERPT_CHARS = 320  # the CSS shows two lines of it

_env = Environment(
    loader=PackageLoader("monitor.web", "templates"),
    autoescape=True,  # titles and text come from third parties
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def page(request: Request, name: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    template = _env.get_template(name)
    signed_in = bool(getattr(request.state, "signed_in", False))  # set by the Guard
    html = template.render(
        request=request,
        csrf=csrf_token(request),
        csrf_field=CSRF_FIELD,
        signed_in=signed_in,
        **context,
    )
    return HTMLResponse(html, status_code=status)


def as_utc(when: datetime | None) -> datetime | None:
    """Timestamps come back from SQLite without a zone; they are UTC."""
    if when is None:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def show_time(when: datetime | None) -> str:
    moment = as_utc(when)
    return "—" if moment is None else moment.strftime("%Y-%m-%d %H:%M UTC")


def ago(when: datetime | None, *, now: datetime | None = None) -> str:
    moment = as_utc(when)
    if moment is None:
        return "never"
    seconds = int(((now or utcnow()) - moment).total_seconds())
    suffix = "ago" if seconds >= 0 else "from now"
    seconds = abs(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} {suffix}"
    return f"{seconds}s {suffix}"


def marked(snippet: str) -> Markup:
    """An FTS snippet as HTML: the text escaped, the matched words in ``<mark>``."""
    safe = str(escape(snippet))
    return Markup(safe.replace(MARK_START, "<mark>").replace(MARK_END, "</mark>"))


def excerpt(text: str | None, skip: str | None = None, *, chars: int = EXCERPT_CHARS) -> str:
    """The start of the text, flattened, without a leading repeat of ``skip`` (the title)."""
    flat = " ".join((text or "").split())
    lead = " ".join((skip or "").split())
    if lead and flat.startswith(lead):
        flat = flat[len(lead) :].lstrip() or flat
    return flat if len(flat) <= chars else flat[: chars - 1].rsplit(" ", 1)[0] + " …"


def paragraphs(text: str) -> list[str]:
    return [p.strip() for p in text.split("\n") if p.strip()]


def feed_state(feed: Feed) -> str:
    if not feed.enabled:
        return "disabled"
    return "failing" if feed.error_count else "ok"


@dataclass(frozen=True, slots=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str


@dataclass(frozen=True, slots=True)
class Chart:
    width: int
    height: int
    bars: tuple[Bar, ...]
    peak: int
    total: int
    first: str
    last: str


def chart(days: Sequence[tuple[date, int]]) -> Chart:
    """Bar geometry for an inline SVG of matches per day, drawn on the server."""
    peak = max((n for _, n in days), default=0)
    slot = CHART_WIDTH / max(len(days), 1)
    bars = []
    for i, (day, count) in enumerate(days):
        height = 0.0 if not peak else max(CHART_HEIGHT * count / peak, 1.0 if count else 0.0)
        bars.append(
            Bar(
                x=round(i * slot, 2),
                y=round(CHART_HEIGHT - height, 2),
                width=round(slot - CHART_GAP, 2),
                height=round(height, 2),
                label=f"{day.isoformat()}: {count} match{'' if count == 1 else 'es'}",
            )
        )
    return Chart(
        width=CHART_WIDTH,
        height=CHART_HEIGHT,
        bars=tuple(bars),
        peak=peak,
        total=sum(n for _, n in days),
        first=days[0][0].isoformat() if days else "",
        last=days[-1][0].isoformat() if days else "",
    )


_env.filters.update(
    time=show_time,
    ago=ago,
    paragraphs=paragraphs,
    state=feed_state,
    web_link=web_url,
    marked=marked,
    excerpt=excerpt,
)
