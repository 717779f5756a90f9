"""One validated settings object: ``config/monitor.toml`` overridden by ``MONITOR_*`` variables.

Environment names are ``MONITOR_<SECTION>_<KEY>``, e.g. ``MONITOR_STORAGE_URL``,
``MONITOR_FETCH_TIMEOUT``, ``MONITOR_CLASSIFIER_THRESHOLD``; ``MONITOR_ALLOW_PRIVATE_NETWORKS``
is a shortcut for ``MONITOR_FETCH_ALLOW_PRIVATE_NETWORKS``.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal, get_args
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from monitor import PROJECT_URL, __version__
from monitor.errors import ConfigError
from monitor.masking import MASK, is_secret_parameter

DEFAULT_CONFIG = Path("config/monitor.toml")
DEFAULT_USER_AGENT = f"monitor/{__version__} (+{PROJECT_URL})"
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


def parse_duration(value: Any) -> float:
    """'20s', '15m', '1.5h', '2d', or a number of seconds -> seconds."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError(f"invalid duration {value!r}: use a number with s, m, h or d, e.g. '15m'")
    return float(match.group(1)) * _UNIT_SECONDS[match.group(2)]


Duration = Annotated[float, BeforeValidator(parse_duration), Field(gt=0)]


class Section(BaseModel):
    """A table of the config file: a key it does not know is an error naming the key."""

    model_config = ConfigDict(extra="forbid")


class StorageSettings(Section):
    url: str = "sqlite:///data/monitor.db"

    @field_validator("url")
    @classmethod
    def _valid_url(cls, value: str) -> str:
        if _database_url(value) is None:
            raise ValueError(f"not a database URL: {value!r} (e.g. sqlite:///data/monitor.db)")
        return value


class ClassifierSettings(Section):
    threshold: float = Field(default=0.5, ge=0.0, le=1.0)
    seeds: Path = Path("seed_articles")
    cache_dir: Path = Path("data/model")


class FetchSettings(Section):
    timeout: Duration = 20.0
    max_bytes: int = Field(default=5_000_000, gt=0)
    max_redirects: int = Field(default=5, ge=0, le=20)
    user_agent: str = DEFAULT_USER_AGENT
    allow_private_networks: bool = False


class SchedulerSettings(Section):
    tick: Duration = 5.0
    workers: int = Field(default=4, ge=1, le=64)
    # article pages fetched and extracted at once within one feed
    entry_workers: int = Field(default=4, ge=1, le=64)
    # processes extracting article text (trafilatura holds the GIL); 0 = in the polling thread
    extract_processes: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=0, le=64)


class WorkerSettings(Section):
    """``monitor worker`` (Procrastinate on PostgreSQL): how often the periodic jobs run and how
    soon a dead worker's jobs go to another one."""

    concurrency: int = Field(default=4, ge=1, le=64)  # jobs at once in one worker process
    tick: Duration = 5.0  # due feeds and due alerts, once per tick whatever the worker count
    heartbeat: Duration = 10.0  # a worker says it is alive this often
    stalled_after: Duration = 30.0  # no heartbeat for this long: its running jobs are retried


