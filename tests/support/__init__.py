"""Test support shared by every suite (tests/, faults/, bench/). It imports monitor and the
standard library only, never a test module, so any suite can import it."""

from tests.support.config import SEEDS, write_config

__all__ = ["SEEDS", "write_config"]
