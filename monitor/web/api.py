"""Machine-readable endpoints: /api/matches (JSON), /feed.xml (Atom), /healthz, /metrics."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from monitor.errors import StoreError
from monitor.export import record
from monitor.links import web_url
from monitor.store.matches import ReviewRow
from monitor.web.atom import render_atom
from monitor.web.metrics import CONTENT_TYPE, Snapshot, render_metrics
from monitor.web.pages import monitor_app
from monitor.web.query import parse_query

ATOM_ENTRIES = 50
ATOM_TYPE = "application/atom+xml; charset=utf-8"


def api_matches(request: Request) -> Response:
    """Matches as JSON, newest first; same filters as the page, plus ``limit`` (max 500)."""
    query = parse_query(request.query_params)
    if query.errors:
        return JSONResponse({"errors": list(query.errors)}, status_code=400)
    store = monitor_app(request).store
    rows = store.review_matches(where=query.where)
    total = store.count_matches(where=query.where)
    more = query.where.offset + len(rows) < total
    return JSONResponse(
        {
            "total": total,
            "page": query.page,
            "next": str(request.url.path) + query.link(page=query.page + 1) if more else None,
            "items": [api_record(r) for r in rows],
        }
    )


def api_record(row: ReviewRow) -> dict[str, Any]:
    """``export.record`` with its links under the page's rule (``links.web_url``): a
    ``javascript:``, ``data:`` or other non-http(s) article link is ``null``."""
    item = record(row)
    copies = [{**c, "url": web_url(c["url"])} for c in item["copies"]]
    return {**item, "url": web_url(item["url"]), "copies": copies}


def atom_feed(request: Request) -> Response:
    """The newest 50 matches (same filters as the page) as Atom."""
    query = parse_query(request.query_params, page_size=ATOM_ENTRIES)
    if query.errors:
        return PlainTextResponse("\n".join(query.errors), status_code=400)
    rows = monitor_app(request).store.review_matches(where=query.where)
    body = render_atom(rows, base_url=str(request.base_url), title="monitor: matches")
    return Response(body, media_type=ATOM_TYPE)


def healthz(request: Request) -> Response:
    try:
        monitor_app(request).store.ping()
    except StoreError as exc:
        return JSONResponse({"status": "error", "error": str(exc)}, status_code=503)
    return JSONResponse({"status": "ok"})


def metrics(request: Request) -> Response:
    store = monitor_app(request).store
    snapshot = Snapshot(
        feeds=store.feeds(enabled_only=False),
        counts=store.counts(),
        judgements=store.judgement_counts(),
        alerts=store.alert_counts(),
        queue=store.queue_counts(),
    )
    return Response(render_metrics(snapshot), media_type=CONTENT_TYPE)
