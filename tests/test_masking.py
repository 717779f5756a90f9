"""Secrets are masked in every log line at every verbosity: the masking function on a table of
lines, the logging filter on records, and ``monitor -v alerts test`` as a real subprocess whose
destinations carry secrets (a JSON webhook on a real local server, a real SMTP server, Slack and
Discord webhooks sent through a dead proxy)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.masking import SecretMaskingFilter, mask_secrets
from tests.httpserver import FeedServer, Route
from tests.smtpserver import SMTPServer, free_port
from tests.support import write_config

# (case, log line, the secret that must go, what must stay)
LINES = [
    ("url password", "connect smtps://desk:hunter2@mail.example.org:465", "hunter2", "desk:***@"),
    ("masked twice", "json://u:****@127.0.0.1/hook", "****@", "u:***@"),
    (
        "slack webhook",
        "POST https://hooks.slack.com/services/T0AAA/B0BBB/xoxsecret123 (cert_verify=True)",
        "xoxsecret123",
        "hooks.slack.com/services/*** (cert",
    ),
    ("slack path alone", "with url: /services/T0AAA/B0BBB/xoxsecret123 (Caused", "B0BBB", "url: "),
    ("slack apprise url", "slack://T0AAA/B0BBB/xoxsecret123/#general", "xoxsecret123", "slack://"),
    (
        "discord webhook",
        "https://discord.com/api/webhooks/12345/dtoken-abc_DEF",
        "dtoken-abc_DEF",
        "webhooks/***",
    ),
    ("discord apprise url", "discord://12345/dtoken-abc_DEF/", "dtoken-abc_DEF", "discord://"),
    ("header arg", "json://h/hook?method=POST&+X-Api-Key=hdr-secret&x=1", "hdr-secret", "&x=1"),
    ("header arg encoded", "json://h/?a=b&%2BX-Api-Key=hdr-secret", "hdr-secret", "%2BX-Api-Key="),
    ("payload arg", "json://h/?:token=pay-secret", "pay-secret", "?:token=***"),
    ("get arg", "json://h/hook?-apikey=get-secret&-foo=plain", "get-secret", "-foo=***"),
    ("apikey query", "with url: /hook?apikey=q-secret (Caused by", "q-secret", "apikey=*** (C"),
    ("token query", "GET /x?page=2&token=t-secret", "t-secret", "page=2&token=***"),
    ("password in text", "login password=p-secret failed", "p-secret", "login password=***"),
    ("key in text", "key=k-secret, retrying", "k-secret", "key=***, retrying"),
    ("secret in text", "client_secret=c-secret", "c-secret", "client_secret=***"),
]


@pytest.mark.parametrize(
    ("line", "secret", "kept"), [c[1:] for c in LINES], ids=[c[0] for c in LINES]
)
def test_mask_secrets(line: str, secret: str, kept: str) -> None:
    masked = mask_secrets(line)
    assert secret not in masked and kept in masked, masked


@pytest.mark.parametrize(
    "line",
    [
        "fetch: feed not modified (https://www.dawn.com/feeds/home)",
        "scheduler: 16 feeds, next poll in 5s",
        "Loaded E-Mail URL: mailto://127.0.0.1:25/desk%40example.org?from=m%40example.org",
    ],
)
def test_lines_without_secrets_are_unchanged(line: str) -> None:
    assert mask_secrets(line) == line


def test_the_filter_masks_arguments_and_tracebacks() -> None:
    try:
        raise ConnectionError("refused: https://hooks.slack.com/services/T1/B2/tb-secret")
    except ConnectionError:
        record = logging.LogRecord(
            "apprise", logging.DEBUG, __file__, 1, "POST %s", ("json://u:arg-secret@h/",), None
        )
        record.exc_info = sys.exc_info()
    assert SecretMaskingFilter().filter(record)
    shown = logging.Formatter().format(record)
    assert "arg-secret" not in shown and "tb-secret" not in shown, shown
    assert "POST json://u:***@h/" in shown and "ConnectionError" in shown


# --- from outside: `monitor -v alerts test` ---------------------------------------------------

SLACK = ("T0SECRETAA", "B0SECRETBB", "slackSecretToken0123456789")
DISCORD_TOKEN = "discordSecretToken-0123456789"
JSON_PASSWORD = "jsonPa55-secret"
HEADER_SECRET = "headerSecret-0123"
APIKEY = "apikeySecret-4567"
MAIL_PASSWORD = "mailPa55-secret"
SECRETS = (*SLACK, DISCORD_TOKEN, JSON_PASSWORD, HEADER_SECRET, APIKEY, MAIL_PASSWORD)


@pytest.fixture
def smtp() -> Iterator[SMTPServer]:
    server = SMTPServer().start()
    yield server
    server.stop()


def _alert_urls(*, webhook: FeedServer, smtp: SMTPServer) -> list[str]:
    port = webhook.httpd.server_address[1]
    return [
        "slack://{}/{}/{}/#general".format(*SLACK),
        "https://hooks.slack.com/services/{}/{}/{}".format(*SLACK),
        f"discord://1234567890/{DISCORD_TOKEN}",
        f"json://desk:{JSON_PASSWORD}@127.0.0.1:{port}/hook"
        f"?+X-Api-Key={HEADER_SECRET}&-apikey={APIKEY}",
        f"mailto://desk:{MAIL_PASSWORD}@127.0.0.1:{smtp.port}"
        "?from=monitor@example.org&to=desk@example.org",
    ]


def _config(tmp_path: Path, *, urls: list[str]) -> Path:
    storage = f"sqlite:///{tmp_path / 'monitor.db'}"
    return write_config(tmp_path, storage=storage, fetch={}, alerts=urls)


def test_verbose_alerts_test_prints_no_secret(
    tmp_path: Path, server: FeedServer, smtp: SMTPServer
) -> None:
    server.routes["/hook"] = Route(body=b"{}", content_type="application/json")
    config = _config(tmp_path, urls=_alert_urls(webhook=server, smtp=smtp))
    dead_proxy = f"http://127.0.0.1:{free_port()}"  # Slack and Discord fail fast, offline
    done = subprocess.run(
        [sys.executable, "-m", "monitor", "-v", "--config", str(config), "alerts", "test"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "HTTPS_PROXY": dead_proxy, "NO_PROXY": "127.0.0.1"},
    )
    shown = done.stdout + done.stderr
    assert "DEBUG" in shown and "Loaded JSON URL" in shown, "apprise's debug lines are not shown"
    posted = [r for r in server.requests if r.path.startswith("/hook")]
    assert posted and posted[0].headers.get("X-Api-Key") == HEADER_SECRET, "webhook not sent"
    assert [s for s in SECRETS if s in shown] == [], shown


def test_error_lines_print_no_secret(tmp_path: Path) -> None:
    """A feed URL carrying an API key, added twice: the error line names it, masked."""
    config = _config(tmp_path, urls=[])
    url = f"https://example.org/rss?apikey={APIKEY}"
    command = [sys.executable, "-m", "monitor", "--config", str(config), "feeds", "add", url]
    command.append("--no-check")  # example.org is not fetched
    runs = [
        subprocess.run([*command, "--name", "dup"], capture_output=True, text=True, timeout=120)
        for _ in range(2)
    ]
    assert runs[-1].returncode != 0 and "error:" in runs[-1].stderr, runs[-1].stderr
    assert all(APIKEY not in run.stdout + run.stderr for run in runs[1:]), runs[-1].stderr
