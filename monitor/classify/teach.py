"""How much the judgements weigh against the seeds: chosen so that teaching never hurts.

The seeds (and the contrasts invented from them) always train the model. The judgements are
added as extra rows with a weight; the weight is chosen by cross-validation *on the judgements
themselves*: each fold of judgements is scored by a model trained on the seeds and the other
folds, and the weight with the best F1 over all the held-out judgements wins. Weight 0 is the
seeds alone, so a batch of judgements that would make things worse is kept out (it is still
stored, and counts again as more judgements arrive). Equal F1s go to the lighter weight: the
judgements must earn their place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

WEIGHTS = (0.0, 0.5, 1.0, 2.0)
FOLDS = 5
MIN_JUDGEMENTS = 20  # fewer: too few to measure; they count with weight 1
DEFAULT_WEIGHT = 1.0

Fit = Callable[[np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, float]]


@dataclass(frozen=True, slots=True)
class Rows:
    x: np.ndarray
    y: np.ndarray
    groups: np.ndarray  # example index of each row
    real: np.ndarray  # the example itself, not a variant of it
    taught: np.ndarray  # the row comes from a judgement


@dataclass(frozen=True, slots=True)
class Choice:
    weight: float
    f1_by_weight: tuple[tuple[float, float], ...]  # (weight, cross-validated F1 on judgements)
    judgements: int

    def row_weights(self, taught: np.ndarray) -> np.ndarray:
        return np.where(taught, self.weight, 1.0)

    def render(self) -> str:
        if not self.f1_by_weight:
            return (
                f"judgement weight {self.weight:g} ({self.judgements} judgements, too few to test)"
            )
        tried = ", ".join(f"{w:g}: {f:.3f}" for w, f in self.f1_by_weight)
        return (
            f"judgement weight {self.weight:g}, chosen by {FOLDS}-fold cross-validation on "
            f"{self.judgements} judgements (F1 by weight, 0 = seeds alone: {tried})"
        )


NOT_CHOSEN = Choice(weight=DEFAULT_WEIGHT, f1_by_weight=(), judgements=0)


def choose_weight(*, rows: Rows, fit: Fit, threshold: float) -> Choice:
    judged = np.unique(rows.groups[rows.taught])
    if len(judged) < MIN_JUDGEMENTS or not rows.y[rows.taught & rows.real].any():
        return Choice(weight=DEFAULT_WEIGHT, f1_by_weight=(), judgements=len(judged))
    fold = fold_of_groups(rows.groups, judged)
    found = [(w, *_cross_validate(rows, fold, fit, weight=w, threshold=threshold)) for w in WEIGHTS]
    best = max(found, key=lambda s: (round(s[1], 3), -s[0]))
    scores = tuple((w, f1) for w, f1, _ in found)
    return Choice(weight=best[0], f1_by_weight=scores, judgements=len(judged))


def fold_of_groups(groups: np.ndarray, judged: np.ndarray) -> np.ndarray:
    """Each row's fold: judgements spread over the folds in order; other rows -1 (always kept)."""
    fold_of = {int(g): n % FOLDS for n, g in enumerate(judged)}
    return np.array([fold_of.get(int(g), -1) for g in groups])


def _cross_validate(
    rows: Rows, fold: np.ndarray, fit: Fit, *, weight: float, threshold: float
) -> tuple[float, float]:
    """(F1, mean log-loss) over the held-out judgements; the log-loss is kept for diagnosis."""
    truth: list[bool] = []
    probability: list[float] = []
    for k in range(FOLDS):
        held = fold == k
        weights = np.where(rows.taught, weight, 1.0) * ~held
        coef, intercept = fit(rows.x, rows.y, weights)
        test = held & rows.real
        logits = rows.x[test] @ coef + intercept
        probability += (1.0 / (1.0 + np.exp(-np.clip(logits, -50, 50)))).tolist()
        truth += rows.y[test].tolist()
    y, p = np.array(truth, dtype=bool), np.clip(np.array(probability), 1e-6, 1 - 1e-6)
    loss = float(-np.mean(np.where(y, np.log(p), np.log(1 - p))))
    return f1_score(y, p >= threshold), loss


def f1_score(truth: np.ndarray, predicted: np.ndarray) -> float:
    tp = int((truth & predicted).sum())
    fp = int((~truth & predicted).sum())
    fn = int((truth & ~predicted).sum())
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0
