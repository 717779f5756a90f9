"""The HTML pages: matches, one article (with judgement buttons), feeds, login, and the
confirmation page of an alert's signed "not relevant" link."""

from __future__ import annotations

import hmac
from datetime import date, timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from monitor import review_links
from monitor.app import App
from monitor.errors import ConfigError, LinkError, StoreError
from monitor.export import judgement_name
from monitor.models import Article, fits_row_id, utcnow
from monitor.settings import new_feed_spec
from monitor.store import Store
from monitor.store.matches import MatchFilter, ReviewRow
from monitor.web import security
from monitor.web.query import parse_query
from monitor.web.render import chart, page

CHART_DAYS = 30
JUDGED_PARAM = "judged"  # the article just judged "not relevant" from the list
MAX_CHART_DAYS = 366
VERDICTS = {"relevant": True, "irrelevant": False, "clear": None}  # clear: undo the judgement


def monitor_app(request: Request) -> App:
    application: App = request.app.state.monitor
    return application


def token_of(request: Request) -> str | None:
    token: str | None = request.app.state.token
    return token


def matches(request: Request) -> Response:
    store = monitor_app(request).store
    query = parse_query(request.query_params, stories=True)
    rows = store.review_matches(where=query.where)
    words = query.where.search
    days, last = chart_span(query.where, today=utcnow().date())
    return page(
        request,
        "matches.html",
        query=query,
        rows=rows,
        also=also_reported(store, rows) if query.where.per_story else {},
        snippets=store.snippets([r.article.id or 0 for r in rows], words=words) if words else {},
        verdict=judgement_name,
        total=store.count_matches(where=query.where),
        chart=chart(store.matches_per_day(days=days, today=last, where=query.where)),
        sources=store.sources(),
        here=request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        judged=just_judged(request, store),
    )


def chart_span(where: MatchFilter, *, today: date) -> tuple[int, date]:
    """(days, last day) of the chart: the filter's dates, else the last ``CHART_DAYS`` days."""
    last = (where.until - timedelta(days=1)).date() if where.until else today
    first = where.since.date() if where.since else last - timedelta(days=CHART_DAYS - 1)
    days = min(max((last - first).days + 1, 1), MAX_CHART_DAYS)
    return days, last


def also_reported(store: Store, rows: list[ReviewRow]) -> dict[int, list[tuple[int, str]]]:
    """For each row's article: (article id, source) of the story's other copies."""
    stories = {r.article.story_id for r in rows if r.article.story_id is not None}
    copies = store.story_copies(stories) if stories else {}
    return {
        r.article.id or 0: [
            (cid, source)
            for cid, source, _ in copies.get(r.article.story_id or 0, [])
            if cid != r.article.id
        ]
        for r in rows
    }


def article(request: Request) -> Response:
    article_id: int = request.path_params["article_id"]
    found = monitor_app(request).store.article(article_id)
    if found is None:
        raise HTTPException(404, f"web: no article with id {article_id}")
    row, feed, judgement = found
    story = row.story_id or 0
    copies = monitor_app(request).store.story_copies({story}).get(story, []) if story else []
    return page(
        request,
        "article.html",
        article=row,
        feed=feed,
        judgement=judgement,
        reasons=row.reason_list(),
        copies=[(cid, source, url) for cid, source, url in copies if cid != row.id],
        here=request.url.path,
    )


async def judge(request: Request) -> Response:
    """Store "relevant" / "not relevant" for an article (the classifier learns from it), or
    forget the judgement ("clear": undo)."""
    article_id: int = request.path_params["article_id"]
    form = await security.checked_form(request, token=token_of(request))
    given = str(form.get("verdict") or "")
    if given not in VERDICTS:
        raise HTTPException(400, "web: verdict must be 'relevant', 'irrelevant' or 'clear'")
    verdict = VERDICTS[given]
    store = monitor_app(request).store
    # NotFound is a 404, any other StoreError a 503 (the app's exception handlers)
    if verdict is None:
        await run_in_threadpool(store.clear_judgement, article_id=article_id)
    else:
        await run_in_threadpool(store.set_judgement, article_id=article_id, relevant=verdict)
    target = security.safe_next(str(form.get("next") or f"/articles/{article_id}"))
    if verdict is False:  # the row leaves the list: the list says so, with an undo button
        target = with_param(target, name=JUDGED_PARAM, value=str(article_id))
    return RedirectResponse(target, status_code=303)


def with_param(target: str, *, name: str, value: str | None) -> str:
    """``target`` (a path on this site) with one query parameter set, or removed (``None``)."""
    parts = urlsplit(target)
    if parts.path != "/":
        return target
    params = [(k, v) for k, v in parse_qsl(parts.query) if k != name]
    params += [(name, value)] if value is not None else []
    return urlunsplit(("", "", parts.path, urlencode(params), parts.fragment))


def just_judged(request: Request, store: Store) -> tuple[Article, str] | None:
    """The article the list was just told is not relevant, and the list's URL without it."""
    raw = request.query_params.get(JUDGED_PARAM, "")
    if not raw.isdigit() or not fits_row_id(int(raw)):
        return None
    found = store.article(int(raw))
    if found is None or found[2] is None or found[2].relevant:
        return None
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return found[0], with_param(here, name=JUDGED_PARAM, value=None)


