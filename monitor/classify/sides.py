"""The watched pair of countries and the other countries, read from a shipped TOML file.

One regular expression finds every country mention in a text; ``Gazetteer.entity`` says whose
mention it is: 0 and 1 are the two sides, 2 and up the other countries.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from monitor.classify.patterns import trie_pattern, word_regex
from monitor.classify.places import city_names, forget

DEFAULT_COUNTRIES_FILE = Path(__file__).parent / "data" / "countries.toml"
SIDE_KEYS = ("names", "adjectives", "places", "people", "entities")


@dataclass(frozen=True, slots=True)
class Side:
    name: str
    names: tuple[str, ...]
    adjectives: tuple[str, ...]
    places: tuple[str, ...]
    people: tuple[str, ...]
    entities: tuple[str, ...] = ()
    cities: tuple[str, ...] = ()  # matched exactly (with the capital letter)

    @property
    def aliases(self) -> tuple[str, ...]:
        return self.names + self.adjectives + self.places + self.people + self.entities


@dataclass(frozen=True, slots=True)
class Other:
    name: str
    adjective: str
    capital: str
    aliases: tuple[str, ...]

    @property
    def all_aliases(self) -> tuple[str, ...]:
        return (self.name, self.adjective, self.capital, *self.aliases)


@dataclass(frozen=True, slots=True)
class Mention:
    entity: int
    start: int
    end: int


class Gazetteer:
    """Finds mentions of the two sides and of the other countries in a text."""

    def __init__(self, *, sides: Sequence[Side], others: Sequence[Other]) -> None:
        if len(sides) != 2:
            raise ValueError(f"classify: expected two sides, got {len(sides)}")
        self.sides = tuple(sides)
        side_names = {s.name.lower() for s in sides}
        self.others = tuple(o for o in others if o.name.lower() not in side_names)
        groups = [s.aliases for s in self.sides] + [o.all_aliases for o in self.others]
        self._exact, self._folded = _alias_maps(groups)
        for entity, side in enumerate(self.sides):
            for city in side.cities:
                if " ".join(city.split()).lower() not in self._folded:
                    self._exact.setdefault(city, entity)
        self._exact_pattern = _exact_regex(self._exact)
        self._folded_pattern = word_regex(self._folded)

    def mentions(self, text: str) -> list[Mention]:
        """Mentions in text order (offsets into ``text``)."""
        found = self._folded_mentions(text)
        if self._exact:
            exact = self._exact
            found += [
                Mention(entity=exact[" ".join(m.group(0).split())], start=m.start(), end=m.end())
                for m in self._exact_pattern.finditer(text)
            ]
            found = _without_overlaps(found)
        return found

    def _folded_mentions(self, text: str) -> list[Mention]:
        lowered = lower_same_length(text)
        folded = self._folded
        return [
            Mention(entity=folded[" ".join(m.group(0).split())], start=m.start(), end=m.end())
            for m in self._folded_pattern.finditer(lowered)
        ]


def _without_overlaps(found: list[Mention]) -> list[Mention]:
    """Text order; of two overlapping mentions the longer (then the earlier) is kept."""
    found.sort(key=lambda m: (m.start, -m.end))
    kept: list[Mention] = []
    for m in found:
        if not kept or m.start >= kept[-1].end:
            kept.append(m)
    return kept


def lower_same_length(text: str) -> str:
    """Lower-cased text with the same offsets (characters that grow when lowered are kept)."""
    lowered = text.lower()
    if len(lowered) == len(text):
        return lowered
    return "".join(c if len(c.lower()) != 1 else c.lower() for c in text)


def _exact_regex(exact: dict[str, int]) -> re.Pattern[str]:
    body = trie_pattern(sorted(exact))
    return re.compile(rf"(?<![\w.])(?:{body})(?!\w)" if body else r"(?!x)x")


def _is_exact(alias: str) -> bool:
    return alias.isupper()


def _alias_maps(groups: Sequence[Iterable[str]]) -> tuple[dict[str, int], dict[str, int]]:
    exact: dict[str, int] = {}
    folded: dict[str, int] = {}
    for entity, aliases in enumerate(groups):
        for alias in aliases:
            if _is_exact(alias):
                exact.setdefault(alias, entity)
            else:
                folded.setdefault(" ".join(alias.split()).lower(), entity)
    return exact, folded


def load_gazetteer(path: Path = DEFAULT_COUNTRIES_FILE) -> Gazetteer:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    try:
        sides = [_side(entry) for entry in data.get("sides", [])]
    finally:
        forget()
    others = [_other(entry) for entry in data.get("others", [])]
    return Gazetteer(sides=sides, others=others)


def _strings(entry: dict[str, Any], key: str) -> tuple[str, ...]:
    return tuple(str(v) for v in entry.get(key) or [])


def _side(entry: dict[str, Any]) -> Side:
    lists = {key: _strings(entry, key) for key in SIDE_KEYS}
    return Side(name=str(entry["name"]), cities=_cities(entry), **lists)


def _cities(entry: dict[str, Any]) -> tuple[str, ...]:
    spec = entry.get("cities")
    if not spec:
        return ()
    names = city_names(
        country=str(spec["country"]),
        min_population=int(spec.get("min_population", 0)),
        exclude=_strings(entry, "not_places"),
    )
    return tuple(names)


def _other(entry: dict[str, Any]) -> Other:
    aliases = _strings(entry, "aliases")
    return Other(
        name=str(entry["name"]),
        adjective=str(entry.get("adjective", entry["name"])),
        capital=str(entry.get("capital", entry["name"])),
        aliases=aliases,
    )
