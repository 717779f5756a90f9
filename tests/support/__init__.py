"""Test support shared by every suite (tests/, faults/, bench/). It imports monitor and the
standard library only, never a test module, so any suite can import it."""

from tests.support.config import MODEL_CACHE_ENV, SEEDS, default_model_cache, write_config

__all__ = ["MODEL_CACHE_ENV", "SEEDS", "default_model_cache", "write_config"]
