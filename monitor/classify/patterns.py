"""Fast regular expressions for long word lists: a prefix tree turned into one pattern.

Python's ``re`` tries every alternative of ``a|b|c`` at every position; nesting the words by
shared prefixes (``pak(?:istan(?:is?)?)?``) lets it give up after one or two characters.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_END = ""
Trie = dict[str, "Trie"]


def trie_pattern(words: Iterable[str]) -> str:
    """A pattern matching exactly the given words, longest match first."""
    trie: Trie = {}
    for word in words:
        node = trie
        for char in word:
            node = node.setdefault(char, {})
        node[_END] = {}
    return _render(trie)


def _render(node: Trie) -> str:
    branches = [_escape(c) + _render(child) for c, child in sorted(node.items()) if c != _END]
    optional = _END in node
    if not branches:
        return ""
    body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    if optional:
        return body + "?" if len(branches) == 1 and len(branches[0]) == 1 else f"(?:{body})?"
    return body


def _escape(char: str) -> str:
    return r"\s+" if char == " " else re.escape(char)


def word_regex(words: Iterable[str]) -> re.Pattern[str]:
    """Whole-word matches of the words, to be run on lower-cased text."""
    body = trie_pattern(sorted({" ".join(w.lower().split()) for w in words if w.strip()}))
    return re.compile(rf"(?<![\w.])(?:{body})(?!\w)" if body else r"(?!x)x")
