"""`obsbox tune` as a user runs it: real Prometheus and promtool over the shipped corpus."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from tune_process import run_obsbox


def _tune(shipped: Path, cache: Path, alert: str, *extra: str | Path) -> tuple[int, str, str]:
    named = ("--alert", alert) if alert else ()
    proc = run_obsbox(
        "tune", *named, "--rules", shipped, "--incidents", shipped / "incidents", "--slos", shipped / "slos.yaml",
        *extra, cache=cache,
    )
    return proc.returncode, proc.stdout, proc.stderr


def test_slo_fast_burn_gives_table_recommendation_and_diff_deterministically(shipped: Path, block_cache: Path, tmp_path: Path) -> None:
    """Same inputs, same stdout (table, held-out scores, recommendation, diff); the JSON agrees with the table."""
    args = ("--sweep", "factor=0.5,1,1.5", "--sweep", "for=0s,2m,5m", "--json", tmp_path / "a.json")
    code, first, err = _tune(shipped, block_cache, "SloAvailabilityBurnRateFast", *args)
    assert code == 0, err
    code, second, err = _tune(shipped, block_cache, "SloAvailabilityBurnRateFast", *args)
    assert code == 0, err
    assert first == second
    assert "Pareto front" in first and "Held out" in first and "recommendation rule:" in first
    report = json.loads((tmp_path / "a.json").read_text())
    assert len(report["variants"]) == 9
    assert report["variants"][0]["values"] == {"factor": "1", "windows": "1h/5m+6h/30m", "min_requests_per_hour": "100", "for": "2m"}
    current = report["variants"][0]["scores"]["corpus"]
    # The current rule scores as `obsbox replay` scores it: 5 of 5 windows, no noise page.
    assert (current["caught"], current["windows"]) == (5, 5)
    chosen = report["variants"][report["recommended"]]
    assert f"recommended: v{report['recommended']:03d}" in first
    assert set(report["parts"]) == {"corpus", "tune", "held-out"}
    assert not set(report["parts"]["tune"]) & set(report["parts"]["held-out"])
    if report["diff"]:
        assert f"--- {shipped / 'slos.yaml'}" in first
        assert chosen["values"] != report["variants"][0]["values"]


@pytest.mark.parametrize(
    "alert",
    ["SloLatencyBurnRateFast", "JobFailureRatioHigh", "TenantErrorRatioOutlier", "JobQueueBacklogGrowing"],
)
def test_latency_job_and_tenant_rules_tune(shipped: Path, block_cache: Path, tmp_path: Path, alert: str) -> None:
    """Each kind of rule gets a table with the current rule catching its incident, and a recommendation."""
    code, out, err = _tune(shipped, block_cache, alert, "--sweep", "for", "--json", tmp_path / "r.json")
    assert code == 0, err
    report = json.loads((tmp_path / "r.json").read_text())
    current = report["variants"][0]["scores"]["corpus"]
    assert current["windows"] >= 1 and current["caught"] == current["windows"], current
    assert "v000 (current" in out and "recommended: v" in out


def test_apply_writes_the_variant_that_replay_then_scores_the_same(shipped: Path, block_cache: Path, tmp_path: Path) -> None:
    """After --apply, `obsbox replay` of the edited rule file gives the recommended variant's numbers."""
    code, out, err = _tune(
        shipped, block_cache, "JobQueueBacklogGrowing", "--sweep", "t1=150,300", "--sweep", "for=0s,10m",
        "--json", tmp_path / "t.json", "--apply",
    )
    assert code == 0, err
    report = json.loads((tmp_path / "t.json").read_text())
    chosen = report["variants"][report["recommended"]]
    assert report["diff"] and "applied to" in out
    rules = yaml.safe_load((shipped / "jobs.rules.yaml").read_text())
    rule = next(r for g in rules["groups"] for r in g["rules"] if r.get("alert") == "JobQueueBacklogGrowing")
    assert f"> {chosen['values']['t1']}" in rule["expr"]
    assert rule.get("for", "0s") == chosen["values"]["for"]
    replay = run_obsbox(
        "replay", "--rules", shipped / "jobs.rules.yaml", "--incidents", shipped / "incidents", "--json", tmp_path / "r.json",
        cache=block_cache,
    )
    assert replay.returncode in (0, 1), replay.stderr
    scored = next(r for r in json.loads((tmp_path / "r.json").read_text())["rules"] if r.get("alert") == "JobQueueBacklogGrowing")
    want = chosen["scores"]["corpus"]
    assert (scored["caught"], scored["windows"]) == (want["caught"], want["windows"])
    assert scored["detection_time_s"]["max"] == want["detection_max_s"]


def test_manifest_window_outside_the_data_fails_before_any_backfill(shipped: Path, tmp_path: Path) -> None:
    """A window past the data's end is refused with the manifest's line, and nothing was backfilled."""
    manifest = shipped / "incidents" / "queue-backlog.yaml"
    text = manifest.read_text().replace("end: '2026-11-02T03:00:00Z'", "end: '2026-11-09T03:00:00Z'")
    manifest.write_text(text.replace("end: '2026-11-02T04:00:00Z'", "end: '2026-11-09T04:00:00Z'"))
    cache = tmp_path / "empty-cache"
    code, _, err = _tune(shipped, cache, "JobQueueBacklogGrowing")
    assert code == 2
    assert f"{manifest}:" in err and "outside the data" in err, err
    assert not cache.exists() or not any(cache.rglob("meta.json")), "blocks were made before the manifest was checked"


def test_unknown_alert_and_bad_sweep_are_one_line_errors(shipped: Path, block_cache: Path) -> None:
    code, _, err = _tune(shipped, block_cache, "NoSuchAlert")
    assert code == 2 and "no alerting rule named 'NoSuchAlert'" in err
    code, _, err = _tune(shipped, block_cache, "JobQueueBacklogGrowing", "--sweep", "for=soon")
    assert code == 2 and "for='soon'" in err


def test_group_tunes_every_alert_in_one_replay_and_chains_their_edits(shipped: Path, block_cache: Path, tmp_path: Path) -> None:
    """--group jobs: a table per alert of the group, one diff of jobs.rules.yaml holding every
    recommendation, and --apply writes exactly those."""
    code, out, err = _tune(shipped, block_cache, "", "--group", "jobs", "--sweep", "for=0s,1m", "--json", tmp_path / "g.json", "--apply")
    assert code == 0, err
    report = json.loads((tmp_path / "g.json").read_text())
    alerts = {a["alert"]: a for a in report["alerts"]}
    shipped_alerts = {r["alert"] for g in yaml.safe_load((shipped / "jobs.rules.yaml").read_text())["groups"] for r in g["rules"] if "alert" in r}
    assert set(alerts) == shipped_alerts and "JobQueueBacklogGrowing" in alerts
    assert out.count(f"--- {shipped / 'jobs.rules.yaml'}") <= 1
    rules = {r["alert"]: r for g in yaml.safe_load((shipped / "jobs.rules.yaml").read_text())["groups"] for r in g["rules"] if "alert" in r}
    for name, a in alerts.items():
        chosen = a["variants"][a["recommended"]]["values"]
        assert rules[name].get("for", "0s") == chosen["for"], name
