"""DNS rebinding: a feed on a name that answers a public address to the first lookup and loopback
to every later one, while the system resolves it to loopback (``localhost``). A guard that checks
one lookup and lets the connection resolve again fetches the internal server; the production
fetcher (its own transport, which connects only to checked addresses) must not.

The lab's usual fetcher has an injected transport (to record requests), so this case builds the
production one instead. Its one connection goes to the pretend public address, which answers or
not; what the case requires is that the loopback server never sees a request and nothing of the
feed is stored.
"""

from __future__ import annotations

import dataclasses

from faults.common import Case
from faults.hostile_lab import INTERVAL, PRETEND_PUBLIC, Lab, short_error
from monitor.app import build_fetcher
from monitor.pipeline import poll_feed
from tests.httpserver import Item, Route, rss

GROUP = "hostile feeds"
NAME = "DNS rebinding"
PROVES = "a name answering public to the check and loopback after never reaches loopback"
FEED = "dns-rebinding"
PATH = "/hostile/dns-rebinding.xml"
HOST = "localhost"  # what the system resolver answers loopback for
INTERNAL = "internal-only text"


class Rebinding:
    """Public to the first lookup, loopback to every later one; counts the lookups."""

    def __init__(self) -> None:
        self.lookups = 0

    def __call__(self, host: str) -> list[str]:
        self.lookups += 1
        return [PRETEND_PUBLIC] if self.lookups == 1 else ["127.0.0.1"]


def run_case(bench: Lab) -> Case:
    port = bench.server.httpd.server_address[1]
    link = f"http://{HOST}:{port}/hostile/internal.html"
    bench.server.routes[PATH] = Route(body=rss([Item(title=INTERNAL, link=link, summary=INTERNAL)]))
    feed = bench.app.store.add_feed(
        name=FEED, url=f"http://{HOST}:{port}{PATH}", interval_seconds=INTERVAL
    )
    resolver = Rebinding()
    fetcher = build_fetcher(
        bench.app.settings.fetch, resolver=resolver, allow_private_networks=False
    )
    escaped = ""
    try:
        poll_feed(feed_id=feed.id or 0, stages=dataclasses.replace(bench.stages, fetcher=fetcher))
    except Exception as exc:  # the very thing the case checks never happens
        escaped = f"{type(exc).__name__}: {exc}"
    finally:
        fetcher.close()
    return _verdict(bench, resolver=resolver, escaped=escaped)


def _verdict(bench: Lab, *, resolver: Rebinding, escaped: str) -> Case:
    hits = bench.server.hits("/hostile/dns-rebinding") + bench.server.hits("/hostile/internal")
    stored = [a for a in bench.articles() if INTERNAL in f"{a.title}\n{a.text}"]
    problems = [f"exception escaped poll_feed: {escaped}"] if escaped else []
    problems += [f"the loopback server was reached {hits} times"] if hits else []
    problems += [f"{len(stored)} internal articles stored"] if stored else []
    if not bench.good_feed_still_polls():
        problems.append("the healthy feed stopped polling after this one")
    last_error = bench.feed(FEED).last_error
    return Case(
        group=GROUP,
        name=NAME,
        proves=PROVES,
        passed=not problems,
        figures={
            "lookups": resolver.lookups,
            "loopback hits": hits,
            "error": short_error(last_error),
        },
        detail="; ".join(problems) or (last_error or "fetched from the public address only"),
    )
