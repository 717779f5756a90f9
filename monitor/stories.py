"""Near-duplicate detection: which stored article, if any, is another copy of the same story.

MinHash over word 3-shingles estimates the Jaccard similarity of two texts; LSH
banding (64 bands of 2 rows) turns each signature into 64 keys, so candidates come from an
index lookup, never a scan of the archive. A candidate joins the story when the estimated
Jaccard similarity is at least ``threshold`` (default 0.2).

Why 0.2: on the project corpus, copies of one story (an APP wire story and Dawn's rewrite of
it, or one piece under two URLs) have 3-shingle Jaccard 0.33–1.0, while different stories
stay below 0.02 (0.05 for 2-shingles), so 0.2 sits far from both; with 64×2 bands a pair at
0.33 becomes a candidate with probability 0.999, a pair at 0.02 with 0.025 (then refused).

The MinHash is written out in numpy rather than taken from datasketch (which imports SciPy, and
hashes each shingle with SHA-1 in a Python loop): each word gets a CRC-32, a shingle's hash is the
64-bit MurmurHash3 finalizer of its three word hashes combined, and each of the 128 permutations
is ``a*h + b`` mod 2**32 with odd ``a`` (datasketch's "affine32" scheme), all vectorised. The
tests check the estimate against the exact Jaccard similarity of the shingle sets.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

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
def _permutations() -> tuple[np.ndarray, np.ndarray]:
    """The (a, b) of each permutation, drawn as datasketch draws them for this seed."""
    gen = np.random.RandomState(SEED)
    a = gen.randint(0, 1 << 31, NUM_PERM, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, NUM_PERM, dtype=np.uint32)
    return a, b


def _fmix64(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 64-bit finalizer (wrapping uint64 arithmetic): an avalanching bijection."""
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xFF51AFD7ED558CCD)
    h = h ^ (h >> np.uint64(33))
    h = h * np.uint64(0xC4CEB9FE1A85EC53)
    return h ^ (h >> np.uint64(33))


_MIX = (np.uint64(0x9E3779B97F4A7C15), np.uint64(0xC2B2AE3D27D4EB4F), np.uint64(1))


def shingle_hashes(text: str) -> np.ndarray:
    """A 32-bit hash of each word 3-shingle of the text (empty for a text without words)."""
    words = _WORD.findall(text.lower())[:MAX_WORDS]
    if not words:
        return np.zeros(0, dtype=np.uint32)
    words += [""] * (SHINGLE - len(words))  # one shingle for a text shorter than one
    h = np.fromiter((zlib.crc32(w.encode()) for w in words), dtype=np.uint64, count=len(words))
    n = len(words) - SHINGLE + 1
    with np.errstate(over="ignore"):
        combined = sum((h[i : i + n] * _MIX[i] for i in range(SHINGLE)), np.zeros(n, np.uint64))
        return (_fmix64(combined) >> np.uint64(32)).astype(np.uint32)


def shingle_set(text: str) -> set[tuple[str, ...]]:
    """The word 3-shingles themselves (for tests: the exact Jaccard similarity)."""
    words = _WORD.findall(text.lower())[:MAX_WORDS]
    words += [""] * (SHINGLE - len(words)) if words else []
    return {tuple(words[i : i + SHINGLE]) for i in range(len(words) - SHINGLE + 1)}


def minhash(hashes: np.ndarray) -> np.ndarray:
    """NUM_PERM uint32 minimum hash values of a non-empty array of shingle hashes."""
    a, b = _permutations()
    with np.errstate(over="ignore"):
        return (hashes.reshape(-1, 1) * a + b).min(axis=0)


def signature(text: str) -> Signature:
    """The MinHash signature of a text and its LSH band keys (none for an empty text)."""
    hashes = shingle_hashes(text)
    if not len(hashes):
        return Signature(values=b"", bands=())
    values = minhash(hashes).astype("<u4")
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