_ENV_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def expand_env(value: str) -> str:
    """Replace ``${VAR}`` with the environment's value; a missing variable is an error."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in os.environ:
            raise ValueError(f"environment variable {name} is not set")
        return os.environ[name]

    return _ENV_VAR.sub(replace, value)


def _valid_cron(value: str) -> str:
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(value, timezone="UTC")
    except ValueError as exc:
        raise ValueError(f"not a cron expression ({exc}): {value!r}") from None
    return value


class DestinationSpec(Section):
    """``[[alerts.destinations]]``: an apprise URL under a stable name. Alerts in the outbox
    refer to the name, so editing the URL sends queued and failed alerts to the new one."""

    name: str = Field(min_length=1, max_length=100)
    url: Annotated[str, AfterValidator(expand_env)]


class AlertSettings(Section):
    mode: Literal["instant", "digest"] = "instant"
    digest_schedule: Annotated[str, AfterValidator(_valid_cron)] = "0 8 * * *"
    min_score: float = Field(default=0.0, ge=0.0, le=1.0)
    urls: list[Annotated[str, AfterValidator(expand_env)]] = []
    destinations: list[DestinationSpec] = []
    config: Path | None = None  # an apprise configuration file (YAML or text)
    templates: Path | None = None  # a folder whose templates override monitor/templates/
    retry_base: Duration = 60.0
    retry_max: Duration = 3600.0
    give_up_after: Duration = 86400.0

    @field_validator("destinations")
    @classmethod
    def _unique_names(cls, value: list[DestinationSpec]) -> list[DestinationSpec]:
        names = [d.name for d in value]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate destination name: {', '.join(dupes)}")
        return value

    @field_validator("config", "templates")
    @classmethod
    def _exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.exists():
            raise ValueError(f"{value} does not exist")
        return value


class StorySettings(Section):
    window: Duration = 7 * 86400.0  # a copy joins a story first seen this recently
    threshold: float = Field(default=0.2, gt=0.0, le=1.0)  # estimated Jaccard of 3-word shingles


class WebSettings(Section):
    """The review page as alerts should link to it."""

    public_url: str | None = None  # e.g. "https://monitor.example.org"; alerts link here
    link_ttl: Duration = 14 * 86400.0  # how long a "not relevant" link in an alert works
    token: SecretStr | None = None  # MONITOR_WEB_TOKEN lands here; the web reads it from the env

    @field_validator("public_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"public_url must be http(s)://host[/path], got {value!r}")
        return value.rstrip("/")


class FeedSpec(Section):
    name: str = Field(min_length=1)
    url: str
    interval: Duration = 900.0

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"feed URL must be http(s)://host/..., got {value!r}")
        return value


def new_feed_spec(
    *, url: str, name: str | None, interval: str, command: str = "feeds add"
) -> FeedSpec:
    """A feed added by hand (``monitor feeds add``, the feeds page): the name defaults to the
    host name; raises ``ConfigError`` naming what is wrong, in one line after ``command``."""
    try:
        return FeedSpec(
            name=name or urlsplit(url).hostname or url, url=url, interval=parse_duration(interval)
        )
    except ValidationError as exc:  # one line naming the field, not pydantic's dump
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "feed"
        raise ConfigError(
            f"feeds add: {where}: {first['msg'].removeprefix('Value error, ')}"
        ) from None
    except ValueError as exc:
        raise ConfigError(f"feeds add: interval: {exc}") from None


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="MONITOR_",
        env_nested_delimiter="_",
        env_nested_max_split=1,
        extra="forbid",
    )

    storage: StorageSettings = StorageSettings()
    classifier: ClassifierSettings = ClassifierSettings()
    fetch: FetchSettings = FetchSettings()
    scheduler: SchedulerSettings = SchedulerSettings()
    worker: WorkerSettings = WorkerSettings()
    alerts: AlertSettings = AlertSettings()
    stories: StorySettings = StorySettings()
    web: WebSettings = WebSettings()
    feeds: list[FeedSpec] = []

    @field_validator("feeds")
    @classmethod
    def _unique_feeds(cls, feeds: list[FeedSpec]) -> list[FeedSpec]:
        for attr in ("name", "url"):
            values = [getattr(f, attr) for f in feeds]
            dupes = sorted({v for v in values if values.count(v) > 1})
            if dupes:
                raise ValueError(f"duplicate feed {attr}: {', '.join(dupes)}")
        return feeds

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment beats the file (the file's values arrive as init arguments).
        return (env_settings, init_settings)


def config_path(explicit: Path | None = None) -> tuple[Path, bool]:
    """The config file to read, and whether it was named (``--config`` or ``MONITOR_CONFIG``)."""
    if explicit is not None:
        return explicit, True
    named = os.environ.get("MONITOR_CONFIG")
    return (Path(named), True) if named else (DEFAULT_CONFIG, False)


def load_settings(path: Path | None = None) -> Settings:
    """Read the TOML file (if it exists), apply the environment, validate once.

    Relative paths written in the file resolve against the file's folder; those from
    ``MONITOR_*`` variables (and the defaults) against the working directory."""
    path, named = config_path(path)
    data = _read_toml(path, named=named)
    _resolve_paths(data, base=path.resolve().parent)
    shortcut = os.environ.get("MONITOR_ALLOW_PRIVATE_NETWORKS")
    if shortcut is not None:
        data.setdefault("fetch", {})["allow_private_networks"] = shortcut
    try:
        return Settings(**data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, path)) from None


def _read_toml(path: Path, *, named: bool) -> dict[str, Any]:
    if not path.is_file():
        if not named:
            return {}
        raise ConfigError(f"config: file not found: {path}")
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config: {path}: not valid TOML: {exc}") from None


def _resolve_paths(data: dict[str, Any], *, base: Path) -> None:
    """Make the file's relative path settings (every ``Path`` field, and a SQLite database
    file in ``storage.url``) absolute against ``base``, in place, before validation."""
    for section, value in data.items():
        field = Settings.model_fields.get(section)
        model = field.annotation if field is not None else None
        if not isinstance(value, dict) or not (
            isinstance(model, type) and issubclass(model, BaseModel)
        ):
            continue
        for key in _path_fields(model):
            if isinstance(value.get(key), str) and value[key]:
                value[key] = str(base / Path(value[key]).expanduser())
    storage = data.get("storage")
    if isinstance(storage, dict) and isinstance(storage.get("url"), str):
        storage["url"] = _resolve_sqlite_url(storage["url"], base=base)


def _path_fields(model: type[BaseModel]) -> list[str]:
    return [
        name
        for name, field in model.model_fields.items()
        if field.annotation is Path or Path in get_args(field.annotation)
    ]


def _resolve_sqlite_url(url: str, *, base: Path) -> str:
    parsed = _database_url(url)
    if parsed is None:
        return url  # the validator names the problem
    database = parsed["database"]
    if parsed["name"].split("+")[0] != "sqlite" or not database or database == ":memory:":
        return url
    if database.startswith("file:") or Path(database).is_absolute():
        return url
    return url[: parsed.start("database")] + str(base / database) + url[parsed.end("database") :]


def _describe(exc: ValidationError, path: Path) -> str:
    lines = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"])
        message = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = _unknown_key(err["loc"])
        lines.append(f"config: {key}: {message} (in {path} or MONITOR_* environment)")
    return "\n".join(lines)


def _unknown_key(loc: tuple[int | str, ...]) -> str:
    """'unknown key', with the closest key its table knows: ``alerts.url`` → ``urls``."""
    model: type[BaseModel] | None = Settings
    for part in loc[:-1]:
        if model is None:
            break
        if isinstance(part, str):
            field = model.model_fields.get(part)
            model = _model_of(field.annotation) if field is not None else None
    known = list(model.model_fields) if model is not None else []
    close = difflib.get_close_matches(str(loc[-1]), known, n=1)
    return "unknown key" + (f" (did you mean {close[0]!r}?)" if close else "")


def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The table model in ``Section``, ``list[Section]`` or ``Section | None``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


# SQLAlchemy's own URL grammar (sqlalchemy.engine.url), here so that reading the settings does
# not import SQLAlchemy (~0.3 s for every command, even ``--help``)
_DATABASE_URL = re.compile(
    r"""
    (?P<name>[\w+]+)://
    (?:(?P<username>[^:/]*)(?::(?P<password>[^@]*))?@)?
    (?:(?:\[(?P<ipv6host>[^/?]+)\]|(?P<ipv4host>[^/:?]+))?(?::(?P<port>[^/?]*))?)?
    (?:/(?P<database>[^?]*))?
    (?:\?(?P<query>.*))?
    """,
    re.X,
)


def _database_url(url: str) -> re.Match[str] | None:
    match = _DATABASE_URL.fullmatch(url)
    if match is None or not (match["port"] or "0").isdigit():
        return None
    return match


def mask_url(url: str) -> str:
    """A URL with its password (and any user info) hidden, for display."""
    match = _database_url(url)
    if match is not None and match["password"] is not None:
        return url[: match.start("password")] + "***" + url[match.end("password") :]
    parts = urlsplit(url)
    if parts.password:
        return url.replace(parts.password, "***")
    return url


def public_view(settings: Settings) -> dict[str, Any]:
    """The effective settings as plain data, secrets masked."""
    data = settings.model_dump(mode="json")
    data["storage"]["url"] = mask_url(settings.storage.url)
    data["alerts"]["urls"] = [mask_alert_url(u) for u in settings.alerts.urls]
    data["alerts"]["destinations"] = [
        {"name": d.name, "url": mask_alert_url(d.url)} for d in settings.alerts.destinations
    ]
    return data


def mask_alert_url(url: str) -> str:
    """An apprise URL as apprise prints it in privacy mode (tokens and passwords hidden)."""
    import apprise

    plugin = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    if not plugin:
        return url.split("://", 1)[0] + "://***"
    return _mask_query(str(plugin.url(privacy=True)))


def _mask_query(url: str) -> str:
    """Hide the values of query parameters apprise's privacy mode shows as they are: custom
    headers (``+X-Api-Key``), payload fields (``:``), extra GET parameters (``-``), and
    anything named like a key, token, secret or password."""
    parts = urlsplit(url)
    pairs = [
        (k, MASK if is_secret_parameter(k) else v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
    ]
    return urlunsplit(parts._replace(query=urlencode(pairs, safe="*")))
