"""The newest matches as an Atom 1.0 document (RFC 4287), for feed readers."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import datetime

from monitor.links import web_url
from monitor.models import utcnow
from monitor.store.matches import ReviewRow
from monitor.web.render import as_utc

ATOM_NS = "http://www.w3.org/2005/Atom"
SUMMARY_CHARS = 600
# Characters XML 1.0 cannot carry at all; third-party text sometimes has them.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def render_atom(rows: Sequence[ReviewRow], *, base_url: str, title: str) -> bytes:
    """``base_url`` ends with ``/``; each entry links to the article and to its review page."""
    feed = ET.Element("feed", xmlns=ATOM_NS)
    _text(feed, "id", base_url + "feed.xml")
    _text(feed, "title", title)
    newest = max((as_utc(r.match.created_at) or utcnow() for r in rows), default=utcnow())
    _text(feed, "updated", _stamp(newest))
    ET.SubElement(feed, "link", rel="self", type="application/atom+xml", href=base_url + "feed.xml")
    ET.SubElement(feed, "link", rel="alternate", type="text/html", href=base_url)
    _text(ET.SubElement(feed, "author"), "name", "monitor")
    _text(feed, "generator", "monitor")
    for row in rows:
        _entry(feed, row, base_url=base_url)
    return ET.tostring(feed, encoding="utf-8", xml_declaration=True)


def _entry(feed: ET.Element, row: ReviewRow, *, base_url: str) -> None:
    article = row.article
    entry = ET.SubElement(feed, "entry")
    _text(entry, "id", article.canonical_url or article.url)
    _text(entry, "title", article.title or article.url)
    _text(entry, "updated", _stamp(as_utc(row.match.created_at) or utcnow()))
    if article.published is not None:
        _text(entry, "published", _stamp(as_utc(article.published) or utcnow()))
    review = f"{base_url}articles/{article.id}"
    source = web_url(article.url)
    ET.SubElement(entry, "link", rel="alternate", type="text/html", href=source or review)
    if source:
        ET.SubElement(entry, "link", rel="related", type="text/html", href=review)
    _text(ET.SubElement(entry, "author"), "name", row.feed.name)
    ET.SubElement(entry, "category", term=row.feed.name)
    reasons = article.reason_list()
    _text(entry, "summary", _summary(article.text, score=row.match.score, reasons=reasons))


def _summary(text: str, *, score: float, reasons: list[str]) -> str:
    excerpt = text[:SUMMARY_CHARS] + ("…" if len(text) > SUMMARY_CHARS else "")
    why = "; ".join(reasons)
    return f"score {score:.2f}" + (f" ({why})" if why else "") + "\n\n" + excerpt


def _text(parent: ET.Element, tag: str, value: str) -> None:
    ET.SubElement(parent, tag).text = _NOT_XML.sub("", value)


def _stamp(when: datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")
