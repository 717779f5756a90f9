"""The ``monitor`` command: presenting and wiring only; the work happens in the stages."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated
from urllib.parse import urlsplit

import typer
from pydantic_core import ValidationError

from monitor import __version__, views
from monitor.errors import ConfigError, MonitorError
from monitor.lazy import lazy_function, lazy_module
from monitor.masking import install_masking_filter, mask_secrets

if TYPE_CHECKING:
    from monitor import classify, notify, opml
    from monitor.app import App, build_app
    from monitor.models import utcnow
    from monitor.outbox import deliver_due
    from monitor.settings import (
        FeedSpec,
        Settings,
        config_path,
        load_settings,
        parse_duration,
        public_view,
    )
else:  # imported when a command uses them: `monitor --help` stays fast (tests/test_startup.py)
    classify = lazy_module("monitor.classify")
    notify, opml = lazy_module("monitor.notify"), lazy_module("monitor.opml")
    build_app = lazy_function("monitor.app", "build_app")
    utcnow = lazy_function("monitor.models", "utcnow")
    deliver_due = lazy_function("monitor.outbox", "deliver_due")
    FeedSpec = lazy_function("monitor.settings", "FeedSpec")
    config_path = lazy_function("monitor.settings", "config_path")
    load_settings = lazy_function("monitor.settings", "load_settings")
    parse_duration = lazy_function("monitor.settings", "parse_duration")
    public_view = lazy_function("monitor.settings", "public_view")

console = views.terminal()
log = logging.getLogger("monitor")

app = typer.Typer(
    help="Watch news feeds and flag articles about Pakistan–Russia relations.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
feeds_app = typer.Typer(help="List, add, remove, import and export feeds.", no_args_is_help=True)
matches_app = typer.Typer(help="Review stored matches.", no_args_is_help=True)
config_app = typer.Typer(help="Inspect the configuration.", no_args_is_help=True)
app.add_typer(feeds_app, name="feeds")
app.add_typer(matches_app, name="matches")
app.add_typer(config_app, name="config")
db_app = typer.Typer(help="Database schema: status and migrations.", no_args_is_help=True)
app.add_typer(db_app, name="db")
alerts_app = typer.Typer(help="Test destinations, list and retry alerts.", no_args_is_help=True)
app.add_typer(alerts_app, name="alerts")


@dataclass
class State:
    config: Path | None
    _settings: Settings | None = None

    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self.config)
        return self._settings


def _version(value: bool) -> None:
    if value:
        console.print(f"monitor {__version__}")
        raise typer.Exit()


@app.callback()
def main_callback(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", "-c", help="Config file [default: $MONITOR_CONFIG or config/monitor.toml]"
        ),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log debug details.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)-7s %(message)s",
        stream=sys.stderr,
    )
    install_masking_filter()  # no secret in any log line, at any verbosity
    for noisy in (
        "httpx",
        "httpcore",
        "apscheduler",
        "apprise",
        "trafilatura",
        "htmldate",
        "courlan",
        "alembic",
        "procrastinate",
    ):
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbose else logging.WARNING)
    # one warning per failed connection while the database is away: the worker says it once
    logging.getLogger("psycopg.pool").setLevel(logging.DEBUG if verbose else logging.ERROR)
    ctx.obj = State(config=config)


@contextmanager
def _app(ctx: typer.Context) -> Iterator[App]:
    state: State = ctx.obj
    with _errors():
        application = build_app(state.settings())
    try:
        with _errors():
            yield application
    finally:
        application.close()


@contextmanager
def _errors() -> Iterator[None]:
    """Turn the monitor's own errors into one clear line and an exit code (2 for config)."""
    try:
        yield
    except ConfigError as exc:
        _error(str(exc))
        raise typer.Exit(2) from None
    except MonitorError as exc:
        _error(str(exc), hint=exc.hint)
        raise typer.Exit(1) from None


def _error(message: str, *, hint: str = "") -> None:
    print(f"error: {mask_secrets(message)}", file=sys.stderr)
    if hint:
        print(f"hint: {hint}", file=sys.stderr)


# -- daemon and polling ---------------------------------------------------------------------


@app.command()
def run(ctx: typer.Context) -> None:
    """Run the daemon: poll due feeds on schedule until SIGINT/SIGTERM."""
    from monitor.scheduler import Daemon

    with _app(ctx) as application:
        feeds = application.store.feeds()
        log.info(
            "monitor %s: %d feeds, database %s",
            __version__,
            len(feeds),
            public_view(application.settings)["storage"]["url"],
        )
        application.model()  # build or load the classifier before the first poll
        sched = application.settings.scheduler
        Daemon(
            stages=application.stages,
            workers=sched.workers,
            tick_seconds=sched.tick,
            deliver=lambda: deliver_due(application.outbox),
            maintain=application.maintain,
        ).run()


