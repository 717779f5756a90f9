"""docker-compose.yml cannot be run here; what it runs can be checked: every service command is a
``monitor`` command with options that exist, and the worker service can be scaled."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from monitor.cli import app
from tests.conftest import REPO

COMPOSE: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text(encoding="utf-8"))
SERVICES: dict[str, Any] = COMPOSE["services"]
# what each monitor service must run (the image's entrypoint is `monitor --config …`)
EXPECTED = {"migrate": ["db", "upgrade"], "worker": ["worker"], "web": ["serve"]}


def test_the_image_entrypoint_is_monitor() -> None:
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    assert 'ENTRYPOINT ["monitor", "--config", "config/monitor.toml"]' in dockerfile


@pytest.mark.parametrize(("service", "prefix"), EXPECTED.items())
def test_each_service_runs_an_existing_command(service: str, prefix: list[str]) -> None:
    command = [str(part) for part in SERVICES[service]["command"]]
    assert command[: len(prefix)] == prefix
    result = CliRunner().invoke(app, [*command, "--help"])  # unknown options fail to parse
    assert result.exit_code == 0, result.output


def test_workers_scale_and_wait_for_the_schema() -> None:
    worker = SERVICES["worker"]
    assert "container_name" not in worker and "ports" not in worker  # --scale worker=N
    for name in ("worker", "web"):
        wait = SERVICES[name]["depends_on"]["migrate"]["condition"]
        assert wait == "service_completed_successfully"
    url = SERVICES["migrate"]["environment"]["MONITOR_STORAGE_URL"]
    assert url.startswith("postgresql+psycopg://") and "@postgres:" in url
    assert all(SERVICES[n]["environment"]["MONITOR_STORAGE_URL"] == url for n in EXPECTED)
