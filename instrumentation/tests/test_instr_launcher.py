"""obsbox-instrument and the opentelemetry-instrument integration (distro/configurator)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from obsbox_instrumentation import distro
from obsbox_instrumentation.launcher import BOOTSTRAP_DIR, main, prepare_environment

PROBE = (
    "import json, os, obsbox_instrumentation.runtime as rt; r = rt.get(); "
    "print(json.dumps({'configured': r is not None, 'name': r and r.service_name, "
    "'instance': r and r.resource_attributes['service.instance.id'], "
    "'semconv': os.environ.get('OTEL_SEMCONV_STABILITY_OPT_IN')}))"
)


def test_prepare_environment_puts_bootstrap_first_and_fixes_instance_id() -> None:
    """The child environment has the sitecustomize dir first and one instance id for the tree."""
    env = {"PYTHONPATH": "/app/lib"}
    prepare_environment(env, "billing")
    assert env["PYTHONPATH"].split(os.pathsep) == [BOOTSTRAP_DIR, "/app/lib"]
    assert env["OTEL_SERVICE_NAME"] == "billing"
    assert env["OBSBOX_SERVICE_INSTANCE_ID"]
    assert (Path(BOOTSTRAP_DIR) / "sitecustomize.py").is_file()


def test_launcher_rejects_unknown_command(capsys: pytest.CaptureFixture[str]) -> None:
    """A command that is not on PATH is a usage error naming it."""
    with pytest.raises(SystemExit) as exc:
        main(["no-such-program-obsbox"])
    assert exc.value.code == 2
    assert "command not found: no-such-program-obsbox" in capsys.readouterr().err


def _run_probe(cmd: list[str], extra_env: dict[str, str]) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "OBSBOX_"))}
    env.update({
        "OTEL_TRACES_EXPORTER": "none", "OTEL_METRICS_EXPORTER": "none", "OTEL_LOGS_EXPORTER": "none",
        "OBSBOX_PROMETHEUS_PORT": "0", "OBSBOX_LOG_JSON": "false",
    })
    env.update(extra_env)
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_launched_python_is_configured_with_the_service_name() -> None:
    """obsbox-instrument --service-name X python -c ... runs configured, as service X."""
    launcher = Path(sys.executable).parent / "obsbox-instrument"
    result = _run_probe([str(launcher), "--service-name", "probe-svc", sys.executable, "-c", PROBE], {})
    assert result["configured"] is True
    assert result["name"] == "probe-svc"
    assert result["semconv"] == "http"


def test_launched_tree_shares_the_instance_id() -> None:
    """A process launched with OBSBOX_SERVICE_INSTANCE_ID set (as workers are) reuses it."""
    launcher = Path(sys.executable).parent / "obsbox-instrument"
    result = _run_probe(
        [str(launcher), sys.executable, "-c", PROBE], {"OBSBOX_SERVICE_INSTANCE_ID": "fixed-instance-1"}
    )
    assert result["instance"] == "fixed-instance-1"


def test_opentelemetry_instrument_uses_obsbox_when_selected() -> None:
    """opentelemetry-instrument with OTEL_PYTHON_DISTRO/CONFIGURATOR=obsbox runs obsbox.configure()."""
    otel = Path(sys.executable).parent / "opentelemetry-instrument"
    if not otel.exists():
        pytest.skip("opentelemetry-instrument (opentelemetry-distro, a dev dependency) is not installed in this venv")
    result = _run_probe(
        [str(otel), sys.executable, "-c", PROBE],
        {"OTEL_PYTHON_DISTRO": "obsbox", "OTEL_PYTHON_CONFIGURATOR": "obsbox", "OTEL_SERVICE_NAME": "via-otel"},
    )
    assert result["configured"] is True and result["name"] == "via-otel"


def test_opentelemetry_instrument_stays_vanilla_when_not_selected() -> None:
    """Without OTEL_PYTHON_DISTRO/CONFIGURATOR and with opentelemetry-distro installed, obsbox stays out."""
    otel = Path(sys.executable).parent / "opentelemetry-instrument"
    if not otel.exists():
        pytest.skip("opentelemetry-instrument (opentelemetry-distro, a dev dependency) is not installed in this venv")
    if distro._other("opentelemetry_distro") is None:
        pytest.skip("opentelemetry-distro is not installed: obsbox is the only distro and is chosen by design")
    result = _run_probe([str(otel), sys.executable, "-c", PROBE], {})
    assert result["configured"] is False


def test_entry_points_are_registered_under_obsbox() -> None:
    """The distribution registers distro and configurator entry points named obsbox."""
    for group in ("opentelemetry_distro", "opentelemetry_configurator"):
        names = {ep.name: ep.value for ep in entry_points(group=group)}
        assert names.get("obsbox", "").startswith("obsbox_instrumentation.distro:")


def test_selection_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    """obsbox is selected when named, or when no other distro is installed; never over another one."""
    monkeypatch.setenv("OTEL_PYTHON_DISTRO", "obsbox")
    assert distro.distro_selected()
    monkeypatch.setenv("OTEL_PYTHON_DISTRO", "distro")
    assert not distro.distro_selected()
    monkeypatch.delenv("OTEL_PYTHON_DISTRO")
    monkeypatch.setattr(distro, "_other", lambda group: None)
    assert distro.distro_selected()


FLASK_PROBE = (
    "import json, flask; app = flask.Flask('p'); "
    "print(json.dumps({'obsbox': getattr(app, '_obsbox_instrumented', False), "
    "'upstream': getattr(app, '_is_instrumented_by_opentelemetry', False)}))"
)


def test_opentelemetry_instrument_with_obsbox_uses_obsbox_flask_hook_only() -> None:
    """Under opentelemetry-instrument with obsbox selected, Flask gets obsbox's middleware, not upstream's too."""
    otel = Path(sys.executable).parent / "opentelemetry-instrument"
    if not otel.exists():
        pytest.skip("opentelemetry-instrument (opentelemetry-distro, a dev dependency) is not installed in this venv")
    pytest.importorskip("opentelemetry.instrumentation.flask", reason="opentelemetry-instrumentation-flask (the [flask] extra) is not installed in this venv")
    result = _run_probe(
        [str(otel), sys.executable, "-c", FLASK_PROBE],
        {"OTEL_PYTHON_DISTRO": "obsbox", "OTEL_PYTHON_CONFIGURATOR": "obsbox"},
    )
    assert result == {"obsbox": True, "upstream": False}
