"""Every shipped rule file passes `promtool check rules` and its own promtool unit tests."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
RULES_DIR = REPO / "alert_rules"
RULE_FILES = sorted(RULES_DIR.glob("*.rules.yaml")) + sorted((RULES_DIR / "naive").glob("*.rules.yaml"))
TEST_FILES = sorted((RULES_DIR / "tests").glob("*.test.yaml"))


@pytest.mark.parametrize("rules", RULE_FILES, ids=lambda p: p.name)
def test_rules_file_passes_promtool_check(promtool: str, rules: Path) -> None:
    """promtool check rules accepts the file, lint included."""
    out = subprocess.run([promtool, "check", "rules", str(rules)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr


def test_rules_every_file_has_promtool_tests() -> None:
    """Each shipped `<area>.rules.yaml` has an `alert_rules/tests/<area>.test.yaml` that loads it."""
    for rules in sorted(RULES_DIR.glob("*.rules.yaml")):
        test = RULES_DIR / "tests" / rules.name.replace(".rules.yaml", ".test.yaml")
        assert test.is_file(), f"{rules} has no promtool test file {test}"
        assert f"../{rules.name}" in test.read_text(), f"{test} does not load {rules.name}"


@pytest.mark.parametrize("test_file", TEST_FILES, ids=lambda p: p.name)
def test_rules_promtool_unit_tests_pass(promtool: str, test_file: Path) -> None:
    """promtool test rules passes for the file's unit tests."""
    out = subprocess.run(
        [promtool, "test", "rules", test_file.name],
        cwd=test_file.parent,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_rules_promtool_is_the_pinned_build(promtool: str) -> None:
    """The promtool these checks run is obsbox's build and reports the deploy's pinned Prometheus version."""
    from obsbox.binaries.catalog import pinned_versions
    from obsbox.binaries.locate import built

    out = subprocess.run([promtool, "--version"], capture_output=True, text=True, timeout=30, check=True)
    assert promtool == str(built("promtool"))
    assert f"version {pinned_versions()['prometheus']} " in out.stdout + out.stderr