@app.command()
def worker(
    ctx: typer.Context,
    concurrency: Annotated[
        int | None,
        typer.Option(help="Jobs at once in this process [default: [worker] concurrency]."),
    ] = None,
) -> None:
    """Run a worker on PostgreSQL's job queue; start any number, on any number of machines."""
    from monitor.worker import require_postgresql, run_worker

    state: State = ctx.obj
    with _errors():
        require_postgresql(state.settings().storage.url)
    with _app(ctx) as application:
        application.model()  # build or load the classifier before the first job
        run_worker(
            app=application,
            concurrency=concurrency or application.settings.worker.concurrency,
        )


@app.command()
def poll(
    ctx: typer.Context,
    once: Annotated[
        bool, typer.Option("--once", help="Poll every feed once now (the default).")
    ] = True,
    feed: Annotated[
        str | None, typer.Option("--feed", help="Only the feed with this name.")
    ] = None,
) -> None:
    """Poll feeds once now, ignoring their schedule, and print a summary."""
    from monitor.scheduler import poll_now

    del once
    with _app(ctx) as application:
        targets = [f for f in application.store.feeds() if feed is None or f.name == feed]
        if not targets:
            raise ConfigError(
                f"config: no feed named {feed!r}" if feed else "config: no feeds configured"
            )
        application.model()
        results = list(
            poll_now(
                stages=application.stages,
                feed_ids=[f.id or 0 for f in targets],
                workers=application.settings.scheduler.workers,
            )
        )
        delivery = deliver_due(application.outbox)
    console.print(views.poll_table(results))
    if application.outbox.destinations:
        console.print(views.delivery_line(delivery), highlight=False)


@app.command()
def status(ctx: typer.Context) -> None:
    """Per feed: last poll, HTTP status, errors, next check; totals; the job queue."""
    with _app(ctx) as application:
        console.print(views.status_table(application.store.feeds(enabled_only=False)))
        counts = application.store.counts()
        alerts = application.store.alert_counts()
        failed = application.store.list_alerts(status="failed", limit=10)
        queue = application.store.queue_counts()
        items = application.store.alert_items(failed)
    console.print(" · ".join(f"{v} {k}" for k, v in counts.items()))
    console.print(views.alerts_line(alerts), highlight=False)
    if queue is not None:
        console.print(views.queue_line(queue), highlight=False)
    if failed:
        known = application.outbox.known
        console.print(views.alerts_table(failed, destinations=known, items=items))


# -- feeds ----------------------------------------------------------------------------------


@feeds_app.command("list")
def feeds_list(ctx: typer.Context) -> None:
    """List the feeds being watched."""
    with _app(ctx) as application:
        console.print(views.feeds_table(application.store.feeds()))


@feeds_app.command("add")
def feeds_add(
    ctx: typer.Context,
    url: str,
    name: Annotated[str | None, typer.Option(help="Display name [default: the host name].")] = None,
    interval: Annotated[str, typer.Option(help="Poll interval, e.g. 15m.")] = "15m",
    check: Annotated[
        bool, typer.Option("--check/--no-check", help="Fetch the URL first: it must be a feed.")
    ] = True,
) -> None:
    """Add a feed (stored in the database beside the config file's feeds)."""
    from monitor.pipeline import check_feed

    with _errors():
        spec = _feed_spec(url=url, name=name, interval=interval, command="feeds add")
    with _app(ctx) as application:
        if check:
            found = check_feed(url=spec.url, fetcher=application.stages.fetcher)
            console.print(f"{spec.url}: a feed with {len(found.entries)} entries", highlight=False)
        application.store.add_feed(
            name=spec.name, url=spec.url, interval_seconds=int(spec.interval)
        )
    console.print(f"added feed {spec.name!r}: {spec.url} every {interval}")


