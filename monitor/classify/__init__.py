"""Relevance of an article to the watched relationship (Pakistan–Russia by default).

The public surface the pipeline and CLI use:

- ``Score``: value in 0..1, ``relevant`` at or above the threshold, and the ``reasons``.
- ``Example``: one labelled article (a seed file or a user's judgement).
- ``load_classifier(...)`` returns a ``Classifier`` whose ``score(title=..., text=...)`` is
  deterministic; it is built from the seeds, the judgements and the files in ``data/``, or read
  from a cache keyed by a hash of those inputs.
- ``NoPositiveExamplesError``: raised by both when there is no seed and no relevant judgement.
- ``train(...)`` rebuilds the model and returns a ``TrainReport`` of what it learned.
- ``monitor.classify.evaluate.evaluate(...)`` measures a classifier on labelled rows.

This package never touches the network or the database: examples come in as arguments.
"""

from __future__ import annotations

from monitor.classify.build import (
    NoPositiveExamplesError,
    TrainReport,
    from_examples,
    input_hash,
    load_classifier,
    train,
)
from monitor.classify.examples import Example, read_seeds
from monitor.classify.model import Classifier, Score

__all__ = [
    "Classifier",
    "Example",
    "NoPositiveExamplesError",
    "Score",
    "TrainReport",
    "from_examples",
    "input_hash",
    "load_classifier",
    "read_seeds",
    "train",
]
