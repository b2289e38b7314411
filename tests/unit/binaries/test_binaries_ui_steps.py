"""Prometheus's web UI steps: what runs before `go build`, the build key, and the one-line failure reason (pure)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from obsbox.binaries.build import BuildError, failure_reason, run_step
from obsbox.binaries.catalog import PROMETHEUS_UI_STEPS, BuildStep, build_key, catalog, spec_for

NPM_REFUSED = """\
npm error code E403
npm error 403 403 Forbidden - GET https://registry.npmjs.org/@mantine%2fcore - Forbidden
npm error 403 In most cases, you or one of your dependencies are requesting
npm error 403 a package version that is forbidden by your security policy, or
npm error 403 on a server you do not have access to.
npm error A complete log of this run can be found in: /root/.npm/_logs/2026-11-28T08_00_00_000Z-debug-0.log
"""

NPM_OFFLINE = """\
npm error code ENOTFOUND
npm error syscall getaddrinfo
npm error errno ENOTFOUND
npm error network request to https://registry.npmjs.org/vite failed, reason: getaddrinfo ENOTFOUND registry.npmjs.org
npm error network This is a problem related to network connectivity.
"""

OLD_NPM = """\
npm ERR! code ECONNREFUSED
npm ERR! errno ECONNREFUSED
npm ERR! FetchError: request to http://127.0.0.1:9/vite failed, reason: connect ECONNREFUSED 127.0.0.1:9
"""

TSC_FAILED = """\
> @prometheus-io/mantine-ui@0.305.0 build
> tsc && vite build

src/App.tsx(3,1): error TS2304: Cannot find name 'x'.
npm error Lifecycle script `build` failed with error:
npm error code 2
npm error path /tmp/obsbox-build-prometheus-x/src/web/ui/mantine-ui
npm error workspace @prometheus-io/mantine-ui@0.305.0
npm error location /tmp/obsbox-build-prometheus-x/src/web/ui/mantine-ui
npm error command failed
npm error command sh -c tsc && vite build
"""


@pytest.mark.parametrize(
    ("output", "reason"),
    [
        (NPM_REFUSED, "E403 403 403 Forbidden - GET https://registry.npmjs.org/@mantine%2fcore - Forbidden"),
        (NPM_OFFLINE, "ENOTFOUND network request to https://registry.npmjs.org/vite failed, reason: "
                      "getaddrinfo ENOTFOUND registry.npmjs.org"),
        (OLD_NPM, "ECONNREFUSED FetchError: request to http://127.0.0.1:9/vite failed, reason: connect "
                  "ECONNREFUSED 127.0.0.1:9"),
        (TSC_FAILED, "Lifecycle script `build` failed with error: src/App.tsx(3,1): error TS2304: Cannot find name 'x'."),
        ("src/App.tsx(3,1): error TS2304: Cannot find name 'x'.\n\n", "src/App.tsx(3,1): error TS2304: Cannot find name 'x'."),
        ("", "no output"),
    ],
)
def test_failure_reason_is_npm_code_and_message_or_last_line(output: str, reason: str) -> None:
    """npm's error code and first real message; for other tools, their last line."""
    assert failure_reason(output) == reason


def test_failure_reason_is_one_bounded_line() -> None:
    """A huge or multi-line message becomes one line of at most `limit` characters."""
    reason = failure_reason("npm error code E500\nnpm error " + "x " * 500, limit=80)
    assert "\n" not in reason
    assert len(reason) == 80
    assert reason.startswith("E500 x x") and reason.endswith("...")


def test_prometheus_builds_its_ui_as_upstream_then_embeds_it() -> None:
    """npm ci on the lockfile, build_ui.sh, licenses, compress_assets.sh; then tags netgo,builtinassets."""
    spec = spec_for("prometheus")
    assert spec.steps == PROMETHEUS_UI_STEPS
    assert spec.tags == ("netgo", "builtinassets")
    assert [step.argv[:2] for step in spec.steps][0] == ("npm", "ci")
    assert spec.steps[0].cwd == "web/ui"
    assert "buildModule; buildMantineUI" in spec.steps[1].argv[-1]
    assert "buildReactApp" not in spec.steps[1].argv[-1]
    assert spec.steps[-1].argv == ("bash", "scripts/compress_assets.sh")
    assert "npm_licenses.tar.bz2" in spec.license_files
    assert spec.needs_node
    # The other releases have no steps and need no Node.js.
    assert [s.component for s in catalog() if s.steps] == ["prometheus"]


def test_build_key_follows_the_ui_steps_and_node() -> None:
    """Changing a UI step, the tags or Node.js means building Prometheus again; others ignore Node.js."""
    spec = spec_for("prometheus")
    key = build_key(spec, "go1.26.8", "v20.20.2")
    assert build_key(spec, "go1.26.8", "v20.20.2") == key
    assert build_key(spec, "go1.26.8", "v22.1.0") != key
    assert build_key(replace(spec, steps=spec.steps[:-1]), "go1.26.8", "v20.20.2") != key
    assert build_key(replace(spec, tags=("netgo",)), "go1.26.8", "v20.20.2") != key
    assert build_key(replace(spec, steps=()), "go1.26.8", "v20.20.2") != key
    for component in ("alertmanager", "node_exporter", "otelcol"):
        other = spec_for(component)
        assert build_key(other, "go1.26.8", "v20.20.2") == build_key(other, "go1.26.8") == build_key(other, "go1.26.8", "")


def test_missing_tool_fails_naming_the_step(tmp_path: Path) -> None:
    """A step whose tool is not installed fails at once, one line naming the release and the step."""
    step = BuildStep("web UI: npm ci (web/ui/package-lock.json)", ".", ("obsbox-no-such-npm", "ci"))
    spec = replace(spec_for("prometheus"), steps=(step,))
    with pytest.raises(BuildError) as raised:
        run_step(spec, step, tmp_path)
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"prometheus {spec.version}: web UI: npm ci")
    assert "`obsbox-no-such-npm` is not installed" in message
