"""Contrast examples invented from the positive examples, so a few seeds are enough to learn.

A positive article about the two sides becomes a *neighbouring relationship* when one side's words
are swapped for another country's (Pakistan–Russia -> Pakistan–China), a *passing mention* when a
paragraph or two keep the original side, a *single side* when one side's words are swapped for a
neutral phrase, and a *roster* when both sides only appear in a list of many countries. Every
example and contrast also yields its *short forms* (headline alone; headline and two paragraphs),
as feeds deliver them: positive only while the short form still names both sides. Each variant
keeps the seed's wording, so what separates them is the structure the features measure.
Everything is drawn from a seeded generator: same seeds, same examples.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from monitor.classify.sides import Gazetteer, Other
from monitor.classify.text import clean, paragraphs

NEIGHBOURS_PER_SEED = 4
ROSTER_MIN, ROSTER_MAX = 4, 7
KEEP_DRAWS = (0, 1, 1, 2)
DROP_SHARE = 0.35
LEAD_PARAGRAPHS = 2
NOBODY = Other(name="the country", adjective="local", capital="the capital", aliases=())


@dataclass(frozen=True, slots=True)
class Draft:
    title: str
    text: str
    label: bool
    kind: str


def contrasts(*, title: str, text: str, gazetteer: Gazetteer, key: str) -> Iterator[Draft]:
    """Positive variants and negative contrasts of one positive example."""
    rng = random.Random(zlib.crc32(key.encode("utf-8")))
    paras = paragraphs(clean(text))
    if not paras:
        return
    yield Draft(title=title, text="\n\n".join(_shorter(paras, rng)), label=True, kind="shorter")
    yield Draft(
        title=title,
        text="\n\n".join(_with_roster(paras, gazetteer, rng)),
        label=True,
        kind="positive+roster",
    )
    others = _candidates(gazetteer, rng)
    for n, other in enumerate(others[:NEIGHBOURS_PER_SEED]):
        side = n % 2
        keep = KEEP_DRAWS[n % len(KEEP_DRAWS)]
        yield _neighbour(title, paras, gazetteer, side=side, other=other, keep=keep, rng=rng)
    yield _roster_only(title, paras, gazetteer, others, rng)
    for side in (0, 1):
        yield _single_side(title, paras, gazetteer, side=side)


def short_forms(*, title: str, text: str, label: bool, gazetteer: Gazetteer) -> Iterator[Draft]:
    """The headline alone, and the headline with the first two paragraphs."""
    paras = paragraphs(clean(text))
    forms = (("headline", ""), ("lead", "\n\n".join(paras[:LEAD_PARAGRAPHS])))
    for kind, body in forms:
        if kind == "lead" and len(paras) <= LEAD_PARAGRAPHS:
            continue
        both = {m.entity for m in gazetteer.mentions(f"{title}\n{body}")} >= {0, 1}
        yield Draft(title=title, text=body, label=label and both, kind=kind)


def _single_side(title: str, paras: list[str], gazetteer: Gazetteer, *, side: int) -> Draft:
    swapped = [_swap(p, gazetteer, side=side, other=NOBODY) for p in paras]
    new_title = _swap(title, gazetteer, side=side, other=NOBODY)
    return Draft(title=new_title, text="\n\n".join(swapped), label=False, kind=f"single({side})")


def _candidates(gazetteer: Gazetteer, rng: random.Random) -> list[Other]:
    common = list(gazetteer.others[:12])
    rng.shuffle(common)
    return common


def _shorter(paras: list[str], rng: random.Random) -> list[str]:
    rest = [p for p in paras[1:] if rng.random() > DROP_SHARE]
    return paras[:1] + rest


def _swap(text: str, gazetteer: Gazetteer, *, side: int, other: Other) -> str:
    out: list[str] = []
    last = 0
    for m in gazetteer.mentions(text):
        if m.entity == side:
            out.append(text[last : m.start])
            out.append(_replacement(text[m.start : m.end], gazetteer, side=side, other=other))
            last = m.end
    out.append(text[last:])
    return "".join(out)


def _replacement(word: str, gazetteer: Gazetteer, *, side: int, other: Other) -> str:
    folded = " ".join(word.split()).lower()
    s = gazetteer.sides[side]
    if folded in {a.lower() for a in s.names}:
        return other.name
    if folded in {a.lower() for a in s.places} or word in s.cities:
        return other.capital
    if folded in {a.lower() for a in s.people}:
        return f"the {other.adjective} leader"
    return other.adjective


def _neighbour(
    title: str,
    paras: list[str],
    gazetteer: Gazetteer,
    *,
    side: int,
    other: Other,
    keep: int,
    rng: random.Random,
) -> Draft:
    kept = set(rng.sample(range(1, len(paras)), k=min(keep, len(paras) - 1)))
    swapped = [
        p if i in kept else _swap(p, gazetteer, side=side, other=other) for i, p in enumerate(paras)
    ]
    text = "\n\n".join(swapped)
    new_title = _swap(title, gazetteer, side=side, other=other)
    return Draft(title=new_title, text=text, label=False, kind=f"neighbour(keep={keep})")


def _roster_only(
    title: str, paras: list[str], gazetteer: Gazetteer, others: Sequence[Other], rng: random.Random
) -> Draft:
    first, second = others[-1], others[-2]
    swapped = [
        _swap(_swap(p, gazetteer, side=0, other=first), gazetteer, side=1, other=second)
        for p in paras
    ]
    new_title = _swap(_swap(title, gazetteer, side=0, other=first), gazetteer, side=1, other=second)
    text = "\n\n".join(_with_roster(swapped, gazetteer, rng))
    return Draft(title=new_title, text=text, label=False, kind="roster")


def _with_roster(paras: list[str], gazetteer: Gazetteer, rng: random.Random) -> list[str]:
    names = [o.name for o in rng.sample(gazetteer.others, k=rng.randint(ROSTER_MIN, ROSTER_MAX))]
    names += [s.name for s in gazetteer.sides]
    rng.shuffle(names)
    line = f"Delegations from {', '.join(names[:-1])} and {names[-1]} attended the meeting."
    at = rng.randint(1, max(1, len(paras)))
    return [*paras[:at], line, *paras[at:]]
