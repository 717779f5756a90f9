"""The classifier: `score`, `label`, `train`, `rescore`, `eval`."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from monitor import views
from monitor.cli.common import console, error, errors, open_app
from monitor.errors import ConfigError
from monitor.lazy import lazy_module

if TYPE_CHECKING:
    from monitor import classify
    from monitor.app import App
else:
    classify = lazy_module("monitor.classify")


def score(
    ctx: typer.Context,
    file: Annotated[str | None, typer.Argument(help="Text file to score, or - for stdin.")] = None,
    jsonl: Annotated[
        Path | None, typer.Option("--jsonl", help="Score each JSON line's `text` (and `title`).")
    ] = None,
    title: Annotated[str, typer.Option(help="Title of the text, when scoring one file.")] = "",
) -> None:
    """Score text with the current classifier and threshold; print JSON."""
    with open_app(ctx) as application:
        classifier = application.model()
        if jsonl is not None:
            views.score_jsonl(classifier, source=jsonl, out=sys.stdout)
            return
        text = (
            sys.stdin.read()
            if file in (None, "-")
            else Path(str(file)).read_text(encoding="utf-8", errors="replace")
        )
        result = classifier.score(title=title, text=text)
    sys.stdout.write(
        json.dumps(
            {"score": result.value, "relevant": result.relevant, "reasons": list(result.reasons)},
            ensure_ascii=False,
        )
        + "\n"
    )


def label(
    ctx: typer.Context,
    article_id: Annotated[int | None, typer.Argument(help="Article id.")] = None,
    judgement: Annotated[
        views.Judgement | None, typer.Argument(help="relevant or irrelevant")
    ] = None,
    import_file: Annotated[
        Path | None,
        typer.Option(
            "--import",
            help="Import JSON lines (`title`, `text`, `label` 0/1, optional `id`) as judgements.",
        ),
    ] = None,
) -> None:
    """Store your judgement of an article, or import labelled lines; `monitor train` learns."""
    if import_file is not None:
        _import_judgements(ctx, import_file)
        return
    if article_id is None or judgement is None:
        error("label needs ID and relevant|irrelevant, or --import FILE.jsonl")
        raise typer.Exit(2)
    with open_app(ctx) as application:
        application.store.set_judgement(
            article_id=article_id, relevant=judgement is views.Judgement.relevant
        )
    console.print(
        f"article {article_id}: {judgement.value} (run `monitor train` to update the model)"
    )


def _import_judgements(ctx: typer.Context, path: Path) -> None:
    with errors():
        if not path.is_file():
            raise ConfigError(f"label: no such file: {path}")
        lines = views.labelled_lines(path)
    with open_app(ctx) as application:
        result = application.store.import_judgements(lines, source=path.name)
    console.print(views.import_line(path, result), highlight=False, soft_wrap=True)


def train(ctx: typer.Context) -> None:
    """Rebuild the model from seed articles and your judgements; print what it learned."""
    from monitor.app import judgement_examples, seeds_required

    with open_app(ctx) as application, seeds_required():
        s = application.settings.classifier
        _model, report = classify.train(
            seeds_dir=s.seeds,
            judgements=judgement_examples(application.store),
            threshold=s.threshold,
            cache_dir=s.cache_dir,
        )
        imported = views.imported_lines(application.store.imported_counts())
    console.print(report.render(), highlight=False)
    console.print("\n".join(imported), highlight=False)


def rescore(
    ctx: typer.Context,
    since: Annotated[
        str | None,
        typer.Option(help="Only articles fetched since this date (YYYY-MM-DD) [default: all]."),
    ] = None,
    alert: Annotated[
        bool, typer.Option("--alert", help="Queue alerts for the matches it creates.")
    ] = False,
) -> None:
    """Score stored articles again with the current model; create the matches it now finds."""
    from monitor.rescore import rescore as rescore_articles

    with open_app(ctx) as application:
        report = rescore_articles(
            store=application.store,
            classifier=application.model(),
            since=views.parse_date(since),
            outbox=application.outbox_policy if alert else None,
        )
    console.print(report.render(), highlight=False, soft_wrap=True)


def eval_command(
    ctx: typer.Context,
    file: Annotated[
        Path,
        typer.Argument(
            help="JSON lines with `text`, `label` and optional `title`, `id`, `borderline`."
        ),
    ],
    full_only: Annotated[
        bool,
        typer.Option("--full-only", help="Only the rows as given: no lead, headline, time split."),
    ] = False,
) -> None:
    """Evaluate the classifier on labelled JSON lines: precision, recall, F1, mistakes.

    Also prints the same rows cut to title + two paragraphs and to the headline alone, and a
    split by time: the earlier half taught as judgements, scored on the later half.
    """
    from monitor.classify.evaluate import evaluate
    from monitor.classify.variants import render, variants

    with open_app(ctx) as application:
        rows = views.read_jsonl(file)
        classifier = application.model()
        report = evaluate(classifier=classifier, rows=rows)
        console.print(report.render(), highlight=False)
        if not full_only:
            found = variants(classifier=classifier, rows=rows, build=_builder(application))
            console.print(render(found), highlight=False)


def _builder(application: App) -> Callable[[Sequence[classify.Example]], classify.Classifier]:
    """Models built from the seeds and the given judgements only (not the stored ones)."""
    s = application.settings.classifier

    def build(judgements: Sequence[classify.Example]) -> classify.Classifier:
        from monitor.app import seeds_required

        with seeds_required():
            model, _ = classify.train(
                seeds_dir=s.seeds, judgements=judgements, threshold=s.threshold
            )
        return model

    return build
