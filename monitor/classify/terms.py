"""Word statistics learned from the examples: the nearest example and the strongest terms.

A TF-IDF space fitted on the training articles; each positive example is a point in it, and each
term gets a weight (mean weight in positives minus mean weight in negatives).

Fitting uses scikit-learn; scoring is plain numpy over the fitted vocabulary, so a daemon that
loads a cached model never imports scikit-learn or SciPy (about 100 MB of its memory).
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import numpy as np

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix
    from sklearn.feature_extraction.text import TfidfVectorizer

MAX_TERMS = 20_000
MAX_TERM_CHARS = 40_000
TOKEN_PATTERN = r"(?u)\b[^\W\d_][\w'-]{2,}\b"


@dataclass(frozen=True, slots=True)
class Nearest:
    source: str
    similarity: float


@dataclass(frozen=True, slots=True)
class Row:
    """A document's TF-IDF row: sorted term indices and their L2-normalised weights."""

    index: np.ndarray
    data: np.ndarray


@dataclass(frozen=True, slots=True)
class Rows:
    """Rows of a sparse matrix (CSR arrays), with each stored value's row number."""

    data: np.ndarray
    indices: np.ndarray
    row_of: np.ndarray
    count: int

    @classmethod
    def of(cls, matrix: csr_matrix) -> Rows:
        lengths = np.diff(matrix.indptr)
        return cls(
            data=np.asarray(matrix.data, dtype=np.float32),
            indices=np.asarray(matrix.indices, dtype=np.int32),
            row_of=np.repeat(np.arange(matrix.shape[0]), lengths),
            count=int(matrix.shape[0]),
        )

    def dot(self, dense: np.ndarray) -> np.ndarray:
        """Each row's dot product with a dense vector."""
        products = self.data * dense[self.indices]
        return np.bincount(self.row_of, weights=products, minlength=self.count)


NO_ROWS = Rows(
    data=np.zeros(0, np.float32), indices=np.zeros(0, np.int32), row_of=np.zeros(0, int), count=0
)


class TermModel:
    def __init__(
        self,
        *,
        vectorizer: TfidfVectorizer | None,
        positives: Rows,
        sources: tuple[str, ...],
        weights: np.ndarray,
    ) -> None:
        self.vocabulary: dict[str, int] = {}
        self.idf = np.zeros(0, dtype=np.float32)
        self.stop_words: frozenset[str] = frozenset()
        self.terms: list[str] = []
        if vectorizer is not None:
            self.vocabulary = {str(t): int(i) for t, i in vectorizer.vocabulary_.items()}
            self.idf = np.asarray(vectorizer.idf_, dtype=np.float32)
            self.stop_words = frozenset(vectorizer.get_stop_words() or ())
            self.terms = [str(t) for t in vectorizer.get_feature_names_out()]
        self.token = re.compile(TOKEN_PATTERN)
        self.positives = positives
        self.sources = sources
        self.weights = weights

    def vector(self, document: str) -> Row:
        """The document's TF-IDF row, computed as the fitted vectorizer would, only faster."""
        stop = self.stop_words
        tokens = [t for t in self.token.findall(document[:MAX_TERM_CHARS].lower()) if t not in stop]
        grams = tokens + [f"{a} {b}" for a, b in itertools.pairwise(tokens)]
        found: Counter[int | None] = Counter(map(self.vocabulary.get, grams))  # counted in C
        found.pop(None, None)  # grams outside the vocabulary
        counts = cast("Counter[int]", found)
        index = np.array(sorted(counts), dtype=np.int32)
        if not len(index):
            return Row(index=index, data=np.zeros(0, dtype=np.float32))
        data = np.log([counts[i] for i in index]).astype(np.float32) + 1
        data *= self.idf[index]
        data /= np.linalg.norm(data)
        return Row(index=index, data=data)

    def nearest(self, row: Row) -> Nearest | None:
        if not self.sources or not len(row.index):
            return None
        dense = np.zeros(len(self.idf), dtype=np.float32)
        dense[row.index] = row.data
        sims = self.positives.dot(dense)
        best = int(np.argmax(sims))
        return Nearest(source=self.sources[best], similarity=float(sims[best]))

    def strongest(self, row: Row, *, count: int) -> list[str]:
        contributions = row.data * self.weights[row.index] if len(row.index) else row.data
        order = np.argsort(-contributions, kind="stable")
        picked = row.index[order[contributions[order] > 0][:count]]
        return [self.terms[int(i)] for i in picked]

    def top_terms(self, *, count: int) -> list[str]:
        order = np.argsort(-self.weights, kind="stable")[:count]
        return [self.terms[i] for i in order if self.weights[i] > 0]


def fit_terms(
    *,
    documents: Sequence[str],
    labels: Sequence[bool],
    sources: Sequence[str],
    real: Sequence[bool],
) -> TermModel:
    """Fit on all training documents; only real positives become 'nearest example' candidates."""
    try:
        return _fit(documents=documents, labels=labels, sources=sources, real=real)
    except ValueError:  # no words at all: nothing to learn, nothing to show
        return TermModel(vectorizer=None, positives=NO_ROWS, sources=(), weights=np.zeros(0))


def _fit(
    *,
    documents: Sequence[str],
    labels: Sequence[bool],
    sources: Sequence[str],
    real: Sequence[bool],
) -> TermModel:
    from sklearn.feature_extraction.text import TfidfVectorizer  # fitting only: see the docstring

    vectorizer = TfidfVectorizer(
        token_pattern=TOKEN_PATTERN,
        stop_words="english",
        ngram_range=(1, 2),
        sublinear_tf=True,
        max_features=MAX_TERMS,
        dtype=np.float32,
    )
    matrix = vectorizer.fit_transform([d[:MAX_TERM_CHARS] for d in documents]).tocsr()
    label_array = np.asarray(labels, dtype=bool)
    keep = np.flatnonzero(label_array & np.asarray(real, dtype=bool))
    return TermModel(
        vectorizer=vectorizer,
        positives=Rows.of(matrix[keep].tocsr()),
        sources=tuple(sources[int(i)] for i in keep),
        weights=_weights(matrix, label_array),
    )


def _weights(matrix: csr_matrix, labels: np.ndarray) -> np.ndarray:
    pos = np.asarray(matrix[labels].mean(axis=0)).ravel() if labels.any() else 0.0
    neg = np.asarray(matrix[~labels].mean(axis=0)).ravel() if (~labels).any() else 0.0
    return np.asarray(pos - neg, dtype=np.float32).ravel()
