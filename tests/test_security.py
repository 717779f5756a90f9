"""Secrets never leave the process, and article content never leaves its text node.

Secrets (alert URLs with passwords or tokens, the database password, ``MONITOR_WEB_TOKEN``) are
planted in the configuration; every output a person or another program can see is then searched
for them: ``config show`` and the other commands, their error messages, the logs, the database,
the web pages and the API. Hostile titles, texts and links are stored and rendered in the web
page, the Atom feed, the API and the alert emails; the rendered HTML is parsed and must hold no
element or attribute the content brought in.
"""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Iterator
from pathlib import Path

import lxml.etree
import lxml.html
import pytest
from sqlmodel import SQLModel
from typer.testing import CliRunner, Result

from monitor import notify
from monitor.app import App, build_app
from monitor.cli import app as cli
from monitor.masking import SecretMaskingFilter
from monitor.models import AlertItem, Article, OutboxPolicy
from monitor.outbox import deliver_due
from monitor.settings import AlertSettings
from monitor.web import create_app
from tests.conftest import make_settings, query
from tests.smtpserver import free_port
from tests.support import write_config
from tests.test_web import Client

runner = CliRunner()
PASSWORD = "pa55-Hunter2-xyzzy"
TOKEN = "tok3nAbCdEfGh1234567890"
WEB_TOKEN = "web-token-correct-horse-battery-staple-77"
DB_PASSWORD = "db-Pa55-swordfish-42"
SECRETS = (PASSWORD, TOKEN, WEB_TOKEN, DB_PASSWORD)
DEAD = free_port()  # nothing listens here: every delivery fails

ALERT_URLS = [
    # (name, an apprise URL with a secret in it, pointing at a dead local port)
    ("json basic auth", f"json://alice:{PASSWORD}@127.0.0.1:{DEAD}/hook"),
    ("json token query", f"json://127.0.0.1:{DEAD}/hook?:X-Api-Key={TOKEN}"),
    ("xml basic auth", f"xml://alice:{PASSWORD}@127.0.0.1:{DEAD}/hook"),
    ("form basic auth", f"form://alice:{PASSWORD}@127.0.0.1:{DEAD}/hook"),
    ("ntfy password", f"ntfy://alice:{PASSWORD}@127.0.0.1:{DEAD}/topic"),
    ("gotify token", f"gotify://127.0.0.1:{DEAD}/{TOKEN}"),
    (
        "email password",
        f"mailto://alice:{PASSWORD}@example.org?smtp=127.0.0.1&port={DEAD}&to=ops@example.org",
    ),
]


def everything(result: Result, caplog: pytest.LogCaptureFixture) -> str:
    """All a command showed: its output, stderr, an escaping exception, and the log records."""
    shown = [result.output, result.stderr if result.stderr_bytes is not None else ""]
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        shown += traceback.format_exception(result.exception)
    return "\n".join(shown) + logged(caplog)


def logged(caplog: pytest.LogCaptureFixture) -> str:
    return "\n".join(f"{r.getMessage()} {r.exc_text or ''}" for r in caplog.records)


def leaked(text: str) -> list[str]:
    return [s for s in SECRETS if s in text]


PRIVATE_ONLY = {"allow_private_networks": True}  # [fetch] without a timeout


def security_config(tmp_path: Path, *, storage: str, alerts: list[str]) -> Path:
    return write_config(tmp_path, storage=storage, fetch=PRIVATE_ONLY, alerts=alerts)


def invoke(config: Path, *args: str) -> Result:
    return runner.invoke(
        cli, ["--config", str(config), *args], env={"MONITOR_WEB_TOKEN": WEB_TOKEN}
    )


@pytest.fixture(autouse=True)
def _debug_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)


# --- secrets in commands, errors and logs ----------------------------------------------------


@pytest.mark.parametrize(("name", "url"), ALERT_URLS)
def test_config_show_hides_alert_and_database_secrets(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, name: str, url: str
) -> None:
    storage = f"postgresql+psycopg://monitor:{DB_PASSWORD}@127.0.0.1:{DEAD}/monitor"
    result = invoke(security_config(tmp_path, storage=storage, alerts=[url]), "config", "show")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["alerts"]["urls"], "the alert URL is not shown at all"
    assert leaked(everything(result, caplog)) == []


DB_COMMANDS = [["status"], ["poll", "--once"], ["db", "status"], ["db", "upgrade"]]


