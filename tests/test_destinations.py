"""Alert destinations by stable name: an edited URL takes its queued and failed alerts along."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from monitor.errors import ConfigError
from monitor.notify import derived_name, load_destinations
from tests.conftest import database_url, publish, query, seed_pages
from tests.daemonproc import run_monitor
from tests.httpserver import FeedServer
from tests.smtpserver import SMTPServer, free_port
from tests.support import write_config


@pytest.fixture
def smtp() -> Iterator[SMTPServer]:
    server = SMTPServer().start()
    yield server
    server.stop()


def smtp_url(port: int) -> str:
    return f"mailto://127.0.0.1:{port}?from=monitor@example.org&to=desk@example.org"


def named(url: str) -> dict[str, Any]:
    return {"destinations": [{"name": "desk", "url": url}]}


def plain(url: str) -> dict[str, Any]:
    return {"alerts": [url]}


def destination_config(tmp_path: Path, *, feed_url: str, alerts: dict[str, Any]) -> Path:
    return write_config(
        tmp_path,
        storage=database_url(tmp_path),
        scheduler={"extract_processes": 0},
        feeds={"Local news": feed_url},
        alert_options={"give_up_after": "1ms"},  # a failed send is given up at once: `alerts retry`
        **alerts,
    )


@pytest.mark.parametrize("style", [named, plain], ids=["named", "plain-urls"])
def test_a_fixed_destination_url_delivers_the_stranded_alerts_once(
    server: FeedServer, smtp: SMTPServer, tmp_path: Path, style: object
) -> None:
    assert callable(style)
    feed = publish(server, feed_path="/news.xml", pages=seed_pages()[:2])
    wrong, right = smtp_url(free_port()), smtp_url(smtp.port)
    config = destination_config(tmp_path, feed_url=feed, alerts=style(wrong))
    polled = run_monitor("--config", str(config), "poll", "--once", cwd=tmp_path)
    assert polled.returncode == 0 and "2 failed" in polled.stdout, polled.stdout + polled.stderr
    db = database_url(tmp_path)
    assert query(db, "SELECT status FROM alert") == [("failed",), ("failed",)]

    config.write_text(config.read_text(encoding="utf-8").replace(wrong, right), encoding="utf-8")
    retried = run_monitor("--config", str(config), "alerts", "retry", cwd=tmp_path)
    assert retried.returncode == 0 and "queued 2 alert(s) again" in retried.stdout
    assert "2 sent" in retried.stdout, retried.stdout + retried.stderr
    for again in (["alerts", "retry"], ["poll", "--once"]):
        assert run_monitor("--config", str(config), *again, cwd=tmp_path).returncode == 0
    assert len(smtp.messages) == 2 and len(set(smtp.subjects())) == 2
    assert query(db, "SELECT status FROM alert") == [("sent",), ("sent",)]


DERIVED = [  # (apprise privacy rendering, stable name)
    ("mailtos://me:****@smtp.example.org:2525/desk%40example.org", "mailtos://smtp.example.org"),
    ("mailto://127.0.0.1:1025/desk%40example.org", "mailto://127.0.0.1"),
    ("slack://T...A/T...B/T...C/%23chan/", "slack://T...A"),
    ("json://user:****@[::1]:8080/path", "json://[::1]"),
]


@pytest.mark.parametrize(("display", "name"), DERIVED)
def test_plain_urls_are_named_by_scheme_and_host(display: str, name: str) -> None:
    assert derived_name(display) == name


def test_names_are_stable_unique_and_hide_secrets() -> None:
    urls = [smtp_url(1025), smtp_url(2025), "slack://TokenA/TokenB/TokenC/#chan"]
    found = load_destinations(named=[("desk", smtp_url(3025))], urls=urls)
    assert [d.key for d in found] == [
        "desk",
        "mailto://127.0.0.1",
        "mailto://127.0.0.1 #2",
        "slack://T...A",
    ]
    assert all("TokenB" not in d.key and "TokenB" not in d.display for d in found)


def test_duplicate_destination_names_are_exit_2(tmp_path: Path) -> None:
    twice = [{"name": "desk", "url": smtp_url(port)} for port in (1, 2)]
    config = write_config(tmp_path, storage="sqlite:///monitor.db", destinations=twice)
    done = run_monitor("--config", str(config), "config", "show", cwd=tmp_path)
    assert done.returncode == 2 and "duplicate destination name: desk" in done.stderr


def test_an_unknown_named_url_names_the_destination() -> None:
    with pytest.raises(ConfigError, match=r"alerts.destinations.0.url: apprise does not"):
        load_destinations(named=[("desk", "nosuchservice://x")])
