"""Short human sentences saying what drove a score."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from monitor.classify.features import SIDE_A, SIDE_B, Analysis, Evidence
from monitor.classify.terms import Nearest

CUES_SHOWN = 5
CROWD_SHOWN_FROM = 3


def explain(
    *,
    analysis: Analysis,
    sides: tuple[str, ...],
    contributions: Sequence[tuple[str, float]],
    nearest: Nearest | None,
    strongest: Sequence[str],
) -> tuple[str, ...]:
    ev = analysis.evidence
    reasons = [*_short(ev, sides), _together(ev, sides)]
    reasons += _pairs(ev) + _cues(ev) + _crowd(ev)
    if contributions:
        reasons.append("drivers: " + ", ".join(f"{n} {v:+.2f}" for n, v in contributions))
    if nearest is not None:
        reasons.append(f"nearest example: {nearest.source} ({nearest.similarity:.2f})")
    if strongest:
        reasons.append("strongest terms: " + ", ".join(strongest))
    return tuple(reasons)


def _together(ev: Evidence, sides: tuple[str, ...]) -> str:
    both = f"{sides[SIDE_A]} and {sides[SIDE_B]}"
    title = _title(ev, sides)
    if ev.both_paragraphs == 0:
        counts = f"{ev.side_mentions[SIDE_A]} and {ev.side_mentions[SIDE_B]} mentions"
        return f"{both} never named in one paragraph ({counts}; title: {title})"
    return (
        f"{both} named together in {ev.both_paragraphs} of {ev.paragraphs} paragraphs "
        f"(title: {title})"
    )


def _short(ev: Evidence, sides: tuple[str, ...]) -> list[str]:
    """What carried a short item (headline and summary only)."""
    if not ev.short:
        return []
    both = f"{sides[SIDE_A]} and {sides[SIDE_B]}"
    if len(ev.title_sides) == 2:
        crowd = f", with {ev.title_others} other countries" if ev.title_others else ""
        return [f"short item: headline names both {both}{crowd}"]
    named = sides[min(ev.title_sides)] if ev.title_sides else ""
    if named and len(ev.item_sides) == 2:
        return [f"short item: headline names {named}, the summary the other side"]
    if named and ev.title_others:
        return [f"short item: headline pairs {named} with another country"]
    if len(ev.item_sides) == 1:
        return [f"short item: only {sides[next(iter(ev.item_sides))]} named"]
    return [f"short item: {both} not both named"]


def _title(ev: Evidence, sides: tuple[str, ...]) -> str:
    if len(ev.title_sides) == 2:
        return "both"
    if ev.title_sides:
        return f"{sides[next(iter(ev.title_sides))]} only"
    return "neither"


def _pairs(ev: Evidence) -> list[str]:
    if not ev.pair_mentions:
        return []
    return [f"named side by side {ev.pair_mentions} times"]


def _cues(ev: Evidence) -> list[str]:
    if not ev.relation_cues:
        return []
    common = [w for w, _ in Counter(ev.relation_cues).most_common(CUES_SHOWN)]
    return ["relation words where both are named: " + ", ".join(common)]


def _crowd(ev: Evidence) -> list[str]:
    if ev.other_countries < CROWD_SHOWN_FROM:
        return []
    return [f"{ev.other_countries} other countries named ({ev.neighbour_pairs} paired with a side)"]
