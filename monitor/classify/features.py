"""Structural features of an article: where and how the two sides are named together.

The features describe the *shape* of the coverage (both sides in the title, in the lead, in many
paragraphs, next to each other, near relation words, crowded by other countries), so they carry
over to unseen articles and to another pair of countries.
"""

from __future__ import annotations

import itertools
import math
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from monitor.classify.patterns import word_regex
from monitor.classify.sides import Gazetteer, Mention, lower_same_length
from monitor.classify.text import clean, paragraphs, sentences, strip_dateline

DEFAULT_CUES_FILE = Path(__file__).parent / "data" / "cues.toml"
LEAD_PARAGRAPHS = 2
CROWDED_PARAGRAPH_OTHERS = 3
SHORT_ITEM_WORDS = 150  # a feed summary or a two-paragraph lead, not a whole article
_JOINER = re.compile(r"^(?:\s|,|-|–|—|/|&|\band\b|'s|’s)*$", re.IGNORECASE)
_WORD = re.compile(r"\w+")
SIDE_A, SIDE_B = 0, 1

FEATURE_NAMES = (
    "title_both",
    "title_pair",
    "title_one_side",
    "title_other",
    "title_neighbour",
    "title_relation",
    "lead_both",
    "both_paragraphs",
    "both_paragraph_share",
    "both_sentences",
    "pair_mentions",
    "neighbour_pairs",
    "weaker_side_density",
    "pair_focus",
    "other_countries",
    "crowded_share",
    "relation_cues",
    "crowd_cues",
    "short_item",
    "short_title_both",
    "short_title_relation",
    "short_both_named",
    "short_title_neighbour",
    "short_one_side_only",
)


@dataclass(frozen=True, slots=True)
class Cues:
    relation: re.Pattern[str]
    crowd: re.Pattern[str]


def load_cues(path: Path = DEFAULT_CUES_FILE) -> Cues:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return Cues(relation=_word_pattern(data["relation"]), crowd=_word_pattern(data["crowd"]))


def _word_pattern(words: Sequence[str]) -> re.Pattern[str]:
    return word_regex(words)


@dataclass(frozen=True, slots=True)
class Evidence:
    """Counts behind the features, kept for the reasons."""

    title_sides: frozenset[int]
    both_paragraphs: int
    paragraphs: int
    pair_mentions: int
    neighbour_pairs: int
    side_mentions: tuple[int, int]
    other_mentions: int
    other_countries: int
    relation_cues: tuple[str, ...]
    short: bool
    item_sides: frozenset[int]
    title_others: int
    words: int


@dataclass(frozen=True, slots=True)
class Analysis:
    vector: tuple[float, ...]
    evidence: Evidence
    body: str


def analyse(*, title: str, text: str, gazetteer: Gazetteer, cues: Cues) -> Analysis:
    title = " ".join(clean(title).split())
    body = strip_dateline(clean(text))
    paras = paragraphs(body)
    para_mentions = [list(gazetteer.mentions(p)) for p in paras]
    title_mentions = list(gazetteer.mentions(title))
    evidence = _evidence(title, title_mentions, paras, para_mentions, cues)
    vector = _vector(title, title_mentions, paras, para_mentions, cues, evidence)
    vector += _short_vector(title, title_mentions, cues, evidence)
    return Analysis(vector=vector, evidence=evidence, body=body)


def _sides(mentions: Sequence[Mention]) -> frozenset[int]:
    return frozenset(m.entity for m in mentions if m.entity in (SIDE_A, SIDE_B))


def _has_both(mentions: Sequence[Mention]) -> bool:
    return len(_sides(mentions)) == 2


def _pairs(text: str, mentions: Sequence[Mention]) -> tuple[int, int]:
    """Adjacent mentions joined by 'and', a comma or a dash: (side+side, side+other)."""
    own = neighbour = 0
    for first, second in itertools.pairwise(mentions):
        if first.entity == second.entity or not _JOINER.match(text[first.end : second.start]):
            continue
        sides = {first.entity, second.entity} & {SIDE_A, SIDE_B}
        own += len(sides) == 2
        neighbour += len(sides) == 1
    return own, neighbour