def _feed_spec(*, url: str, name: str | None, interval: str, command: str) -> FeedSpec:
    """The feed as the config would hold it; a bad value is one line naming it."""
    try:
        return FeedSpec(
            name=name or urlsplit(url).hostname or url, url=url, interval=parse_duration(interval)
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "feed"
        raise ConfigError(
            f"{command}: {where}: {first['msg'].removeprefix('Value error, ')}"
        ) from None
    except ValueError as exc:
        raise ConfigError(f"{command}: interval: {exc}") from None


@feeds_app.command("remove")
def feeds_remove(ctx: typer.Context, name: str) -> None:
    """Stop watching a feed added with `feeds add` (its articles stay stored)."""
    with _app(ctx) as application:
        feed = application.store.feed_named(name)
        if feed is not None and feed.enabled and feed.origin == "config":
            _error(
                f"feeds remove: {name!r} comes from the config file "
                f"{config_path(ctx.obj.config)[0]}: delete its [[feeds]] entry there",
                hint="config feeds are not removed from the command line; it is still watched",
            )
            raise typer.Exit(1)
        if application.store.remove_feed(name=name) is None:
            _error(f"no feed named {name!r}", hint="`monitor feeds list` shows the feeds watched")
            raise typer.Exit(1)
    console.print(f"removed feed {name!r} (its articles stay; `feeds add` watches it again)")


@feeds_app.command("import-opml")
def feeds_import_opml(
    ctx: typer.Context,
    file: Path,
    interval: Annotated[str, typer.Option(help="Poll interval for the imported feeds.")] = "15m",
) -> None:
    """Add every feed listed in an OPML file; entries already watched or unusable are skipped."""
    try:
        data = file.read_bytes()
    except OSError as exc:
        _error(f"feeds import-opml: cannot read {file}: {exc.strerror or exc}")
        raise typer.Exit(2) from None
    with _app(ctx) as application:
        entries = opml.read_opml(data)
        known = {f.url for f in application.store.feeds(enabled_only=False)}
        added, skipped = 0, []
        for name, url in entries:
            if url in known:
                continue
            try:
                spec = _feed_spec(url=url, name=name, interval=interval, command="skipped")
                application.store.add_feed(
                    name=spec.name, url=spec.url, interval_seconds=int(spec.interval)
                )
            except MonitorError as exc:
                skipped.append(str(exc))
                continue
            known.add(url)
            added += 1
    for reason in skipped:
        console.print(reason, highlight=False)
    present = len(entries) - added - len(skipped)
    console.print(
        f"imported {added} feeds from {file}: {present} already watched, {len(skipped)} skipped",
        highlight=False,
    )


@feeds_app.command("export-opml")
def feeds_export_opml(ctx: typer.Context) -> None:
    """Print every watched feed as OPML."""
    with _app(ctx) as application:
        sys.stdout.write(opml.write_opml([(f.name, f.url) for f in application.store.feeds()]))


# -- matches --------------------------------------------------------------------------------


@matches_app.command("list")
def matches_list(
    ctx: typer.Context,
    since: Annotated[
        str | None, typer.Option(help="Only matches since this date (YYYY-MM-DD).")
    ] = None,
    min_score: Annotated[
        float | None, typer.Option(help="Only matches scoring at least this.")
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many matches.")] = 50,
    format: Annotated[
        views.Format, typer.Option("--format", help="Output format.")
    ] = views.Format.table,
    copies: Annotated[
        bool, typer.Option("--copies", help="One row per matching copy, not per story.")
    ] = False,
) -> None:
    """List matches, newest first, one row per story (with where else it appeared)."""
    with _app(ctx) as application:
        rows = application.store.matches(
            since=views.parse_date(since), min_score=min_score, limit=limit, copies=copies
        )
        story_copies = application.store.story_copies(
            {r.article.story_id for r in rows if r.article.story_id is not None}
        )
    views.print_matches(rows, fmt=format, console=console, copies=story_copies)


@matches_app.command("export")
def matches_export(
    ctx: typer.Context,
    since: Annotated[
        str | None, typer.Option(help="Only matches since this date (YYYY-MM-DD).")
    ] = None,
    format: Annotated[
        views.ExportFormat, typer.Option("--format", help="Output format.")
    ] = views.ExportFormat.csv,
) -> None:
    """Export matches (with judgements and reasons) for a report, newest first."""
    from monitor.export import export_matches

    with _app(ctx) as application:
        rows = application.store.matches_since(since=views.parse_date(since))
    with _errors():
        export_matches(rows, fmt=format.value, out=sys.stdout)


@matches_app.command("show")
def matches_show(ctx: typer.Context, article_id: int) -> None:
    """Show one article in full, with its score and reasons (ID as listed by `matches list`)."""
    with _app(ctx) as application:
        found = application.store.article(article_id)
    if found is None:
        _error(f"no article with id {article_id}")
        raise typer.Exit(1)
    views.print_article(*found, console=console)


# -- classifier -----------------------------------------------------------------------------


@app.command()
def score(
    ctx: typer.Context,
    file: Annotated[str | None, typer.Argument(help="Text file to score, or - for stdin.")] = None,
    jsonl: Annotated[
        Path | None, typer.Option("--jsonl", help="Score each JSON line's `text` (and `title`).")
    ] = None,
    title: Annotated[str, typer.Option(help="Title of the text, when scoring one file.")] = "",
) -> None:
    """Score text with the current classifier and threshold; print JSON."""
    with _app(ctx) as application:
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


@app.command()
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
        _error("label needs ID and relevant|irrelevant, or --import FILE.jsonl")
        raise typer.Exit(2)
    with _app(ctx) as application:
        application.store.set_judgement(
            article_id=article_id, relevant=judgement is views.Judgement.relevant
        )
    console.print(
        f"article {article_id}: {judgement.value} (run `monitor train` to update the model)"
    )


def _import_judgements(ctx: typer.Context, path: Path) -> None:
    with _errors():
        if not path.is_file():
            raise ConfigError(f"label: no such file: {path}")
        lines = views.labelled_lines(path)
    with _app(ctx) as application:
        result = application.store.import_judgements(lines, source=path.name)
    console.print(views.import_line(path, result), highlight=False, soft_wrap=True)


@app.command()
def train(ctx: typer.Context) -> None:
    """Rebuild the model from seed articles and your judgements; print what it learned."""
    from monitor import classify
    from monitor.app import judgement_examples, seeds_required

    with _app(ctx) as application, seeds_required():
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


@app.command()
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

    with _app(ctx) as application:
        report = rescore_articles(
            store=application.store,
            classifier=application.model(),
            since=views.parse_date(since),
            outbox=application.outbox_policy if alert else None,
        )
    console.print(report.render(), highlight=False, soft_wrap=True)


@app.command("eval")
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

    with _app(ctx) as application:
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


# -- web ------------------------------------------------------------------------------------


@app.command()
def serve(
    ctx: typer.Context,
    host: Annotated[
        str, typer.Option(help="Address to listen on; other than loopback needs MONITOR_WEB_TOKEN.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8080,
) -> None:
    """Serve the review page: matches, search, judgements, feeds, Atom feed, API, metrics."""
    from monitor import web

    with _app(ctx) as application:
        web.serve(app=application, host=host, port=port, token=web.token_from_env())


# -- alerts ---------------------------------------------------------------------------------


@alerts_app.command("test")
def alerts_test(ctx: typer.Context) -> None:
    """Send a test message to every destination and report each result."""
    with _app(ctx) as application:
        outbox = application.outbox
        if not outbox.destinations:
            raise ConfigError(
                "config: alerts: no alert destinations configured (alerts.urls or "
                "[[alerts.destinations]])"
            )
        message = outbox.renderer.test()
        results = [notify.send(d, message) for d in outbox.destinations.values()]
    console.print(views.send_results_table(results))
    if not all(r.ok for r in results):
        raise typer.Exit(1)


@alerts_app.command("list")
def alerts_list(
    ctx: typer.Context,
    status: Annotated[
        views.AlertStatus | None, typer.Option(help="Only alerts in this state.")
    ] = None,
    limit: Annotated[int, typer.Option(help="At most this many alerts.")] = 50,
) -> None:
    """List alerts in the outbox, newest first."""
    with _app(ctx) as application:
        rows = application.store.list_alerts(status=status.value if status else None, limit=limit)
        items = application.store.alert_items(rows)
        known = application.outbox.known
        console.print(views.alerts_table(rows, destinations=known, items=items))


@alerts_app.command("retry")
def alerts_retry(
    ctx: typer.Context,
    alert_id: Annotated[
        int | None, typer.Argument(help="One alert; default: every failed one.")
    ] = None,
) -> None:
    """Queue failed alerts (or one alert) for delivery again, now."""
    with _app(ctx) as application:
        count = application.store.retry_alerts(alert_id=alert_id, now=utcnow())
        delivery = deliver_due(application.outbox) if count else None
    console.print(f"queued {count} alert(s) again")
    if delivery is not None:
        console.print(views.delivery_line(delivery), highlight=False)


# -- database -------------------------------------------------------------------------------


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Apply pending schema migrations (the daemon refuses to start on an older schema)."""
    from monitor.settings import mask_url
    from monitor.store import Store

    state: State = ctx.obj
    with _errors():
        settings = state.settings()
        store = Store(url=settings.storage.url)
        try:
            before, after = store.upgrade_schema()
        finally:
            store.close()
    where = mask_url(settings.storage.url)
    if before == after:
        console.print(f"{where}: schema already at revision {after}", highlight=False)
    else:
        console.print(
            f"{where}: schema upgraded from {before or 'empty'} to {after}", highlight=False
        )


@db_app.command("status")
def db_status(ctx: typer.Context) -> None:
    """Show the schema revision of the database and the one this version needs."""
    from monitor.store import Store

    state: State = ctx.obj
    with _errors():
        store = Store(url=state.settings().storage.url)
        try:
            schema = store.schema_state()
        finally:
            store.close()
    verdict = "up to date" if not schema.behind else "behind: run `monitor db upgrade`"
    console.print(f"schema revision {schema.current or 'none'}, needed {schema.head}: {verdict}")


# -- configuration --------------------------------------------------------------------------


@config_app.command("show")
def config_show(ctx: typer.Context) -> None:
    """Print the effective settings (file + environment), secrets masked."""
    state: State = ctx.obj
    with _errors():
        settings = state.settings()
    sys.stdout.write(json.dumps(public_view(settings), indent=2) + "\n")


def main() -> None:
    app(prog_name="monitor")
