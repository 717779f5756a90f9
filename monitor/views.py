"""Terminal and file renderings of results: tables, JSON, CSV. Presentation only."""

from __future__ import annotations

import csv
import enum
import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from monitor.errors import ConfigError
from monitor.lazy import lazy_function

if TYPE_CHECKING:
    from monitor.classify import Classifier
    from monitor.models import Alert, AlertItem, Article, Feed, utcnow
    from monitor.models import Judgement as JudgementRow
    from monitor.notify import Destination, SendResult
    from monitor.outbox import DeliveryReport
    from monitor.pipeline import PollResult
    from monitor.store import MatchRow
    from monitor.store.judgements import ImportedCount, ImportResult, LabelledLine
    from monitor.store.queue import QueueCounts
else:  # the CLI imports this module for its option enums, before any command runs
    LabelledLine = lazy_function("monitor.store.judgements", "LabelledLine")
    utcnow = lazy_function("monitor.models", "utcnow")


class Format(enum.StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


class ExportFormat(enum.StrEnum):
    csv = "csv"
    json = "json"
    jsonl = "jsonl"


class AlertStatus(enum.StrEnum):
    pending = "pending"
    sending = "sending"
    sent = "sent"
    failed = "failed"


class Judgement(enum.StrEnum):
    relevant = "relevant"
    irrelevant = "irrelevant"


def terminal(
    *, file: IO[str] | None = None, width: int | None = None, color: bool | None = None
) -> Console:
    """The console every command prints through. Feed titles, URLs and error texts come from
    third parties, so nothing printed is read as rich markup (``[/bold]``, ``[link=…]``) or as
    emoji codes; control characters are dropped by rich itself."""
    return Console(file=file, width=width, force_terminal=color, markup=False, emoji=False)


def add_row(table: Table, *cells: str) -> None:
    """A table row whose cells are literal text, whichever console prints the table."""
    table.add_row(*(Text(cell) for cell in cells))


def parse_date(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ConfigError(f"--since: expected a date like 2025-01-31, got {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _ago(when: datetime | None) -> str:
    if when is None:
        return "never"
    seconds = int((utcnow() - when).total_seconds())
    suffix = "ago" if seconds >= 0 else "from now"
    seconds = abs(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit} {suffix}"
    return f"{seconds}s {suffix}"


def duration(seconds: float) -> str:
    """An interval as the config writes it, in the largest unit that divides it: 20s, 15m, 2h."""
    whole = int(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if whole >= size and whole % size == 0:
            return f"{whole // size}{unit}"
    return f"{whole}s"


def feed_state(feed: Feed) -> str:
    if not feed.enabled:
        return "disabled"
    if feed.error_count:
        return "failing"
    return "ok" if feed.last_polled_at is not None else "not polled yet"


def next_check(feed: Feed) -> str:
    """When the feed is polled next: "due now" once its time has come, else "in 14m"."""
    if not feed.enabled:
        return "-"
    due = feed.next_check_at
    if due is None or due <= utcnow():
        return "due now"
    return "in " + _ago(due).removesuffix(" from now")


def poll_table(results: Sequence[PollResult]) -> Table:
    table = Table(title="Poll summary")
    for column in ("feed", "outcome", "HTTP", "new", "matches", "seconds", "error"):
        table.add_column(column)
    for r in sorted(results, key=lambda r: r.feed):
        add_row(
            table,
            r.feed,
            r.outcome,
            str(r.http_status or "-"),
            str(r.new),
            str(r.matches),
            f"{r.seconds:.1f}",
            r.error or "",
        )
    ok = sum(r.outcome != "error" for r in results)
    table.caption = (
        f"{ok}/{len(results)} feeds polled, {sum(r.new for r in results)} new articles, "
        f"{sum(r.matches for r in results)} matches"
    )
    return table


def status_table(feeds: Sequence[Feed]) -> Table:
    table = Table(title="Feeds")
    for column in ("feed", "state", "last poll", "HTTP", "errors", "next check", "last error"):
        table.add_column(column)
    for f in feeds:
        add_row(
            table,
            f.name,
            feed_state(f),
            _ago(f.last_polled_at),
            str(f.last_status or "-"),
            str(f.error_count),
            next_check(f),
            (f.last_error or "")[:80],
        )
    return table


def feeds_table(feeds: Sequence[Feed]) -> Table:
    table = Table(title=f"{len(feeds)} feeds")
    for column in ("name", "url", "interval", "from"):
        table.add_column(column)
    for f in feeds:
        add_row(table, f.name, f.url, duration(f.interval_seconds), f.origin)
    return table


Copies = dict[int, list[tuple[int, str, str]]]  # story id -> (article id, source, url)


def match_record(row: MatchRow, *, copies: Copies | None = None) -> dict[str, Any]:
    a = row.article
    others = (copies or {}).get(a.story_id or 0, [])
    return {
        "id": a.id,
        "match_id": row.match.id,
        "url": a.url,
        "title": a.title,
        "source": row.feed.name,
        "published": a.published.isoformat() if a.published else None,
        "score": round(row.match.score, 4),
        "matched_at": row.match.created_at.isoformat(),
        "reasons": a.reason_list(),
        "story_id": a.story_id,
        "copies": [{"url": url, "source": src} for cid, src, url in others if cid != a.id],
    }


def print_matches(
    rows: Sequence[MatchRow], *, fmt: Format, console: Console, copies: Copies | None = None
) -> None:
    records = [match_record(r, copies=copies) for r in rows]
    if fmt is Format.json:
        console.file.write(json.dumps(records, indent=2, ensure_ascii=False) + "\n")
    elif fmt is Format.csv:
        write_csv(records, fields=LIST_CSV_FIELDS, out=console.file)
    else:
        console.print(_matches_table(records))


LIST_CSV_FIELDS = ("id", "url", "title", "source", "published", "score", "matched_at", "reasons")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # spreadsheets run cells starting so


def write_csv(records: Sequence[dict[str, Any]], *, fields: Sequence[str], out: IO[str]) -> None:
    """The one CSV writer (``matches list`` and ``matches export``): ``reasons`` joined by
    ``; ``, and every cell a spreadsheet would evaluate as a formula quoted with an apostrophe."""
    writer = csv.DictWriter(out, fieldnames=fields, extrasaction="ignore")  # CRLF, RFC 4180
    writer.writeheader()
    for r in records:
        writer.writerow(
            {k: csv_cell(v) for k, v in {**r, "reasons": "; ".join(r["reasons"])}.items()}
        )


def csv_cell(value: Any) -> Any:
    """Third-party text that a spreadsheet would evaluate, with a leading apostrophe."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _matches_table(records: Sequence[dict[str, Any]]) -> Table:
    table = Table(title=f"{len(records)} matches")
    for column in ("id", "score", "source", "title", "also in", "matched"):
        table.add_column(column)
    for r in records:
        also = ", ".join(sorted({c["source"] for c in r["copies"]}))
        add_row(
            table,
            str(r["id"]),
            f"{r['score']:.2f}",
            r["source"],
            r["title"][:70],
            also[:30],
            r["matched_at"][:16],
        )
    return table


def print_article(
    article: Article, feed: Feed, judgement: JudgementRow | None, *, console: Console
) -> None:
    console.print(Text(article.title, style="bold"), highlight=False, soft_wrap=True)
    console.print(
        f"{article.url}\nsource: {feed.name} · published: {article.published or '-'} · "
        f"fetched: {article.fetched_at:%Y-%m-%d %H:%M} · extraction: {article.extraction}",
        highlight=False,
        markup=False,
    )
    verdict = "relevant" if article.relevant else "not relevant"
    judged = (
        f" · your judgement: {'relevant' if judgement.relevant else 'irrelevant'}"
        if judgement
        else ""
    )
    console.print(
        f"score {article.score:.3f} ({verdict}){judged}",
        highlight=False,
        markup=False,
        soft_wrap=True,
    )
    for reason in article.reason_list():
        console.print(f"  - {reason}", highlight=False, markup=False, soft_wrap=True)
    console.print()
    console.print(article.text, highlight=False, markup=False, soft_wrap=True)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    rows = []
    for number, line in enumerate(_lines(path), start=1):
        try:
            rows.append(json.loads(line))
        except ValueError as exc:
            raise ConfigError(f"{path}:{number}: not valid JSON: {exc}") from None
    return rows


LABELS = {0: False, 1: True}  # True and False are 1 and 0 here too


def labelled_lines(path: Path) -> list[LabelledLine]:
    """Each line's ``title``, ``text``, ``label`` (0/1) and ``id``; errors name the line."""
    lines = []
    for number, row in enumerate(read_jsonl(path), start=1):
        label = row.get("label") if isinstance(row, dict) else None
        if label not in LABELS or isinstance(label, float):
            raise ConfigError(f"{path}:{number}: `label` must be 0 or 1, got {label!r}")
        title, text = str(row.get("title") or ""), str(row.get("text") or "")
        if not (title.strip() or text.strip()):
            raise ConfigError(f"{path}:{number}: no `title` and no `text`")
        key = row.get("id")
        lines.append(
            LabelledLine(
                title=title, text=text, relevant=LABELS[label], key=str(key) if key else None
            )
        )
    return lines


def import_line(path: Path, result: ImportResult) -> str:
    return (
        f"imported {path.name}: {result.added} new judgements, {result.updated} updated, "
        f"{result.unchanged} unchanged (run `monitor train` to update the model)"
    )


def imported_lines(counts: Sequence[ImportedCount]) -> list[str]:
    if not counts:
        return ["imported judgements: none (`monitor label --import FILE.jsonl` adds some)"]
    return ["imported judgements:"] + [
        f"  {c.source}: {c.relevant} relevant, {c.irrelevant} not relevant" for c in counts
    ]


def _lines(path: Path) -> Iterable[str]:
    with path.open(encoding="utf-8") as handle:
        yield from (line for line in handle if line.strip())


def score_jsonl(classifier: Classifier, *, source: Path, out: IO[str]) -> None:
    """Each input object written back with ``score`` and ``relevant`` added, in order."""
    for row in read_jsonl(source):
        result = classifier.score(
            title=str(row.get("title") or ""), text=str(row.get("text") or "")
        )
        out.write(
            json.dumps(
                {**row, "score": result.value, "relevant": result.relevant}, ensure_ascii=False
            )
            + "\n"
        )


def delivery_line(report: DeliveryReport) -> str:
    line = f"alerts: {report.sent} sent, {report.retrying} to retry, {report.failed} failed"
    return line + (f" (last error: {report.errors[-1]})" if report.errors else "")


def alerts_line(counts: dict[str, int] | None) -> str:
    if not counts:
        return "alerts: none yet"
    return "alerts: " + ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))


def queue_line(queue: QueueCounts) -> str:
    """The workers' job queue (PostgreSQL): what waits, runs and failed; workers alive."""
    return (
        f"queue: {queue.waiting} waiting, {queue.running} running, {queue.failed} failed; "
        f"{queue.workers} worker{'s' if queue.workers != 1 else ''} alive"
    )


def alerts_table(
    alerts: Sequence[Alert],
    *,
    destinations: dict[str, Destination],
    items: dict[int, AlertItem],
) -> Table:
    """Alerts with the article each is about (the id ``matches show`` takes, and its title)."""
    table = Table(title=f"{len(alerts)} alerts")
    for column in ("id", "article", "destination", "mode", "status", "tries", "next / sent"):
        table.add_column(column, no_wrap=column in _SHORT_COLUMNS)
    table.add_column("error", min_width=_ERROR_MIN_WIDTH)
    for a in alerts:
        where = (
            destinations[a.destination].display if a.destination in destinations else "(removed)"
        )
        when = a.sent_at if a.status == "sent" else a.next_attempt_at
        item = items.get(a.id or 0)
        add_row(
            table,
            str(a.id),
            f"{item.article_id} {item.title[:40]}" if item else "(match removed)",
            where[:40],
            a.mode,
            a.status,
            str(a.attempts),
            f"{when:%Y-%m-%d %H:%M}" if when else "-",
            (a.last_error or "")[:80],
        )
    return table


_SHORT_COLUMNS = ("id", "status", "tries")  # never cut: what a reader acts on
_ERROR_MIN_WIDTH = 12


def send_results_table(results: Sequence[SendResult]) -> Table:
    table = Table(title="Test alerts")
    for column in ("destination", "result", "error"):
        table.add_column(column)
    for r in results:
        add_row(table, r.destination, "sent" if r.ok else "FAILED", r.error or "")
    return table
