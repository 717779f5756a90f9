"""The same labelled rows seen as the daemon may see them, and a split by time for teaching.

- ``full``: title and text as given;
- ``lead``: title and the first two paragraphs (what many feeds give as a summary);
- ``headline``: the title alone (a feed item with an empty or useless summary);
- ``time split``: the earlier half (by ``published``) taught as judgements, the later half
  scored, next to the seeds alone on the same later half: teaching must never make it worse.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from monitor.classify.evaluate import EvalReport, Metrics, evaluate
from monitor.classify.examples import Example
from monitor.classify.model import Classifier
from monitor.classify.text import clean, paragraphs, strip_dateline

LEAD_PARAGRAPHS = 2
TRAIN_SHARE = 0.5

Row = Mapping[str, object]
Build = Callable[[Sequence[Example]], Classifier]


def lead(row: Row) -> dict[str, object]:
    paras = paragraphs(strip_dateline(clean(str(row.get("text") or ""))))
    return {**row, "text": "\n\n".join(paras[:LEAD_PARAGRAPHS])}


def headline(row: Row) -> dict[str, object]:
    return {**row, "text": ""}


def full(row: Row) -> dict[str, object]:
    return dict(row)


FORMS = (("full", full), ("lead (title + 2 paragraphs)", lead), ("headline only", headline))


def as_judgement(row: Row) -> Example:
    return Example(
        title=str(row.get("title") or ""),
        text=str(row.get("text") or ""),
        label=bool(row.get("label")),
        source=f"judgement:{row.get('id', '')}",
    )


def time_split(rows: Sequence[Row], *, share: float = TRAIN_SHARE) -> tuple[list[Row], list[Row]]:
    """(earlier, later) by ``published`` (rows without a date count as earliest)."""
    ordered = sorted(rows, key=lambda r: str(r.get("published") or ""))
    cut = int(len(ordered) * share)
    return list(ordered[:cut]), list(ordered[cut:])


@dataclass(frozen=True, slots=True)
class Variant:
    name: str
    report: EvalReport


def variants(*, classifier: Classifier, rows: Sequence[Row], build: Build) -> list[Variant]:
    """Full, lead-only and headline-only scores of ``classifier``, and the time split."""
    found = [
        Variant(name, evaluate(classifier=classifier, rows=_map(fn, rows))) for name, fn in FORMS
    ]
    earlier, later = time_split(rows)
    if earlier and later:
        taught = build([as_judgement(r) for r in earlier])
        name = f"time split: later {len(later)}"
        found.append(Variant(f"{name}, seeds only", evaluate(classifier=build([]), rows=later)))
        taught_report = evaluate(classifier=taught, rows=later)
        found.append(Variant(f"{name}, + earlier {len(earlier)} taught", taught_report))
    return found


def _map(fn: Callable[[Row], dict[str, object]], rows: Sequence[Row]) -> list[dict[str, object]]:
    return [fn(r) for r in rows]


def render(found: Sequence[Variant]) -> str:
    width = max(len(v.name) for v in found)
    head = f"{'variant (non-borderline)':{width}s} {'n':>4s} {'prec':>6s} {'recall':>6s}"
    lines = [f"{head} {'F1':>6s}"]
    lines += [_line(v.name, v.report.clear, width) for v in found]
    return "\n".join(lines)


def _line(name: str, m: Metrics, width: int) -> str:
    return f"{name:{width}s} {m.count:4d} {m.precision:6.3f} {m.recall:6.3f} {m.f1:6.3f}"
