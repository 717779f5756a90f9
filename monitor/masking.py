"""Secrets hidden in free text: the one masking function, and the logging filter that applies it
to every log line (the monitor's own, apprise's debug lines, requests', uvicorn's).

What counts as a secret: the password of a URL's user info, the token path of Slack and Discord
webhooks (``hooks.slack.com/services/T…/B…/…``, ``slack://…``, ``discord.com/api/webhooks/…``,
``discord://…``, also as a bare path), apprise's custom-header, payload and GET arguments
(``+X-Api-Key=``, ``:field=``, ``-param=``), and the value of any parameter named like a key,
token, secret, password, authorisation, signature or credential (``apikey=``, ``token=``,
``password=``, ``key=``).
"""

from __future__ import annotations

import logging
import re

MASK = "***"
SECRET_WORDS = ("key", "token", "secret", "pass", "auth", "sig", "cred")
_VALUE = r"[^\s&'\"<>,;)}\]]+"
_WORDS = "|".join(SECRET_WORDS)
# (pattern, replacement): each keeps what names the secret and replaces the secret itself
_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    # user:password@ in any URL
    (re.compile(r"(\b[a-z][a-z0-9+.-]*://[^\s:/@'\"]*:)[^\s@/'\"]+(?=@)", re.I), rf"\g<1>{MASK}"),
    # webhook token paths, with or without their host (requests' errors print the path alone)
    (re.compile(r"((?:hooks\.slack\.com)?/services/)T\w+/B\w+/[^\s?#'\"]+"), rf"\g<1>{MASK}"),
    (re.compile(r"((?:discord(?:app)?\.com)?/api/webhooks/)\d+/[^\s?#'\"]+"), rf"\g<1>{MASK}"),
    (re.compile(r"(\b(?:slack|discord)://)[^\s?#'\"]+", re.I), rf"\g<1>{MASK}"),
    # apprise's header (+ or %2B), payload (:) and extra GET (-) arguments of a query string
    (re.compile(rf"([?&](?:\+|%2B|-|:|%3A)[^=&\s]+=){_VALUE}", re.I), rf"\g<1>{MASK}"),
    # any parameter named like a secret, in a query string or free text
    (re.compile(rf"(\b[\w.-]*(?:{_WORDS})[\w.-]*=){_VALUE}", re.I), rf"\g<1>{MASK}"),
)


def mask_secrets(text: str) -> str:
    """``text`` with every secret it holds replaced by ``***``."""
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text


def is_secret_parameter(name: str) -> bool:
    """Whether a query parameter's value is a secret (apprise's +/-/: arguments, or its name)."""
    return name[:1] in "+-:" or any(word in name.lower() for word in SECRET_WORDS)


class SecretMaskingFilter(logging.Filter):
    """Masks the formatted message (arguments included) and the traceback of every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            record.msg = mask_secrets(record.getMessage())
        except Exception:  # a malformed call: the handler reports it, with nothing formatted
            record.msg = mask_secrets(str(record.msg))
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_secrets(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_secrets(record.stack_info)
        return True


def install_masking_filter(logger: logging.Logger | None = None) -> None:
    """Put the filter on every handler of ``logger`` (the root logger by default), once."""
    for handler in (logger or logging.getLogger()).handlers:
        if not any(isinstance(f, SecretMaskingFilter) for f in handler.filters):
            handler.addFilter(SecretMaskingFilter())
