"""Replay two rule sets on one corpus and tabulate the rule tester's scores side by side.

The shipped corpus names the shipped alerts in its expectations, which another rule set cannot
meet by construction. For the comparison each incident's expectations are rewritten to what any
rule set can meet: the *severity* of the alert the manifest names, with the same ``within`` and
only the labels every rule set keeps (job, queue, tenant, mountpoint). Noise recordings are
unchanged. Both rule sets are then scored by ``obsbox replay`` on that same rewritten corpus.

    obsbox rules compare            # prints the markdown table
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from obsbox.rules.catalog import iter_alerts, rule_files

KEPT_LABELS = ("job", "queue", "tenant_id", "mountpoint")


def severities(rule_paths: Sequence[Path]) -> dict[str, str]:
    """alertname -> severity over these rule files."""
    return {
        a.name: str((a.rule.get("labels") or {}).get("severity", ""))
        for p in rule_paths
        for a in iter_alerts(p)
    }


def severity_manifest(data: Mapping[str, Any], severity_of: Mapping[str, str]) -> dict[str, Any]:
    """The manifest with each named-alert expectation turned into a severity expectation."""
    out = dict(data)
    expect = dict(out.get("expect") or {})
    fire = []
    for entry in expect.get("fire", []):
        new: dict[str, Any] = {"within": entry["within"]}
        if "alert" in entry:
            if entry["alert"] not in severity_of:
                raise ValueError(f"{data.get('name')}: expects unknown alert {entry['alert']!r}")
            new["severity"] = severity_of[entry["alert"]]
        else:
            new["severity"] = entry["severity"]
        labels = {k: v for k, v in (entry.get("labels") or {}).items() if k in KEPT_LABELS}
        if labels:
            new["labels"] = labels
        fire.append(new)
    if fire:
        expect["fire"] = fire
        out["expect"] = expect
    return out


def severity_corpus(src: Path, dst: Path, severity_of: Mapping[str, str]) -> None:
    """Write the rewritten manifests into dst, with links to src's data files."""
    dst.mkdir(parents=True, exist_ok=True)
    for manifest in sorted(src.glob("*.yaml")):
        data = yaml.safe_load(manifest.read_text(encoding="utf-8"))
        data_file = data.get("data", f"{manifest.stem}.om")
        (dst / data_file).symlink_to((src / data_file).resolve())
        (dst / manifest.name).write_text(
            yaml.safe_dump(severity_manifest(data, severity_of), sort_keys=False)
        )


def replay(rules: Sequence[Path], incidents: Path, json_out: Path) -> dict[str, Any]:
    """Run `obsbox replay` and return its JSON report (its exit status only says pass/fail)."""
    args = [arg for r in rules for arg in ("--rules", str(r))]
    subprocess.run(
        [
            sys.executable,
            "-m",
            "obsbox.cli",
            "replay",
            *args,
            "--incidents",
            str(incidents),
            "--json",
            str(json_out),
        ],
        check=False,
        capture_output=True,
        text=True,
    )
    if not json_out.exists():
        raise RuntimeError(f"obsbox replay wrote no report for {[str(r) for r in rules]}")
    report: dict[str, Any] = json.loads(json_out.read_text())
    return report


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    seconds = int(seconds)
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    h, rem = divmod(seconds, 3600)
    m, s = divmod(rem, 60)
    return sign + (f"{h}h{m:02d}m" if h else f"{m}m" if not s else f"{m}m{s:02d}s")


def _ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def precision_without(report: Mapping[str, Any], alertname: str = "Watchdog") -> float | None:
    """Precision over every episode except those of `alertname` (the Watchdog fires by design)."""
    episodes = [
        e for r in report["recordings"] for e in r["episodes"] if e["labels"].get("alertname") != alertname
    ]
    return sum(1 for e in episodes if e["relevant"]) / len(episodes) if episodes else None


def table(reports: Mapping[str, Mapping[str, Any]]) -> str:
    """A markdown table of the summaries, one row per rule set."""
    lines = [
        "| rule set | incident windows caught | recall | precision | precision without Watchdog | noise pages | "
        "failed expectations | detection median / max | reset median / max |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, report in reports.items():
        s = report["summary"]
        det, rst = s["detection_time_s"], s["reset_time_s"]
        lines.append(
            f"| {name} | {s['caught']} of {s['windows']} | {_ratio(s['recall'])} | {_ratio(s['precision'])} | "
            f"{_ratio(precision_without(report))} | {s['noise_pages']} | {len(s['failures'])} | {_duration(det['median'])} / {_duration(det['max'])} | "
            f"{_duration(rst['median'])} / {_duration(rst['max'])} |"
        )
    return "\n".join(lines) + "\n"



def compare(rules_dir: Path, naive: Path, incidents: Path, json_dir: Path | None = None) -> dict[str, dict[str, Any]]:
    """Both rule sets' replay reports on the severity-rewritten corpus, by rule-set title."""
    shipped = rule_files(rules_dir)
    with tempfile.TemporaryDirectory(prefix="obsbox-compare-") as tmp:
        corpus = Path(tmp) / "corpus"
        severity_corpus(incidents, corpus, severities(shipped))
        out = json_dir or Path(tmp)
        out.mkdir(parents=True, exist_ok=True)
        return {
            "shipped (alert_rules/*.rules.yaml)": replay(shipped, corpus, out / "shipped.json"),
            "naive (static thresholds, for: 1m)": replay([naive], corpus, out / "naive.json"),
        }


def failures_text(reports: Mapping[str, Mapping[str, Any]]) -> str:
    """Each rule set's failed expectations, one line each, under its title."""
    return "".join(
        f"\n{name}: {len(r['summary']['failures'])} failed expectation(s)\n"
        + "".join(f"- {f}\n" for f in r["summary"]["failures"])
        for name, r in reports.items()
    )