@pytest.mark.parametrize("args", DB_COMMANDS, ids=" ".join)
def test_unreachable_database_errors_hide_its_password(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, args: list[str]
) -> None:
    storage = f"postgresql+psycopg://monitor:{DB_PASSWORD}@127.0.0.1:{DEAD}/monitor"
    result = invoke(security_config(tmp_path, storage=storage, alerts=[]), *args)
    shown = everything(result, caplog)
    assert result.exit_code != 0 and "error:" in shown, shown
    assert "Traceback" not in result.output
    assert leaked(shown) == []


@pytest.mark.parametrize(("name", "url"), ALERT_URLS)
def test_failing_alert_destination_reports_without_its_secret(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, name: str, url: str
) -> None:
    (destination,) = notify.load_destinations(urls=[url])
    sent = notify.send(destination, notify.Renderer().test())
    cli_result = invoke(security_config(tmp_path, storage=_sqlite(tmp_path), alerts=[url]), *ALERTS)
    assert not sent.ok and sent.error and cli_result.exit_code == 1
    shown = [sent.error, sent.destination, repr(destination), everything(cli_result, caplog)]
    assert leaked("\n".join(shown)) == []


ALERTS = ("alerts", "test")


def _sqlite(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'monitor.db'}"


@pytest.fixture
def alerting_app(tmp_path: Path) -> Iterator[App]:
    settings = make_settings(tmp_path, feeds=[{"name": "News", "url": "http://127.0.0.1/f"}])
    settings.alerts = AlertSettings(urls=[url for _name, url in ALERT_URLS])
    application = build_app(settings)
    yield application
    application.close()