def _signed_article(request: Request) -> int:
    """The article id of a signed alert link, after checking signature and expiry."""
    params = request.path_params
    review_links.check(
        key=review_links.link_key(token_of(request)),
        article_id=params["article_id"],
        expires=params["expires"],
        sig=params["sig"],
        now=utcnow(),
    )
    article_id: int = params["article_id"]
    return article_id


def judge_link(request: Request) -> Response:
    """The page an alert's "not relevant" link opens: it asks; only its button judges."""
    try:
        article_id = _signed_article(request)
    except LinkError as exc:
        return page(request, "judge_link.html", status=403, error=exc, article=None, done=False)
    found = monitor_app(request).store.article(article_id)
    if found is None:
        raise HTTPException(404, f"web: no article with id {article_id}")
    return page(request, "judge_link.html", error=None, article=found[0], done=False)


async def judge_link_confirmed(request: Request) -> Response:
    """The confirmation's POST (CSRF-checked): store "not relevant" for the linked article."""
    await security.checked_form(request, token=token_of(request))
    try:
        article_id = _signed_article(request)
    except LinkError as exc:
        return page(request, "judge_link.html", status=403, error=exc, article=None, done=False)
    store = monitor_app(request).store
    found = await run_in_threadpool(store.article, article_id)
    if found is None:
        raise HTTPException(404, f"web: no article with id {article_id}")
    await run_in_threadpool(store.set_judgement, article_id=article_id, relevant=False)
    return page(request, "judge_link.html", error=None, article=found[0], done=True)


FEED_ACTIONS = ("pause", "resume", "remove")
NOTICES = {
    "added": "Added {name}; the daemon polls it on its next tick.",
    "pause": "Paused {name}.",
    "resume": "Resumed {name}; it is polled at once.",
    "remove": "Removed {name}; its articles stay stored.",
    "remove-config": "{name} comes from the config file: delete it there (watched until then).",
}


def feeds(request: Request) -> Response:
    notice = NOTICES.get(request.query_params.get("done", ""), "")
    name = request.query_params.get("feed", "")[:200]
    return _feeds_page(request, notice=notice.format(name=repr(name)) if notice else "")


def _feeds_page(
    request: Request,
    *,
    notice: str = "",
    error: str = "",
    status: int = 200,
    form: dict[str, str] | None = None,
) -> Response:
    rows = monitor_app(request).store.feeds(enabled_only=False)
    return page(
        request,
        "feeds.html",
        status=status,
        feeds=rows,
        now=utcnow(),
        notice=notice,
        error=error,
        form=form or {},
    )


async def feed_add(request: Request) -> Response:
    """Add a feed with the rules of ``monitor feeds add``."""
    form = await security.checked_form(request, token=token_of(request))
    given = {k: str(form.get(k) or "").strip() for k in ("url", "name", "interval")}
    try:
        spec = new_feed_spec(
            url=given["url"], name=given["name"] or None, interval=given["interval"] or "15m"
        )
        await run_in_threadpool(
            monitor_app(request).store.add_feed,
            name=spec.name,
            url=spec.url,
            interval_seconds=int(spec.interval),
        )
    except (ConfigError, StoreError) as exc:
        return _feeds_page(request, error=str(exc), status=400, form=given)
    return RedirectResponse(f"/feeds?{urlencode({'done': 'added', 'feed': spec.name})}", 303)


async def feed_action(request: Request) -> Response:
    """Pause, resume or remove one feed (remove is ``monitor feeds remove``)."""
    feed_id: int = request.path_params["feed_id"]
    form = await security.checked_form(request, token=token_of(request))
    action = str(form.get("action") or "")
    if action not in FEED_ACTIONS:
        raise HTTPException(400, f"web: action must be one of {', '.join(FEED_ACTIONS)}")
    store = monitor_app(request).store
    feed = await run_in_threadpool(store.feed, feed_id)
    if action == "remove":
        await run_in_threadpool(lambda: store.remove_feed(name=feed.name))
        action = "remove-config" if feed.origin == "config" else "remove"
    else:
        await run_in_threadpool(
            lambda: store.set_feed_enabled(feed_id=feed_id, enabled=action == "resume")
        )
    return RedirectResponse(f"/feeds?{urlencode({'done': action, 'feed': feed.name})}", 303)


def login_form(request: Request) -> Response:
    if token_of(request) is None:
        return RedirectResponse("/", status_code=303)
    target = security.safe_next(request.query_params.get("next"))
    return page(request, "login.html", next=target, error=None)


async def login(request: Request) -> Response:
    token = token_of(request)
    form = await security.checked_form(request, token=token)
    target = security.safe_next(str(form.get("next") or "/"))
    if token is None:
        return RedirectResponse(target, status_code=303)
    given = str(form.get("token") or "")
    if not hmac.compare_digest(given.encode(), token.encode()):
        return page(request, "login.html", status=401, next=target, error="Wrong token.")
    store = monitor_app(request).store
    return await run_in_threadpool(
        security.login_response,
        request,
        token=token,
        target=target,
        sessions=store,
        now=utcnow(),
    )


async def logout(request: Request) -> Response:
    token = token_of(request)
    await security.checked_form(request, token=token)
    sessions = monitor_app(request).store
    return await run_in_threadpool(
        security.logout_response, request, token=token, sessions=sessions
    )
