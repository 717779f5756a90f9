"""Cross-validated and seeds-only figures of the relevance classifier on the shared corpus.

    MONITOR_CORPUS=../shared/corpus .venv/bin/python -m bench.classifier_cv [--repeats N]

CV: stratified 5-fold over news/dev.jsonl; in each fold the training part acts as the user's
judgements and the seed articles are always in training. Seeds-only: the shipped default (seed
articles + shipped data, no judgements) scored on every dev row and on the aeb articles.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Sequence
from pathlib import Path

from sklearn.model_selection import StratifiedKFold

from monitor.classify import Example, from_examples, read_seeds
from monitor.classify.evaluate import EvalReport, Outcome, evaluate

REPO_ROOT = Path(__file__).resolve().parent.parent
SEEDS_DIR = REPO_ROOT / "seed_articles"
THRESHOLD = 0.5
FOLDS = 5


def corpus_dir() -> Path:
    configured = os.environ.get("MONITOR_CORPUS")
    return Path(configured) if configured else REPO_ROOT.parent / "shared" / "corpus"


def load_dev(corpus: Path) -> list[dict[str, object]]:
    path = corpus / "news" / "dev.jsonl"
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def load_aeb(corpus: Path) -> list[dict[str, object]]:
    """The aeb articles as negative rows (ground-truth body; the first line stands as title)."""
    path = corpus / "aeb" / "ground-truth.json"
    if not path.is_file():
        return []
    truth = json.loads(path.read_text(encoding="utf-8"))
    return [_aeb_row(key, item["articleBody"]) for key, item in sorted(truth.items())]


def _aeb_row(key: str, body: str) -> dict[str, object]:
    first, _, rest = body.strip().partition("\n")
    return {"id": f"aeb-{key[:12]}", "title": first, "text": rest, "label": 0}


def judgement(row: dict[str, object]) -> Example:
    return Example(
        title=str(row.get("title", "")),
        text=str(row["text"]),
        label=bool(row["label"]),
        source=f"judgement:{row.get('id', '')}",
    )


def cross_validate(
    rows: Sequence[dict[str, object]], *, seeds: Sequence[Example], repeat: int = 0
) -> EvalReport:
    labels = [int(bool(r["label"])) for r in rows]
    folds = StratifiedKFold(n_splits=FOLDS, shuffle=True, random_state=repeat)
    outcomes: list[Outcome] = []
    for train_idx, test_idx in folds.split(labels, labels):
        examples = [*seeds, *(judgement(rows[i]) for i in train_idx)]
        model = from_examples(examples=examples, threshold=THRESHOLD)
        outcomes += evaluate(classifier=model, rows=[rows[i] for i in test_idx]).outcomes
    return EvalReport(threshold=THRESHOLD, outcomes=tuple(outcomes))


def seeds_only(rows: Sequence[dict[str, object]], *, seeds: Sequence[Example]) -> EvalReport:
    model = from_examples(examples=seeds, threshold=THRESHOLD)
    return evaluate(classifier=model, rows=rows)


def summary(name: str, report: EvalReport) -> str:
    clear, every = report.clear, report.all
    return (
        f"{name}: non-borderline P {clear.precision:.3f} R {clear.recall:.3f} F1 {clear.f1:.3f} "
        f"(tp {clear.tp} fp {clear.fp} fn {clear.fn} tn {clear.tn}); "
        f"all P {every.precision:.3f} R {every.recall:.3f} F1 {every.f1:.3f}"
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--verbose", action="store_true", help="print every report in full")
    args = parser.parse_args(argv)
    corpus = corpus_dir()
    rows, seeds = load_dev(corpus), read_seeds(SEEDS_DIR)
    print(f"corpus: {corpus}; {len(rows)} dev rows, {len(seeds)} seeds, threshold {THRESHOLD}")
    for repeat in range(args.repeats):
        report = cross_validate(rows, seeds=seeds, repeat=repeat)
        print(summary(f"CV 5-fold (shuffle {repeat})", report))
        if args.verbose:
            print(report.render())
    default = seeds_only(rows, seeds=seeds)
    print(summary("seeds only, all dev", default))
    print(default.render() if args.verbose else _mistakes(default))
    aeb = seeds_only(load_aeb(corpus), seeds=seeds)
    print(f"seeds only, aeb: {aeb.all.fp} false alarms of {aeb.all.count} ordinary articles")


def _mistakes(report: EvalReport) -> str:
    return "\n".join(report.render().splitlines()[-len(report.mistakes) - 1 :])


if __name__ == "__main__":
    main()
