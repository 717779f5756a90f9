"""Near-duplicate detection: which stored article, if any, is another copy of the same story.

MinHash over word 3-shingles (datasketch) estimates the Jaccard similarity of two texts; LSH
banding (64 bands of 2 rows) turns each signature into 64 keys, so candidates come from an
index lookup, never a scan of the archive. A candidate joins the story when the estimated
Jaccard similarity is at least ``threshold`` (default 0.2).

Why 0.2: on the project corpus, copies of one story (an APP wire story and Dawn's rewrite of
it, or one piece under two URLs) have 3-shingle Jaccard 0.33–1.0, while different stories
stay below 0.02 (0.05 for 2-shingles), so 0.2 sits far from both; with 64×2 bands a pair at
0.33 becomes a candidate with probability 0.999, a pair at 0.02 with 0.025 (then refused).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from datasketch import MinHash

from monitor.models import StoryCandidate

NUM_PERM = 128
BANDS = 64
ROWS = NUM_PERM // BANDS
SHINGLE = 3
SEED = 1
DEFAULT_THRESHOLD = 0.2
MAX_WORDS = 5_000  # a story is recognisable from its first few thousand words
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass(frozen=True, slots=True)
class Signature:
    values: bytes  # NUM_PERM little-endian uint32 MinHash values
    bands: tuple[int, ...]  # one signed 63-bit key per band, for the index

    @property
    def empty(self) -> bool:
        return not self.bands


@lru_cache(maxsize=1)
def _template() -> MinHash:
    return MinHash(num_perm=NUM_PERM, seed=SEED)


def shingles(text: str) -> list[bytes]:
    words = _WORD.findall(text.lower())[:MAX_WORDS]
    if len(words) < SHINGLE:
        return [" ".join(words).encode()] if words else []
    return [" ".join(words[i : i + SHINGLE]).encode() for i in range(len(words) - SHINGLE + 1)]


def signature(text: str) -> Signature:
    """The MinHash signature of a text and its LSH band keys (none for an empty text)."""
    grams = shingles(text)
    if not grams:
        return Signature(values=b"", bands=())
    template = _template()
    minhash = MinHash(
        num_perm=NUM_PERM, seed=SEED, permutations=template.permutations, scheme=template.scheme
    )
    minhash.update_batch(grams)
    values = minhash.hashvalues.astype("<u4")
    return Signature(values=values.tobytes(), bands=_band_keys(values))


def _band_keys(values: np.ndarray) -> tuple[int, ...]:
    keys = []
    for band in range(BANDS):
        chunk = values[band * ROWS : (band + 1) * ROWS].tobytes()
        digest = hashlib.blake2b(bytes([band]) + chunk, digest_size=8).digest()
        keys.append(int.from_bytes(digest, "little", signed=True))
    return tuple(keys)


def similarity(a: bytes, b: bytes) -> float:
    """Estimated Jaccard similarity of two signatures' texts."""
    if not a or len(a) != len(b):
        return 0.0
    return float(np.mean(np.frombuffer(a, "<u4") == np.frombuffer(b, "<u4")))


def best_story(
    sig: Signature, candidates: Sequence[StoryCandidate], *, threshold: float = DEFAULT_THRESHOLD
) -> int | None:
    """The story of the most similar candidate at or above ``threshold``, or ``None``."""
    scored = [(similarity(sig.values, c.signature), c.story_id) for c in candidates]
    best = max(scored, default=(0.0, None))
    return best[1] if best[0] >= threshold else None
