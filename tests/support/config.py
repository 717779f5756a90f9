"""One writer for the ``monitor.toml`` files tests start ``monitor`` with.

``write_config`` renders real TOML (strings quoted and escaped, numbers, booleans, lists, arrays of
tables for ``[[feeds]]`` and ``[[alerts.destinations]]``); an empty table is left out, so a call
names exactly the keys its config has."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

SEEDS = Path(__file__).resolve().parents[2] / "seed_articles"
CONFIG_NAME = "monitor.toml"
DEFAULT_FETCH: Mapping[str, object] = {"timeout": "3s", "allow_private_networks": True}
Table = Mapping[str, object]
MODEL_CACHE_ENV = "MONITOR_TEST_MODEL_CACHE"
"""Names one model cache folder shared by every config a test run writes (the cache is keyed by a
hash of the seeds, judgements and classifier code, so sharing it only skips identical builds)."""


class ConfigValueError(TypeError):
    """A value write_config has no TOML rendering for."""


def toml_value(value: object) -> str:
    """One TOML value: str/Path as a basic string, bool, int, float, list, inline table."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str | Path):
        return json.dumps(str(value), ensure_ascii=False)
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    if isinstance(value, Sequence):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise ConfigValueError(f"support: no TOML rendering for {type(value).__name__}: {value!r}")


def toml_key(key: str) -> str:
    bare = key.replace("_", "").replace("-", "").isalnum() and key.isascii()
    return key if bare else json.dumps(key)


def table(header: str, values: Table) -> list[str]:
    return [header, *(f"{toml_key(k)} = {toml_value(v)}" for k, v in values.items())]


def feed_tables(feeds: Mapping[str, str] | Sequence[Table], *, interval: str | None) -> list[Table]:
    """Feeds as given (a sequence of tables), or name → url with one shared interval."""
    if not isinstance(feeds, Mapping):
        return list(feeds)
    every = {} if interval is None else {"interval": interval}
    return [{"name": name, "url": url, **every} for name, url in feeds.items()]


def config_path(path_or_dir: Path) -> Path:
    return path_or_dir / CONFIG_NAME if path_or_dir.is_dir() else path_or_dir


def default_model_cache(folder: Path) -> Path:
    """The folder named by ``MONITOR_TEST_MODEL_CACHE`` when set (the test session sets it), else
    ``model`` in ``folder``."""
    shared = os.environ.get(MODEL_CACHE_ENV)
    return Path(shared) if shared else folder / "model"


def write_config(
    path_or_dir: Path,
    *,
    storage: str,
    seeds: str | Path = SEEDS,
    cache_dir: str | Path | None = None,
    fetch: Table = DEFAULT_FETCH,
    scheduler: Table | None = None,
    feeds: Mapping[str, str] | Sequence[Table] = (),
    feed_interval: str | None = None,
    alerts: Sequence[str] | None = None,
    alert_options: Table | None = None,
    destinations: Sequence[Table] = (),
    extra: Mapping[str, Table] | None = None,
) -> Path:
    """Write the config and return its path: ``path_or_dir`` itself, or ``monitor.toml`` in it
    when it is a folder. ``cache_dir`` defaults to ``model`` beside the file; ``alerts`` are the
    ``[alerts] urls`` (left out when None); ``extra`` adds further tables by name."""
    path = config_path(path_or_dir)
    model = default_model_cache(path.parent) if cache_dir is None else cache_dir
    tables: dict[str, Table] = {
        "storage": {"url": storage},
        "classifier": {"seeds": seeds, "cache_dir": model},
        "fetch": fetch,
        "scheduler": scheduler or {},
        "alerts": ({} if alerts is None else {"urls": alerts}) | dict(alert_options or {}),
        **(extra or {}),
    }
    lines = [ln for name, values in tables.items() if values for ln in table(f"[{name}]", values)]
    for feed in feed_tables(feeds, interval=feed_interval):
        lines += table("[[feeds]]", feed)
    for destination in destinations:
        lines += table("[[alerts.destinations]]", destination)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
