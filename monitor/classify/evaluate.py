"""Measure a classifier on labelled rows: precision, recall, F1, confusion matrix, mistakes.

Rows are dicts with ``text``, ``label`` (0/1 or bool) and optionally ``title``, ``id`` and
``borderline``. Figures are given for all rows and for the rows not marked borderline.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from monitor.classify.model import Classifier

MISTAKE_REASONS = 3


@dataclass(frozen=True, slots=True)
class Outcome:
    id: str
    title: str
    label: bool
    borderline: bool
    value: float
    predicted: bool
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Metrics:
    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    @property
    def count(self) -> int:
        return self.tp + self.fp + self.fn + self.tn


def metrics(outcomes: Iterable[Outcome]) -> Metrics:
    pairs = [(o.label, o.predicted) for o in outcomes]
    return Metrics(
        tp=sum(1 for y, p in pairs if y and p),
        fp=sum(1 for y, p in pairs if not y and p),
        fn=sum(1 for y, p in pairs if y and not p),
        tn=sum(1 for y, p in pairs if not y and not p),
    )


@dataclass(frozen=True, slots=True)
class EvalReport:
    threshold: float
    outcomes: tuple[Outcome, ...]

    @property
    def all(self) -> Metrics:
        return metrics(self.outcomes)

    @property
    def clear(self) -> Metrics:
        """Metrics over the rows not marked borderline."""
        return metrics(o for o in self.outcomes if not o.borderline)

    @property
    def mistakes(self) -> tuple[Outcome, ...]:
        return tuple(o for o in self.outcomes if o.label != o.predicted)

    def render(self) -> str:
        lines = [f"threshold: {self.threshold:.2f}", _header()]
        lines.append(_row("all items", self.all))
        lines.append(_row("non-borderline", self.clear))
        lines += _confusion(self.clear, "non-borderline")
        lines += _confusion(self.all, "all items")
        lines.append(f"mistakes ({len(self.mistakes)}):")
        lines += [_mistake(o) for o in self.mistakes]
        return "\n".join(lines)


def _header() -> str:
    return f"{'':16s} {'n':>5s} {'prec':>6s} {'recall':>6s} {'F1':>6s}"


def _row(name: str, m: Metrics) -> str:
    return f"{name:16s} {m.count:5d} {m.precision:6.3f} {m.recall:6.3f} {m.f1:6.3f}"


def _confusion(m: Metrics, name: str) -> list[str]:
    return [
        f"confusion matrix ({name}):   predicted relevant   predicted not",
        f"  labelled relevant          {m.tp:18d}   {m.fn:13d}",
        f"  labelled not relevant      {m.fp:18d}   {m.tn:13d}",
    ]


def _mistake(o: Outcome) -> str:
    kind = "missed" if o.label else "false alarm"
    flag = ", borderline" if o.borderline else ""
    reasons = "; ".join(o.reasons[:MISTAKE_REASONS])
    return f"  {kind}{flag}: {o.id} score {o.value:.2f} {o.title[:70]!r}: {reasons}"


def evaluate(*, classifier: Classifier, rows: Sequence[Mapping[str, object]]) -> EvalReport:
    outcomes = tuple(_outcome(classifier, row, n) for n, row in enumerate(rows))
    return EvalReport(threshold=classifier.threshold, outcomes=outcomes)


def _outcome(classifier: Classifier, row: Mapping[str, object], index: int) -> Outcome:
    title = str(row.get("title") or "")
    score = classifier.score(title=title, text=str(row.get("text") or ""))
    return Outcome(
        id=str(row.get("id", index)),
        title=title,
        label=_truth(row.get("label")),
        borderline=_truth(row.get("borderline", False)),
        value=score.value,
        predicted=score.relevant,
        reasons=score.reasons,
    )


def _truth(value: object) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "relevant"}
    return bool(value)