def _evidence(
    title: str,
    title_mentions: list[Mention],
    paras: list[str],
    para_mentions: list[list[Mention]],
    cues: Cues,
) -> Evidence:
    pairs = [_pairs(p, m) for p, m in zip(paras, para_mentions, strict=True)]
    flat = [m for ms in para_mentions for m in ms]
    both = [p for p, m in zip(paras, para_mentions, strict=True) if _has_both(m)]
    found = [c.group(0) for p in both for c in cues.relation.finditer(lower_same_length(p))]
    words = sum(len(_WORD.findall(p)) for p in paras)
    return Evidence(
        title_sides=_sides(title_mentions),
        both_paragraphs=len(both),
        paragraphs=len(paras),
        pair_mentions=sum(p[0] for p in pairs),
        neighbour_pairs=sum(p[1] for p in pairs),
        side_mentions=(
            sum(m.entity == SIDE_A for m in flat),
            sum(m.entity == SIDE_B for m in flat),
        ),
        other_mentions=sum(m.entity > SIDE_B for m in flat),
        other_countries=len({m.entity for m in flat if m.entity > SIDE_B}),
        relation_cues=tuple(found),
        short=words <= SHORT_ITEM_WORDS,
        words=words,
        item_sides=_sides(title_mentions) | _sides(flat),
        title_others=len({m.entity for m in title_mentions if m.entity > SIDE_B}),
    )


def _short_vector(
    title: str, title_mentions: list[Mention], cues: Cues, ev: Evidence
) -> tuple[float, ...]:
    """What a headline and a short summary say: only non-zero for short items.

    A headline naming both sides is the strongest evidence a short item has; a headline naming
    one side next to a third country is a neighbouring relationship.
    """
    if not ev.short:
        return (0.0,) * 6
    title_both = len(ev.title_sides) == 2
    others = any(m.entity > SIDE_B for m in title_mentions)
    roster = len({m.entity for m in title_mentions if m.entity > SIDE_B}) >= 2
    return (
        1.0,
        float(title_both and not roster),
        float(title_both and bool(cues.relation.search(title.lower()))),
        float(len(ev.item_sides) == 2 and bool(ev.title_sides)),
        float(len(ev.title_sides) == 1 and others),
        float(len(ev.item_sides) == 1),
    )


def _log(value: float) -> float:
    return math.log1p(max(0.0, value))


def _vector(
    title: str,
    title_mentions: list[Mention],
    paras: list[str],
    para_mentions: list[list[Mention]],
    cues: Cues,
    ev: Evidence,
) -> tuple[float, ...]:
    title_pairs = _pairs(title, title_mentions)
    words = max(1, ev.words)
    side_total = sum(ev.side_mentions)
    both_sentences = _both_sentences(paras, para_mentions)
    crowded = _crowded_share(para_mentions)
    crowd_cues = sum(len(cues.crowd.findall(p.lower())) for p in paras[: LEAD_PARAGRAPHS + 2])
    return (
        float(len(ev.title_sides) == 2),
        float(title_pairs[0] > 0),
        float(len(ev.title_sides) == 1),
        float(any(m.entity > SIDE_B for m in title_mentions)),
        float(title_pairs[1] > 0),
        float(bool(ev.title_sides) and bool(cues.relation.search(title.lower()))),
        float(any(_has_both(m) for m in para_mentions[:LEAD_PARAGRAPHS])),
        _log(ev.both_paragraphs),
        ev.both_paragraphs / max(1, ev.paragraphs),
        _log(both_sentences),
        _log(ev.pair_mentions),
        _log(ev.neighbour_pairs),
        _log(100 * min(ev.side_mentions) / words),
        min(ev.side_mentions) / max(1, side_total + ev.other_mentions) * 2,
        _log(ev.other_countries),
        crowded,
        _log(len(ev.relation_cues)),
        _log(crowd_cues),
    )


def _both_sentences(paras: list[str], para_mentions: list[list[Mention]]) -> int:
    count = 0
    for para, mentions in zip(paras, para_mentions, strict=True):
        if _has_both(mentions):
            count += sum(_both_in(para, s, mentions) for s in sentences(para))
    return count


def _both_in(para: str, sentence: str, mentions: list[Mention]) -> bool:
    start = para.find(sentence)
    end = start + len(sentence)
    return len(_sides([m for m in mentions if start <= m.start < end])) == 2


def _crowded_share(para_mentions: list[list[Mention]]) -> float:
    both = [m for m in para_mentions if _has_both(m)]
    if not both:
        return 0.0
    crowded = [m for m in both if len({x.entity for x in m if x.entity > SIDE_B}) >= 3]
    return len(crowded) / len(both)