def test_failed_deliveries_keep_secrets_out_of_logs_database_and_listing(
    alerting_app: App, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    policy = OutboxPolicy(destinations=alerting_app.outbox.keys)
    alerting_app.store.save_article(article=_article(alerting_app, title="Wheat"), outbox=policy)
    caplog.handler.addFilter(SecretMaskingFilter())  # what the CLI's logging set-up installs

    report = deliver_due(alerting_app.outbox)

    assert report.sent == 0 and report.failed + report.retrying == len(ALERT_URLS), report
    shown_errors = "\n".join(report.errors)
    config = security_config(tmp_path, storage=alerting_app.settings.storage.url, alerts=[])
    listing = invoke(config, "alerts", "list")
    dump = database_text(alerting_app.settings.storage.url)
    assert "failed" in listing.output or "retry" in listing.output, listing.output
    assert leaked(dump) == [] and leaked(shown_errors) == []
    assert leaked(everything(listing, caplog)) == []


def database_text(url: str) -> str:
    """Every row of every table, as text (SQLite or PostgreSQL)."""
    rows = [query(url, f"SELECT * FROM {t.name}") for t in SQLModel.metadata.sorted_tables]
    assert any(rows), "the database is empty"
    return "\n".join(repr(row) for table in rows for row in table)


def _article(app: App, *, title: str, text: str = "Wheat prices rose.", url: str = "") -> Article:
    feed = app.store.feeds()[0]
    url = url or f"https://news.example.org/{abs(hash(title))}"
    return Article(
        feed_id=feed.id or 0,
        entry_key=f"url:{url}",
        canonical_url=url,
        url=url,
        title=title,
        text=text,
        extraction="trafilatura",
        score=0.9,
        relevant=True,
        reasons=json.dumps([title]),
    )


# --- secrets in the web page -----------------------------------------------------------------

WEB_PATHS = ["/", "/feeds", "/articles/1", "/feed.xml", "/api/matches", "/healthz", "/metrics"]


def test_web_pages_and_api_never_show_the_token_or_alert_secrets(
    alerting_app: App, caplog: pytest.LogCaptureFixture
) -> None:
    alerting_app.store.save_article(article=_article(alerting_app, title="Wheat"))
    client = Client(create_app(app=alerting_app, token=WEB_TOKEN))
    try:
        anonymous = [client.get(path) for path in WEB_PATHS]
        login = client.post("/login", data={"token": WEB_TOKEN, "csrf": "x"})
        wrong = client.post("/login", data={"token": WEB_TOKEN[:-1]})
        bearer = {"Authorization": f"Bearer {WEB_TOKEN}"}
        pages = [client.get(path, headers=bearer) for path in WEB_PATHS]
    finally:
        client.close()
    assert [p.status_code for p in pages] == [200] * len(WEB_PATHS)
    shown = [logged(caplog)]
    for response in [*anonymous, login, wrong, *pages]:
        shown.append(response.text)
        shown += [f"{k}: {v}" for k, v in response.headers.items()]
    assert leaked("\n".join(shown)) == []


# --- article content in the web page, the Atom feed, the API and emails ----------------------

PAYLOADS = [
    ("script element", '<script>alert("xss")</script>'),
    ("attribute break-out", '"><img src=x onerror=alert(1)>'),
    ("single-quote break-out", "'><svg onload=alert(1)></svg>"),
    ("textarea break-out", "</textarea><iframe src=javascript:alert(1)></iframe>"),
    ("title break-out", "</title><script>alert(1)</script>"),
    ("CDATA break-out", "]]></title><script>alert(1)</script><![CDATA["),
    ("entity smuggling", "&lt;script&gt;alert(1)&lt;/script&gt; &#60;b&#62;"),
]
# none of these is in the page's or the emails' own templates
FORBIDDEN_TAGS = {"script", "iframe", "object", "embed", "base", "textarea", "img", "frame"}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href"}
OWN_SCRIPT = "/static/page.js"  # the page's own (theme toggle, keys); nothing else may run


def injected(html: str) -> list[str]:
    """Elements and attributes in ``html`` that only injected content would bring."""
    found = []
    for element in lxml.html.document_fromstring(html).iter():
        if not isinstance(element.tag, str):
            continue
        own = element.tag == "script" and element.get("src") == OWN_SCRIPT and not element.text
        if element.tag in FORBIDDEN_TAGS and not own:
            found.append(f"<{element.tag}>")
        for name, value in element.attrib.items():
            if name.lower().startswith("on"):
                found.append(f"<{element.tag} {name}>")
            if name in URL_ATTRIBUTES and value.strip().lower().startswith(
                ("javascript:", "data:")
            ):
                found.append(f"<{element.tag} {name}={value}>")
    return found


@pytest.mark.parametrize(("name", "payload"), PAYLOADS)
def test_hostile_article_content_is_inert_in_the_web_page(
    alerting_app: App, name: str, payload: str
) -> None:
    article = _article(alerting_app, title=f"Wheat {payload}", text=f"Prices {payload} rose.")
    article.url = "javascript:alert(document.cookie)"
    alerting_app.store.save_article(article=article)
    alerting_app.store.record_failure(
        feed_id=article.feed_id,
        error=f"fetch: {payload}",
        status=None,
        retry_after=None,
        now=article.fetched_at,
    )
    client = Client(create_app(app=alerting_app, token=None))
    try:
        pages = {p: client.get(p) for p in ["/", "/?q=wheat", f"/articles/{article.id}", "/feeds"]}
        atom = client.get("/feed.xml")
        api = client.get("/api/matches")
    finally:
        client.close()
    for path, response in pages.items():
        assert response.status_code == 200, path
        assert injected(response.text) == [], (path, injected(response.text))
    text = lxml.html.document_fromstring(pages[f"/articles/{article.id}"].text).text_content()
    assert f"Wheat {payload}" in text and f"Prices {payload} rose." in text
    entry_titles = lxml.etree.fromstring(atom.content).findall(".//{*}entry/{*}title")
    assert [t.text for t in entry_titles] == [f"Wheat {payload}"]
    assert api.json()["items"][0]["title"] == f"Wheat {payload}"


@pytest.mark.parametrize(("name", "payload"), PAYLOADS)
def test_hostile_article_content_is_inert_in_alert_emails(name: str, payload: str) -> None:
    item = AlertItem(
        alert_ids=(),
        article_id=1,
        title=f"Wheat {payload}",
        url="javascript:alert(document.cookie)",
        source=f"Source {payload}",
        published=None,
        score=0.9,
        excerpt=f"Prices {payload} rose.",
        reasons=(payload,),
        also=(f"Other {payload} (javascript:alert(2))",),
    )
    renderer = notify.Renderer()
    for message in (renderer.match(item), renderer.digest([item, item])):
        assert injected(message.html) == [], injected(message.html)
        text = lxml.html.document_fromstring(message.html).text_content()
        assert f"Wheat {payload}" in text and f"Prices {payload} rose." in text
        assert "\n" not in message.subject
        assert "javascript:alert(document.cookie)" not in message.markdown
