"""Build the classifier from its inputs, or load it from a cache keyed by a hash of them.

Inputs: the seed files, the judgements, the shipped data files and this package's code. The
same inputs give the same hash, the same model and the same scores.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from monitor.classify.examples import Example, read_seeds
from monitor.classify.features import DEFAULT_CUES_FILE, FEATURE_NAMES, load_cues
from monitor.classify.model import Classifier, TrainingSet, fit
from monitor.classify.sides import DEFAULT_COUNTRIES_FILE, load_gazetteer

logger = logging.getLogger(__name__)

MODEL_VERSION = "structural-lr-2"  # 2: term rows without SciPy
PACKAGE_DIR = Path(__file__).parent
DATA_FILES = (DEFAULT_COUNTRIES_FILE, DEFAULT_CUES_FILE)
TOP_TERMS = 15


class NoPositiveExamplesError(ValueError):
    """Nothing to learn what a relevant article looks like from: no seed article in the folder
    (missing or empty) and no judgement marking an article relevant."""

    def __init__(self, seeds_dir: Path) -> None:
        state = "does not exist" if not seeds_dir.is_dir() else "holds no seed article (*.txt)"
        super().__init__(
            f"classify: no positive example to learn from: seeds folder {seeds_dir} {state} "
            "and no judgement marks an article relevant"
        )
        self.seeds_dir = seeds_dir


@dataclass(frozen=True, slots=True)
class TrainReport:
    seeds: int
    positive_judgements: int
    negative_judgements: int
    contrast_positives: int
    contrast_negatives: int
    weights: tuple[tuple[str, float], ...]
    intercept: float
    top_terms: tuple[str, ...]
    input_hash: str
    cache_path: Path | None
    build_seconds: float
    teaching: str = ""

    def render(self) -> str:
        lines = [
            f"classify: model {self.input_hash[:16]} built in {self.build_seconds:.2f} s",
            f"  positives: {self.seeds} seed articles, {self.positive_judgements} judgements, "
            f"{self.contrast_positives} variants of them",
            f"  negatives: {self.negative_judgements} judgements, "
            f"{self.contrast_negatives} contrasts invented from the positives",
            f"  {self.teaching}",
            "  feature weights (log-odds per unit):",
            *(f"    {name:22s} {w:+.2f}" for name, w in self.weights),
            f"    {'(intercept)':22s} {self.intercept:+.2f}",
            "  strongest terms: " + ", ".join(self.top_terms),
            f"  input hash: {self.input_hash}",
            f"  cache: {self.cache_path if self.cache_path else 'none'}",
        ]
        return "\n".join(lines)


def input_hash(
    *, seeds_dir: Path, judgements: Sequence[Example], seeds: Sequence[Example] | None = None
) -> str:
    """Hash over everything the model is built from (``seeds``: those of ``seeds_dir``, when the
    caller has read them already)."""
    digest = hashlib.sha256(MODEL_VERSION.encode())
    for path in sorted(PACKAGE_DIR.glob("*.py")) + list(DATA_FILES):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    for ex in read_seeds(seeds_dir) if seeds is None else seeds:
        digest.update(_example_bytes(ex))
    for ex in judgements:
        digest.update(_example_bytes(ex))
    return digest.hexdigest()


def _example_bytes(ex: Example) -> bytes:
    fields = [ex.source, ex.title, ex.text, bool(ex.label)]
    return json.dumps(fields, ensure_ascii=False).encode("utf-8") + b"\n"


def cache_path(cache_dir: Path, key: str) -> Path:
    return cache_dir / f"classifier-{key[:24]}.pkl"


def load_classifier(
    *,
    seeds_dir: Path,
    judgements: Sequence[Example] = (),
    threshold: float,
    cache_dir: Path | None = None,
) -> Classifier:
    """The model for these inputs: from the cache when present, else built (and cached).

    Raises ``NoPositiveExamplesError`` when there is no positive example at all."""
    seeds = read_seeds(seeds_dir)
    _require_positive(seeds, judgements, seeds_dir=seeds_dir)
    if cache_dir is not None:
        key = input_hash(seeds_dir=seeds_dir, judgements=judgements, seeds=seeds)
        cached = _read_cache(cache_path(cache_dir, key))
        if cached is not None:
            cached.threshold = threshold
            return cached
    classifier, _ = train(
        seeds_dir=seeds_dir, judgements=judgements, threshold=threshold, cache_dir=cache_dir
    )
    return classifier


def train(
    *,
    seeds_dir: Path,
    judgements: Sequence[Example] = (),
    threshold: float,
    cache_dir: Path | None = None,
) -> tuple[Classifier, TrainReport]:
    """Build the model from scratch (ignoring any cache), store it, and say what was learned.

    Raises ``NoPositiveExamplesError`` when there is no positive example at all."""
    started = time.perf_counter()
    seeds = read_seeds(seeds_dir)
    _require_positive(seeds, judgements, seeds_dir=seeds_dir)
    key = input_hash(seeds_dir=seeds_dir, judgements=judgements, seeds=seeds)
    classifier, ts = fit(
        examples=[*seeds, *judgements],
        gazetteer=load_gazetteer(),
        cues=load_cues(),
        threshold=threshold,
    )
    path = cache_path(cache_dir, key) if cache_dir is not None else None
    if path is not None:
        _write_cache(path, classifier)
    report = _report(classifier, ts, seeds=len(seeds), judgements=judgements, key=key, path=path)
    seconds = time.perf_counter() - started
    logger.info("classify: model built", extra={"input_hash": key, "seconds": seconds})
    return classifier, _with_seconds(report, seconds)


def _require_positive(
    seeds: Sequence[Example], judgements: Sequence[Example], *, seeds_dir: Path
) -> None:
    """A model with no positive example scores everything near 0 and matches nothing."""
    if not any(ex.label for ex in (*seeds, *judgements)):
        raise NoPositiveExamplesError(seeds_dir)


def from_examples(*, examples: Sequence[Example], threshold: float) -> Classifier:
    """Build a model from explicit examples only (no seed folder, no cache): for evaluation."""
    classifier, _ = fit(
        examples=examples, gazetteer=load_gazetteer(), cues=load_cues(), threshold=threshold
    )
    return classifier


def _report(
    classifier: Classifier,
    ts: TrainingSet,
    *,
    seeds: int,
    judgements: Sequence[Example],
    key: str,
    path: Path | None,
) -> TrainReport:
    synthetic = [label for label, real in zip(ts.labels, ts.real, strict=True) if not real]
    weights = sorted(zip(FEATURE_NAMES, classifier.coef.tolist(), strict=True), key=lambda x: -x[1])
    return TrainReport(
        seeds=seeds,
        positive_judgements=sum(1 for j in judgements if j.label),
        negative_judgements=sum(1 for j in judgements if not j.label),
        contrast_positives=sum(synthetic),
        contrast_negatives=len(synthetic) - sum(synthetic),
        weights=tuple(weights),
        intercept=classifier.intercept,
        top_terms=tuple(classifier.terms.top_terms(count=TOP_TERMS)),
        teaching=f"{classifier.teaching.render()}\n  {classifier.words.render()}",
        input_hash=key,
        cache_path=path,
        build_seconds=0.0,
    )


def _with_seconds(report: TrainReport, seconds: float) -> TrainReport:
    return replace(report, build_seconds=seconds)


def _read_cache(path: Path) -> Classifier | None:
    try:
        with path.open("rb") as handle:
            loaded = pickle.load(handle)
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError):
        return None
    return loaded if isinstance(loaded, Classifier) else None


def _write_cache(path: Path, classifier: Classifier) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "wb") as handle:
        pickle.dump(classifier, handle, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, path)
