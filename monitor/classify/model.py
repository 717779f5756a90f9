"""The relevance model: structural features -> logistic regression, plus word statistics.

Training data = positive examples (seeds, positive judgements) + negative judgements + contrast
examples invented from each positive (``synth``). The score is the regression's probability;
the reasons come from the features, the nearest positive example and the strongest terms.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from monitor.classify.examples import Example
from monitor.classify.features import FEATURE_NAMES, Analysis, Cues, analyse
from monitor.classify.reasons import explain
from monitor.classify.sides import Gazetteer
from monitor.classify.synth import contrasts, short_forms
from monitor.classify.teach import NOT_CHOSEN, Choice, Rows, choose_weight
from monitor.classify.terms import Row, TermModel, fit_terms
from monitor.classify.words import NO_WORDS, WordModel, WordRows, choose_words

REGULARISATION_C = 1.0
MAX_ITERATIONS = 1000
STRONGEST_TERMS = 5
SEED_PREFIX = "seed:"
DRIVERS = 3


@dataclass(frozen=True, slots=True)
class Score:
    value: float
    relevant: bool
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class TrainingSet:
    titles: list[str]
    texts: list[str]
    labels: list[bool]
    sources: list[str]
    real: list[bool]
    groups: list[int]  # index of the example each row comes from


def training_set(*, examples: Sequence[Example], gazetteer: Gazetteer) -> TrainingSet:
    """The examples, contrasts of every positive one, and the short forms of all of them."""
    ts = TrainingSet(titles=[], texts=[], labels=[], sources=[], real=[], groups=[])
    for group, ex in enumerate(examples):
        _add(ts, ex.title, ex.text, ex.label, ex.source, real=True, group=group)
        _add_short(ts, ex.title, ex.text, ex.label, ex.source, gazetteer, group)
        if not ex.label:
            continue
        for draft in contrasts(title=ex.title, text=ex.text, gazetteer=gazetteer, key=ex.source):
            source = f"{ex.source}~{draft.kind}"
            _add(ts, draft.title, draft.text, draft.label, source, real=False, group=group)
            _add_short(ts, draft.title, draft.text, draft.label, source, gazetteer, group)
    return ts


def _add_short(
    ts: TrainingSet,
    title: str,
    text: str,
    label: bool,
    source: str,
    gazetteer: Gazetteer,
    group: int,
) -> None:
    for short in short_forms(title=title, text=text, label=label, gazetteer=gazetteer):
        kind = f"{source}~{short.kind}"
        _add(ts, short.title, short.text, short.label, kind, real=False, group=group)


def _add(
    ts: TrainingSet, title: str, text: str, label: bool, source: str, *, real: bool, group: int
) -> None:
    ts.groups.append(group)
    ts.titles.append(title)
    ts.texts.append(text)
    ts.labels.append(label)
    ts.sources.append(source)
    ts.real.append(real)


class Classifier:
    """Scores an article's relevance to the watched pair of countries; deterministic."""

    def __init__(
        self,
        *,
        gazetteer: Gazetteer,
        cues: Cues,
        coef: np.ndarray,
        intercept: float,
        terms: TermModel,
        threshold: float,
    ) -> None:
        self.gazetteer = gazetteer
        self.cues = cues
        self.coef = coef
        self.intercept = intercept
        self.terms = terms
        self.threshold = threshold
        self.teaching: Choice = NOT_CHOSEN
        self.words: WordModel = NO_WORDS

    def score(self, *, title: str = "", text: str) -> Score:
        analysis = analyse(title=title, text=text, gazetteer=self.gazetteer, cues=self.cues)
        row = self.terms.vector(f"{title}\n{analysis.body}")
        value = self.probability(analysis, row)
        reasons = self._reasons(analysis, row)
        return Score(value=value, relevant=value >= self.threshold, reasons=reasons)

    def probability(self, analysis: Analysis, row: Row) -> float:
        logit = float(np.dot(self.coef, analysis.vector)) + self.intercept
        logit += self.words.logit(row)
        return round(1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, logit)))), 6)

    def _reasons(self, analysis: Analysis, row: Row) -> tuple[str, ...]:
        return explain(
            analysis=analysis,
            sides=tuple(s.name for s in self.gazetteer.sides),
            contributions=self.contributions(analysis),
            nearest=self.terms.nearest(row),
            strongest=self.terms.strongest(row, count=STRONGEST_TERMS),
        )

    def contributions(self, analysis: Analysis) -> list[tuple[str, float]]:
        parts = self.coef * np.asarray(analysis.vector)
        order = np.argsort(-np.abs(parts), kind="stable")[:DRIVERS]
        return [(FEATURE_NAMES[i], float(parts[i])) for i in order if parts[i] != 0]


def fit(
    *, examples: Sequence[Example], gazetteer: Gazetteer, cues: Cues, threshold: float
) -> tuple[Classifier, TrainingSet]:
    ts = training_set(examples=examples, gazetteer=gazetteer)
    analyses = [
        analyse(title=t, text=x, gazetteer=gazetteer, cues=cues)
        for t, x in zip(ts.titles, ts.texts, strict=True)
    ]
    x, y = np.array([a.vector for a in analyses]), np.array(ts.labels)
    taught = np.array([not examples[g].source.startswith(SEED_PREFIX) for g in ts.groups])
    rows = Rows(x=x, y=y, groups=np.array(ts.groups), real=np.array(ts.real), taught=taught)
    choice = choose_weight(rows=rows, fit=_regression, threshold=threshold)
    coef, intercept = _regression(x, y, choice.row_weights(taught))
    documents = [f"{t}\n{a.body}" for t, a in zip(ts.titles, analyses, strict=True)]
    terms = fit_terms(documents=documents, labels=ts.labels, sources=ts.sources, real=ts.real)
    words = choose_words(
        rows=rows,
        words=_word_rows(terms, documents, ts),
        fit=_regression,
        weight=choice.weight,
        threshold=threshold,
    )
    model = Classifier(
        gazetteer=gazetteer,
        cues=cues,
        coef=coef,
        intercept=intercept,
        terms=terms,
        threshold=threshold,
    )
    model.teaching, model.words = choice, words
    return model, ts


def _word_rows(terms: TermModel, documents: Sequence[str], ts: TrainingSet) -> WordRows:
    real = [i for i, r in enumerate(ts.real) if r]
    return WordRows(
        rows=[terms.vector(documents[i]) for i in real],
        labels=np.array([ts.labels[i] for i in real]),
        groups=np.array([ts.groups[i] for i in real]),
        size=len(terms.idf),
    )


def _regression(x: np.ndarray, y: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, float]:
    keep = weights > 0
    if len(set(y[keep].tolist())) < 2:
        return np.zeros(len(FEATURE_NAMES)), -5.0
    from sklearn.linear_model import LogisticRegression  # fitting only: scoring is numpy

    lr = LogisticRegression(C=REGULARISATION_C, max_iter=MAX_ITERATIONS)
    lr.fit(x[keep], y[keep], sample_weight=weights[keep])
    return lr.coef_[0].astype(np.float64), float(lr.intercept_[0])
