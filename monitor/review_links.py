"""Links from alerts back to the review page (``[web] public_url``).

Each alert links to the story's page and carries a signed, expiring "not relevant" link. That
link only opens a confirmation page whose button POSTs, so a mail scanner that follows every
link judges nothing. The signature is an HMAC-SHA256 of ``article id:verdict:expiry`` under a
key derived from ``MONITOR_WEB_TOKEN`` (the daemon that sends alerts and ``monitor web`` must
share it); without a token the page is open to whoever can reach it, and the signature only
guards against typos and stale links.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime

from monitor.errors import LinkError

TOKEN_ENV = "MONITOR_WEB_TOKEN"
VERDICT = "irrelevant"
SIGNATURE_CHARS = 32
_NO_TOKEN_KEY = b"monitor-review-links-without-token"


def link_key(token: str | None) -> bytes:
    """The signing key: derived from the web token, never the token itself."""
    if token is None:
        return _NO_TOKEN_KEY
    return hmac.new(token.encode(), b"monitor-review-links", hashlib.sha256).digest()


def signature(*, key: bytes, article_id: int, expires: int) -> str:
    message = f"{article_id}:{VERDICT}:{expires}".encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:SIGNATURE_CHARS]


def check(*, key: bytes, article_id: int, expires: int, sig: str, now: datetime) -> None:
    """Raise ``LinkError`` unless ``sig`` signs this article and the link has not expired."""
    if not hmac.compare_digest(sig, signature(key=key, article_id=article_id, expires=expires)):
        raise LinkError("web: this link is not valid (altered, or signed with another token)")
    if now.timestamp() > expires:
        raise LinkError("web: this link has expired; judge the article on its page instead")


@dataclass(frozen=True, slots=True)
class ReviewLinks:
    """Builds the review page's absolute URLs for alerts."""

    public_url: str
    key: bytes
    ttl_seconds: float

    def article(self, article_id: int) -> str:
        return f"{self.public_url.rstrip('/')}/articles/{article_id}"

    def not_relevant(self, article_id: int, *, now: datetime) -> str:
        expires = int(now.timestamp() + self.ttl_seconds)
        sig = signature(key=self.key, article_id=article_id, expires=expires)
        return f"{self.public_url.rstrip('/')}/judge/{article_id}/{expires}/{sig}"
