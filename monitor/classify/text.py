"""Plain text from whatever the pipeline hands over: HTML left in, huge inputs, odd characters.

Every function here accepts any ``str`` and returns a bounded, cleaned value; nothing raises.
"""

from __future__ import annotations

import html
import re

MAX_INPUT_CHARS = 1_000_000
MAX_TEXT_CHARS = 120_000
LONG_PARAGRAPH_WORDS = 150
SENTENCES_PER_CHUNK = 3

_SCRIPT = re.compile(r"<(script|style|noscript)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
_BLOCK = re.compile(r"<\s*/?\s*(p|br|div|li|h[1-6]|tr|section|article|blockquote)\b[^>]*>", re.I)
_TAG = re.compile(r"<[^>]{0,2000}>")
_DATELINE = re.compile(r"^\s*[A-Z][A-Z .'’-]{1,40}(?:,[^:\n]{0,40})?:\s*")
_PARAGRAPH_BREAK = re.compile(r"\s*\n\s*")
_SENTENCE_BREAK = re.compile(r"(?<=[.!?…])[\"'”’)]*\s+(?=[\"'“‘(]*[A-Z0-9])")
_SPACES = re.compile(r"[ \t\r\f\v\u00a0]+")


def clean(text: str) -> str:
    """Drop markup and entities, bound the length, normalise spaces; keep line breaks."""
    text = text[:MAX_INPUT_CHARS]
    if "<" in text and ">" in text:
        text = _TAG.sub(" ", _BLOCK.sub("\n", _SCRIPT.sub(" ", text)))
    if "&" in text:
        text = html.unescape(text)
    text = _SPACES.sub(" ", text.replace("\x00", " "))
    return text[:MAX_TEXT_CHARS].strip()


def strip_dateline(text: str) -> str:
    """Remove a leading wire dateline such as ``ISLAMABAD, Jul 8 (APP):``."""
    return _DATELINE.sub("", text, count=1)


def paragraphs(text: str) -> list[str]:
    """Non-empty paragraphs; a long run without line breaks is cut into a few sentences each."""
    found: list[str] = []
    for block in _PARAGRAPH_BREAK.split(text):
        if not block:
            continue
        if len(block.split()) > LONG_PARAGRAPH_WORDS:
            found.extend(_chunks(sentences(block)))
        else:
            found.append(block)
    return found


def _chunks(items: list[str]) -> list[str]:
    size = SENTENCES_PER_CHUNK
    return [" ".join(items[i : i + size]) for i in range(0, len(items), size)]


def sentences(paragraph: str) -> list[str]:
    return [s for s in _SENTENCE_BREAK.split(paragraph) if s.strip()]
