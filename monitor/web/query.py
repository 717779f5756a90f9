"""The matches filter from a URL's query string, shared by the page, the API and the Atom feed."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlencode

from monitor.store.matches import MatchFilter

JUDGEMENTS = ("relevant", "irrelevant", "unjudged")
EVERY_JUDGEMENT = "all"  # the default hides matches judged "not relevant"; this shows them
PAGE_SIZE = 50
MAX_LIMIT = 500


@dataclass(frozen=True, slots=True)
class Query:
    where: MatchFilter
    page: int
    form: dict[str, str]  # the accepted values, to fill the form and build links
    errors: tuple[str, ...] = ()

    def link(self, **changes: Any) -> str:
        """This query's URL parameters with some changed (``None`` removes one)."""
        params: dict[str, Any] = {**self.form, "page": self.page, **changes}
        if params["page"] == 1:
            del params["page"]
        kept = {k: str(v) for k, v in params.items() if v not in (None, "")}
        return "?" + urlencode(kept) if kept else "?"


def parse_query(
    params: Mapping[str, str], *, page_size: int = PAGE_SIZE, stories: bool = False
) -> Query:
    """Read the filter; a value that does not parse is left out and explained in ``errors``.

    With ``stories``, one row per story unless the query asks for every copy (``copies=1``).
    """
    form: dict[str, str] = {}
    errors: list[str] = []
    values: dict[str, Any] = {}
    for name, parser in _PARSERS.items():
        raw = (params.get(name) or "").strip()
        if not raw:
            continue
        try:
            values[name] = parser(raw)
        except ValueError as exc:
            errors.append(f"{name}: {exc}")
            continue
        form[name] = raw
    page = _page(params.get("page"), errors)
    limit = _limit(params.get("limit"), errors, default=page_size)
    if params.get("limit") and limit != page_size:
        form["limit"] = str(limit)
    where = MatchFilter(
        since=_start_of(values.get("since")),
        until=_start_of(values.get("until"), days=1),
        min_score=values.get("min_score"),
        source=values.get("source"),
        judgement=None if values.get("judgement") == EVERY_JUDGEMENT else values.get("judgement"),
        hide_irrelevant="judgement" not in values,
        search=values.get("q"),
        per_story=stories and not values.get("copies"),
        limit=limit,
        offset=(page - 1) * limit,
    )
    return Query(where=where, page=page, form=form, errors=tuple(errors))


def _date(raw: str) -> date:
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"expected a date like 2025-01-31, got {raw!r}") from None


def _score(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"expected a number between 0 and 1, got {raw!r}") from None
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"expected a number between 0 and 1, got {raw!r}")
    return value


def _judgement(raw: str) -> str:
    if raw not in (*JUDGEMENTS, EVERY_JUDGEMENT):
        raise ValueError(f"expected one of {', '.join(JUDGEMENTS)}, all, got {raw!r}")
    return raw


def _flag(raw: str) -> bool:
    if raw not in ("0", "1"):
        raise ValueError(f"expected 0 or 1, got {raw!r}")
    return raw == "1"


def _text(raw: str) -> str:
    return raw[:200]


_PARSERS: dict[str, Callable[[str], Any]] = {
    "q": _text,
    "since": _date,
    "until": _date,
    "min_score": _score,
    "source": _text,
    "judgement": _judgement,
    "copies": _flag,
}


def _page(raw: str | None, errors: list[str]) -> int:
    try:
        return max(int(raw or 1), 1)
    except ValueError:
        errors.append(f"page: expected a whole number, got {raw!r}")
        return 1


def _limit(raw: str | None, errors: list[str], *, default: int) -> int:
    try:
        return min(max(int(raw or default), 1), MAX_LIMIT)
    except ValueError:
        errors.append(f"limit: expected a whole number, got {raw!r}")
        return default


def _start_of(day: date | None, *, days: int = 0) -> datetime | None:
    """Midnight UTC at the start of ``day`` (plus ``days``): ``until`` includes its own day."""
    if day is None:
        return None
    return datetime.combine(day + timedelta(days=days), time(), tzinfo=UTC)
