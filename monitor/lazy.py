"""Deferred imports, so that a command pays only for the libraries it uses.

``monitor --help`` needs none of SQLAlchemy, Alembic, apprise, httpx or scikit-learn; importing
them all costs about a second. A module that names these at import time but uses them only in
some functions binds the names lazily; under ``TYPE_CHECKING`` it imports them normally so that
mypy sees the real types::

    if TYPE_CHECKING:
        from monitor import notify
        from monitor.outbox import deliver_due
    else:
        notify = lazy_module("monitor.notify")
        deliver_due = lazy_function("monitor.outbox", "deliver_due")
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any


class LazyModule:
    """Stands for a module; imports it on the first attribute read."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __getattr__(self, attribute: str) -> Any:
        module: ModuleType = importlib.import_module(self._name)
        return getattr(module, attribute)

    def __repr__(self) -> str:
        return f"<lazy module {self._name!r}>"


def lazy_module(name: str) -> LazyModule:
    return LazyModule(name)


def lazy_function(module: str, name: str) -> Callable[..., Any]:
    """A callable (function or class) that imports ``module`` on its first call."""

    def call(*args: Any, **kwargs: Any) -> Any:
        return getattr(importlib.import_module(module), name)(*args, **kwargs)

    call.__name__ = call.__qualname__ = name
    return call
