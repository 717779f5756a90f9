"""Word n-grams learned from real labelled articles, added to the structural score when they help.

The structural features carry over to unseen news and to another pair of countries; words do
not, but a user's judgements are about *their* sources, and words can say what the structure
cannot (a desk's recurring event names, a ministry's usual wording). A logistic regression over
the TF-IDF rows (the same vocabulary as the reasons' strongest terms) of the seeds and the
judgements gives a word logit; the score adds ``beta`` times it. ``beta`` is chosen like the
judgements' weight (``teach``): by cross-validation on the judgements, 0 (no words) on a tie.
Fitting uses scikit-learn and SciPy; scoring is a numpy dot product.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from monitor.classify.teach import FOLDS, Rows, f1_score, fold_of_groups
from monitor.classify.terms import Row

BETAS = (0.0, 1.0)
WORDS_C = 1.0

Fit = Callable[[np.ndarray, np.ndarray, np.ndarray], tuple[np.ndarray, float]]


@dataclass(frozen=True, slots=True)
class WordModel:
    coef: np.ndarray  # one weight per vocabulary term
    intercept: float
    beta: float
    f1_by_beta: tuple[tuple[float, float], ...] = ()

    def logit(self, row: Row) -> float:
        if not self.beta or not len(row.index):
            return 0.0
        return self.beta * (float(np.dot(row.data, self.coef[row.index])) + self.intercept)

    def render(self) -> str:
        if not self.f1_by_beta:
            return "word n-grams: off (no judgements to learn them from)"
        tried = ", ".join(f"{b:g}: {f:.3f}" for b, f in self.f1_by_beta)
        state = "on" if self.beta else "off"
        return f"word n-grams: {state} (cross-validated F1 by word weight: {tried})"


NO_WORDS = WordModel(coef=np.zeros(0, dtype=np.float32), intercept=0.0, beta=0.0)


@dataclass(frozen=True, slots=True)
class WordRows:
    """One TF-IDF row per real example (seed or judgement), with its label and example index."""

    rows: Sequence[Row]
    labels: np.ndarray
    groups: np.ndarray
    size: int  # vocabulary size


def fit_word_logit(words: WordRows, keep: np.ndarray) -> tuple[np.ndarray, float] | None:
    """Logistic regression over the kept rows; ``None`` without both classes."""
    y = words.labels[keep]
    if len(set(y.tolist())) < 2 or not words.size:
        return None
    from scipy.sparse import csr_matrix  # fitting only
    from sklearn.linear_model import LogisticRegression

    picked = [r for r, k in zip(words.rows, keep, strict=True) if k]
    indptr = np.cumsum([0, *(len(r.index) for r in picked)])
    data = np.concatenate([r.data for r in picked]) if picked else np.zeros(0)
    index = np.concatenate([r.index for r in picked]) if picked else np.zeros(0, int)
    x = csr_matrix((data, index, indptr), shape=(len(picked), words.size))
    lr = LogisticRegression(C=WORDS_C, class_weight="balanced", max_iter=1000).fit(x, y)
    return lr.coef_[0].astype(np.float32), float(lr.intercept_[0])


def choose_words(
    *, rows: Rows, words: WordRows, fit: Fit, weight: float, threshold: float
) -> WordModel:
    judged = np.unique(rows.groups[rows.taught])
    final = fit_word_logit(words, np.ones(len(words.labels), dtype=bool))
    if final is None or not len(judged):
        return NO_WORDS
    fold = fold_of_groups(rows.groups, judged)
    word_fold = fold_of_groups(words.groups, judged)
    held_logits: list[tuple[np.ndarray, np.ndarray]] = []  # (structural, words) per fold
    truth: list[bool] = []
    for k in range(FOLDS):
        coef, intercept = fit(rows.x, rows.y, np.where(rows.taught, weight, 1.0) * (fold != k))
        test = (fold == k) & rows.real
        fitted = fit_word_logit(words, word_fold != k)
        word_test = [r for r, f in zip(words.rows, word_fold, strict=True) if f == k]
        word_part = np.array(
            [_dot(r, fitted) for r in word_test] if fitted else [0.0] * len(word_test)
        )
        held_logits.append((rows.x[test] @ coef + intercept, word_part))
        truth += rows.y[test].tolist()
    scores = tuple((b, _f1(held_logits, truth, beta=b, threshold=threshold)) for b in BETAS)
    best = max(scores, key=lambda s: (round(s[1], 3), -s[0]))
    return WordModel(coef=final[0], intercept=final[1], beta=best[0], f1_by_beta=scores)


def _dot(row: Row, fitted: tuple[np.ndarray, float]) -> float:
    return float(np.dot(row.data, fitted[0][row.index])) + fitted[1] if len(row.index) else 0.0


def _f1(
    held: list[tuple[np.ndarray, np.ndarray]], truth: list[bool], *, beta: float, threshold: float
) -> float:
    logits = np.concatenate([s + beta * w for s, w in held]) if held else np.zeros(0)
    cut = float(np.log(threshold / (1 - threshold))) if 0 < threshold < 1 else 0.0
    return f1_score(np.array(truth, dtype=bool), logits >= cut)
