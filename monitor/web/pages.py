"""The HTML pages: matches, one article (with judgement buttons), feeds, login."""

from __future__ import annotations

import hmac

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from monitor.app import App
from monitor.export import judgement_name
from monitor.models import utcnow
from monitor.store import reasons_of
from monitor.web import security
from monitor.web.query import JUDGEMENTS, parse_query
from monitor.web.render import chart, page

CHART_DAYS = 30
VERDICTS = {"relevant": True, "irrelevant": False}


def monitor_app(request: Request) -> App:
    application: App = request.app.state.monitor
    return application


def token_of(request: Request) -> str | None:
    token: str | None = request.app.state.token
    return token


def matches(request: Request) -> Response:
    store = monitor_app(request).store
    query = parse_query(request.query_params)
    rows = store.review_matches(where=query.where)
    return page(
        request,
        "matches.html",
        query=query,
        rows=rows,
        verdict=judgement_name,
        total=store.count_matches(where=query.where),
        chart=chart(store.matches_per_day(days=CHART_DAYS, today=utcnow().date())),
        sources=store.sources(),
        judgements=JUDGEMENTS,
        here=request.url.path + (f"?{request.url.query}" if request.url.query else ""),
    )


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
        reasons=reasons_of(row),
        copies=[(cid, source, url) for cid, source, url in copies if cid != row.id],
        here=request.url.path,
    )


async def judge(request: Request) -> Response:
    """Store "relevant" / "not relevant" for an article; the classifier learns from it."""
    article_id: int = request.path_params["article_id"]
    form = await security.checked_form(request, token=token_of(request))
    verdict = VERDICTS.get(str(form.get("verdict") or ""))
    if verdict is None:
        raise HTTPException(400, "web: verdict must be 'relevant' or 'irrelevant'")
    store = monitor_app(request).store
    # NotFound is a 404, any other StoreError a 503 (the app's exception handlers)
    await run_in_threadpool(store.set_judgement, article_id=article_id, relevant=verdict)
    target = security.safe_next(str(form.get("next") or f"/articles/{article_id}"))
    return RedirectResponse(target, status_code=303)


def feeds(request: Request) -> Response:
    rows = monitor_app(request).store.feeds(enabled_only=False)
    return page(request, "feeds.html", feeds=rows, now=utcnow())


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
