"""Every replay names its engine: the terminal banner, the JSON report's "engine" object and the
HTML report's paragraph, with a warning when the engine's major.minor is not the deploy's pin."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from obsbox.binaries.catalog import pinned_versions
from obsbox.replay.prometheus import PROMETHEUS_ENV, PROMTOOL_ENV
from tests.engines import Engine

REPO = Path(__file__).resolve().parents[3]
FIXTURES = REPO / "tests" / "fixtures" / "replay"
SCHEMA = REPO / "src" / "obsbox" / "replay" / "report.schema.json"


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str
    report: dict[str, Any]
    html: str


_RUNS: dict[str, Run] = {}


@pytest.fixture
def replay_run(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Run:
    """`obsbox replay --prometheus X` on the small fixture corpus, once per engine version."""
    if engine.name not in _RUNS:
        out = tmp_path_factory.mktemp(f"report-{engine.name}")
        # Only --prometheus chooses: the environment the engine fixture sets is taken away.
        env = {k: v for k, v in os.environ.items() if k not in (PROMETHEUS_ENV, PROMTOOL_ENV)}
        proc = subprocess.run(
            [sys.executable, "-m", "obsbox.cli", "replay", "--rules", str(FIXTURES / "rules"),
             "--incidents", str(FIXTURES / "corpus"), "--json", str(out / "r.json"), "--html", str(out / "r.html"),
             "--prometheus", engine.prometheus],
            capture_output=True, text=True, timeout=600, check=False, env=env,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stdout + proc.stderr
        report = json.loads((out / "r.json").read_text(encoding="utf-8"))
        _RUNS[engine.name] = Run(proc.returncode, proc.stdout, proc.stderr, report, (out / "r.html").read_text(encoding="utf-8"))
    return _RUNS[engine.name]


def _differs_from_pin(engine: Engine) -> bool:
    return engine.version.split(".")[:2] != pinned_versions()["prometheus"].split(".")[:2]


def test_terminal_banner_names_the_engine(engine: Engine, replay_run: Run) -> None:
    """stderr starts with `engine: Prometheus <version> (<binary>)` for the binary --prometheus chose."""
    assert replay_run.stderr.splitlines()[0] == f"engine: Prometheus {engine.version} ({engine.prometheus})"


def test_json_engine_object(engine: Engine, replay_run: Run) -> None:
    """The JSON report validates against report.schema.json and names the engine and the pin."""
    jsonschema.validate(replay_run.report, json.loads(SCHEMA.read_text(encoding="utf-8")))
    info = replay_run.report["engine"]
    assert (info["name"], info["version"], info["binary"], info["pinned"]) == (
        "prometheus", engine.version, engine.prometheus, pinned_versions()["prometheus"],
    )  # fmt: skip
    assert bool(info["warning"]) == _differs_from_pin(engine)


def test_html_paragraph_names_the_engine(engine: Engine, replay_run: Run) -> None:
    """The HTML report says which Prometheus evaluated the rules, with the warning when it is not the pin."""
    assert f'<p class="engine">Evaluated by Prometheus {engine.version}.' in replay_run.html
    assert ('class="warning"' in replay_run.html) == _differs_from_pin(engine)


def test_warning_when_engine_is_not_the_pinned_major_minor(engine: Engine, replay_run: Run) -> None:
    """Debian's 2.42 as the engine warns on stderr naming 2.42 and the pinned 3.5.0; the pin does not warn."""
    warnings = [line for line in replay_run.stderr.splitlines() if line.startswith("warning:")]
    pinned = pinned_versions()["prometheus"]
    if _differs_from_pin(engine):
        assert len(warnings) == 1
        assert f"Prometheus {engine.version}" in warnings[0] and f"installs {pinned}" in warnings[0]
        assert engine.version.startswith("2.42.")
    else:
        assert warnings == []
