"""Resource rules: service name precedence, instance id stability, no tenant on the resource."""

from __future__ import annotations

from pathlib import Path

import pytest
from obsbox_instrumentation.resource import (
    default_service_name,
    ensure_instance_id,
    project_name,
    resource_attributes,
)


def test_service_name_argument_wins() -> None:
    """An explicit service_name beats OTEL_SERVICE_NAME and the project name."""
    attrs = resource_attributes({"OTEL_SERVICE_NAME": "env-name"}, service_name="arg", instance_id="i")
    assert attrs["service.name"] == "arg"


def test_service_name_from_otel_env_over_default() -> None:
    """OTEL_SERVICE_NAME overrides the project-name default."""
    attrs = resource_attributes({"OTEL_SERVICE_NAME": "env-name"}, instance_id="i", default_name="proj")
    assert attrs["service.name"] == "env-name"


def test_service_name_from_pyproject(tmp_path: Path) -> None:
    """Without arguments or env, [project].name of ./pyproject.toml names the service."""
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "billing-api"\n')
    assert project_name(tmp_path, "/usr/bin/gunicorn") == "billing-api"
    assert project_name(tmp_path / "missing", "/srv/app/worker.py") == "worker"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["/venv/bin/gunicorn", "-c", "python:obsbox_instrumentation.gunicorn", "-b", "127.0.0.1:8000", "-w", "4", "billing.app:app"], "billing"),
        (["/venv/bin/gunicorn", "--log-level", "info", "shop.wsgi"], "shop"),
        (["/venv/bin/uvicorn", "ledger.main:app", "--port", "8000"], "ledger"),
        (["/venv/bin/celery", "-A", "reports", "worker"], "reports"),
        (["/venv/bin/opentelemetry-instrument", "gunicorn", "orders_api:app"], "orders_api"),
    ],
)
def test_service_name_under_a_server_is_the_app_module(tmp_path: Path, argv: list[str], expected: str) -> None:
    """Without a pyproject, a server's command line names the service after the app module, never the server."""
    assert default_service_name(tmp_path, argv)[0] == expected


def test_service_name_falls_back_to_the_directory(tmp_path: Path) -> None:
    """A server given only `app:app` in a directory without pyproject.toml takes the directory's name."""
    where = tmp_path / "billing-api"
    where.mkdir()
    assert default_service_name(where, ["/venv/bin/gunicorn", "app:app"]) == (
        "billing-api", f"the working directory {str(where)!r}",
    )


def test_user_instance_id_is_respected() -> None:
    """service.instance.id from OTEL_RESOURCE_ATTRIBUTES beats obsbox's generated id."""
    env = {"OTEL_RESOURCE_ATTRIBUTES": "service.instance.id=pod-7,team=core"}
    attrs = resource_attributes(env, instance_id="generated")
    assert attrs["service.instance.id"] == "pod-7"
    assert attrs["team"] == "core"


def test_instance_id_is_generated_once_and_inherited() -> None:
    """The first call exports OBSBOX_SERVICE_INSTANCE_ID; later calls (workers) reuse it."""
    env: dict[str, str] = {}
    first = ensure_instance_id(env)
    assert env["OBSBOX_SERVICE_INSTANCE_ID"] == first
    assert ensure_instance_id(dict(env)) == first
    assert ensure_instance_id({}) != first


def test_tenant_id_never_on_resource() -> None:
    """tenant.id from OTEL_RESOURCE_ATTRIBUTES is dropped from the resource."""
    attrs = resource_attributes({"OTEL_RESOURCE_ATTRIBUTES": "tenant.id=acme"}, instance_id="i")
    assert "tenant.id" not in attrs


def test_environment_and_version_from_resource_attributes() -> None:
    """deployment.environment (old key) and service.version are read from the env."""
    env = {"OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=staging,service.version=1.2.3"}
    attrs = resource_attributes(env, instance_id="i")
    assert attrs["deployment.environment.name"] == "staging"
    assert attrs["service.version"] == "1.2.3"
    assert isinstance(attrs["process.pid"], int) and attrs["host.name"]
