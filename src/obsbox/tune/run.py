"""The edge of `obsbox tune`: every variant of the rule, over every recording, in one replay.

The variants are renamed apart (``<alert>__v007``) into one rule file beside the recording rules
they read, and the corpus is replayed once: one backfill and one Prometheus for the whole run,
each distinct expression queried once (variants that differ in ``for`` share their query; so do
those that differ in the number a top-level ``LHS > N`` compares with). Each variant is then
scored on its own under the alert's real name, over the whole corpus and over each part of the
tune / held-out split.
"""

from __future__ import annotations

import dataclasses
import functools
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from obsbox.promql import references
from obsbox.replay.model import AlertRuleResult, Evaluation
from obsbox.replay.recording import Recording, load_manifests, read_data, resolve_range
from obsbox.replay.rules import Rule, load_rule_groups
from obsbox.replay.runner import check_manifests, expand_rule_paths
from obsbox.rules import slo as slo_rules
from obsbox.tune import edit, scores, space
from obsbox.tune.split import DEFAULT_SEED, Split, split_corpus

VARIANT_SEP = "__v"


@dataclass(frozen=True)
class PartResult:
    """The variants scored over one set of recordings."""

    name: str  # "corpus", "tune", "held-out"
    recordings: tuple[str, ...]
    scores: tuple[scores.VariantScore, ...]


@dataclass(frozen=True)
class TuneResult:
    target: space.RuleTarget | space.SloTarget
    params: tuple[space.Param, ...]
    swept: tuple[str, ...]
    variants: tuple[space.Variant, ...]
    corpus: PartResult
    tune: PartResult | None
    held_out: PartResult | None
    recommended: int  # index into variants, chosen on the whole corpus
    tuned: int | None  # chosen on the tune part (scored on the held-out part)
    front: tuple[int, ...]
    changes: tuple[edit.FileChange, ...]
    split: Split | None
    seconds: float = 0.0

    @property
    def changed(self) -> list[int]:
        current = {p.name: p.current for p in self.params}
        return [sum(current.get(k) != v for k, v in var.values) for var in self.variants]


def load_target(
    alert: str, rule_paths: Sequence[Path], slos_path: Path | None
) -> space.RuleTarget | space.SloTarget:
    if alert in space.SLO_ALERTS and slos_path is not None:
        if not slos_path.is_file():
            raise space.TuneError(f"{slos_path}: no such SLO file (--slos)")
        try:
            return space.slo_target(alert, slo_rules.load_slos(slos_path))
        except slo_rules.SloError as exc:
            raise space.TuneError(str(exc)) from None
    return space.rule_target(alert, load_rule_groups(expand_rule_paths(rule_paths)))


def _needed_recording_rules(exprs: Sequence[str], rules: Sequence[Rule]) -> list[Rule]:
    """The recording rules the expressions read, through other recording rules too."""
    wanted: list[Rule] = []
    frontier = list(exprs)
    seen: set[int] = set()
    while frontier:
        expr = frontier.pop()
        for i, r in enumerate(rules):
            if i not in seen and r.record and references(expr, r.record):
                seen.add(i)
                frontier.append(r.expr)
    for i, r in enumerate(rules):
        if i in seen:
            wanted.append(r)
    return wanted


def _record_doc(rule: Rule) -> dict[str, Any]:
    doc: dict[str, Any] = {"record": rule.record, "expr": rule.expr}
    if rule.labels:
        doc["labels"] = dict(rule.labels)
    return doc


def variant_rule_file(
    target: space.RuleTarget | space.SloTarget, variants: Sequence[space.Variant], rule_paths: Sequence[Path]
) -> dict[str, Any]:
    """One rule file with every variant (renamed apart) and the recording rules they read."""
    per_variant = [(v, target.variant_rules(v.as_dict)) for v in variants]
    groups: dict[str, dict[str, Any]] = {}

    def group(name: str, interval_ms: int) -> dict[str, Any]:
        return groups.setdefault(name, {"name": name, "interval": f"{interval_ms // 1000}s", "rules": []})

    exprs = [r.doc["expr"] for _, docs in per_variant for r in docs]
    if isinstance(target, space.SloTarget):
        records: list[tuple[str, int, dict[str, Any]]] = []
        for g in target.recording_groups():
            interval = round(slo_rules.hours(g["interval"]) * 3600_000)
            records.extend((g["name"], interval, r) for r in g["rules"])
        as_rules = [Rule(name, 0, r["expr"], "", 0, record=r["record"]) for name, _, r in records]
        keep = {id(r) for r in _needed_recording_rules(exprs, as_rules)}
        for (name, interval, doc), rule in zip(records, as_rules):
            if id(rule) in keep:
                group(name, interval)["rules"].append(doc)
    else:
        all_groups = load_rule_groups(expand_rule_paths(rule_paths))
        all_rules = [r for g in all_groups for r in g.rules]
        intervals = {(g.source_file, g.name): g.interval_ms for g in all_groups}
        for r in _needed_recording_rules(exprs, all_rules):
            group(r.group, intervals[(r.source_file, r.group)])["rules"].append(_record_doc(r))
    for variant, docs in per_variant:
        for vr in docs:
            doc = dict(vr.doc)
            doc["alert"] = f"{doc['alert']}{VARIANT_SEP}{variant.index:03d}"
            group(vr.group, vr.interval_ms)["rules"].append(doc)
    return {"groups": list(groups.values())}


def _by_variant(evaluation: Evaluation, alert: str, count: int) -> list[list[AlertRuleResult]]:
    out: list[list[AlertRuleResult]] = [[] for _ in range(count)]
    prefix = alert + VARIANT_SEP
    for rule in evaluation.rules:
        if rule.name.startswith(prefix):
            out[int(rule.name[len(prefix) :])].append(rule)
    return out


def _score_part(
    name: str,
    alert: str,
    names: Sequence[str] | None,
    recordings: Sequence[Recording],
    evaluations: Sequence[Evaluation],
    per_variant: Sequence[Sequence[Sequence[AlertRuleResult]]],  # [recording][variant] -> results
    count: int,
) -> PartResult:
    keep = [i for i, r in enumerate(recordings) if names is None or r.name in names]
    recs = [recordings[i] for i in keep]
    evs = [evaluations[i] for i in keep]
    out = []
    for v in range(count):
        out.append(scores.variant_score(alert, recs, evs, [per_variant[i][v] for i in keep]))
    return PartResult(name, tuple(r.name for r in recs), tuple(out))


def resolve_alerts(alerts: Sequence[str], group: str | None, rule_paths: Sequence[Path], slos_path: Path | None) -> list[str]:
    """The alerts to tune: those named, then every alert of ``group`` (a rule group's name in the
    rule files, or an SLO group ``slo-<job>``), each once, in file order."""
    out = list(dict.fromkeys(alerts))
    if group is not None:
        groups = load_rule_groups(expand_rule_paths(rule_paths))
        found = [r.alert for g in groups if g.name == group for r in g.rules if r.alert]
        if not found and slos_path is not None and slos_path.is_file() and group.startswith("slo-"):
            found = list(space.SLO_ALERTS)
        if not found:
            raise space.TuneError(f"no rule group named {group!r} with alerting rules in the rule files")
        out.extend(a for a in found if a not in out)
    if not out:
        raise space.TuneError("name an alert (--alert NAME) or a group (--group NAME)")
    return out


def _merge_docs(docs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One rule file from several: groups of the same name joined, each rule once."""
    groups: dict[str, dict[str, Any]] = {}
    seen: set[str] = set()
    for doc in docs:
        for g in doc["groups"]:
            merged = groups.setdefault(g["name"], {"name": g["name"], "interval": g["interval"], "rules": []})
            for rule in g["rules"]:
                key = yaml.safe_dump([g["name"], rule], sort_keys=True)
                if key not in seen:
                    seen.add(key)
                    merged["rules"].append(rule)
    # Recording rules first in each group: they feed the alerts of the same evaluation.
    for g in groups.values():
        g["rules"].sort(key=lambda r: 0 if "record" in r else 1)
    return {"groups": list(groups.values())}


def run_tune_many(
    alerts: Sequence[str],
    rule_paths: Sequence[Path],
    incidents_dir: Path,
    *,
    slos_path: Path | None = None,
    sweep: Sequence[str] = (),
    seed: int = DEFAULT_SEED,
    holdout: bool = True,
    progress: Callable[[str, float], None] | None = None,
) -> tuple[list[TuneResult], list[edit.FileChange]]:
    """Tune several alerts in one replay (one backfill, one Prometheus): each alert's result, and
    the changes of all their recommendations together (edits to one file chained)."""
    import time

    from obsbox.replay import engine

    started = time.monotonic()
    targets = [load_target(a, rule_paths, slos_path) for a in alerts]
    plans = []
    for target in targets:
        if sweep:
            # With several alerts, a --sweep names a parameter some of them may not have.
            names = {p.name for p in target.params}
            mine = [s for s in sweep if s.partition("=")[0].strip() in names] if len(targets) > 1 else list(sweep)
            grids = space.parse_sweep(mine, target.params) if mine else {}
        else:
            grids = {n: next(p.grid for p in target.params if p.name == n) for n in space.default_swept(target)}
        plans.append((target, grids, space.variants(target.params, grids)))
    manifests = load_manifests(incidents_dir)
    check_manifests(manifests)
    doc = _merge_docs([variant_rule_file(t, vs, rule_paths) for t, _, vs in plans])
    with tempfile.TemporaryDirectory(prefix="obsbox-tune-") as tmp:
        rule_file = Path(tmp) / "variants.rules.yaml"
        rule_file.write_text(yaml.safe_dump(doc, sort_keys=False, width=1000), encoding="utf-8")
        cases = [
            engine.FileCase(m.data_path, functools.partial(read_data, m), functools.partial(resolve_range, m))
            for m in manifests
        ]
        evaluations = engine.evaluate_many([rule_file], cases, progress=progress)
    recordings = [Recording(m, (), e.start_ms, e.end_ms) for m, e in zip(manifests, evaluations)]
    split = split_corpus(manifests, seed) if holdout else None
    results = []
    texts: dict[Path, str] = {}
    plain: list[tuple[space.RuleTarget, dict[str, str]]] = []
    slo_settings: slo_rules.SloSettings | None = None
    for target, grids, variants in plans:
        alert = target.alert
        n = len(variants)
        per_variant = [_by_variant(e, alert, n) for e in evaluations]
        corpus = _score_part("corpus", alert, None, recordings, evaluations, per_variant, n)
        current = {p.name: p.current for p in target.params}
        changed = [sum(current.get(k) != v for k, v in var.values) for var in variants]
        recommended = scores.recommend(corpus.scores, changed)
        tune_part = held_part = None
        tuned = None
        if split is not None:
            tune_part = _score_part("tune", alert, split.tune, recordings, evaluations, per_variant, n)
            held_part = _score_part("held-out", alert, split.held_out, recordings, evaluations, per_variant, n)
            tuned = scores.recommend(tune_part.scores, changed)
        chosen = variants[recommended].as_dict
        if isinstance(target, space.SloTarget):
            assert slos_path is not None
            own = edit.slo_changes(target, chosen, slos_path, slo_rules_path(slos_path, rule_paths))
            base = target if slo_settings is None else dataclasses.replace(target, settings=slo_settings)
            slo_settings = base.settings_for(chosen)
        else:
            own = edit.rule_changes(target, chosen)
            plain.append((target, chosen))
        results.append(
            TuneResult(
                target=target,
                params=tuple(target.params),
                swept=tuple(grids),
                variants=tuple(variants),
                corpus=corpus,
                tune=tune_part,
                held_out=held_part,
                recommended=recommended,
                tuned=tuned,
                front=tuple(scores.pareto_front(corpus.scores)),
                changes=tuple(c for c in own if c.new != c.old),
                split=split,
                seconds=time.monotonic() - started,
            )
        )
    # Bottom-up through each file: an edit that adds or removes a line leaves the lines of the
    # rules above it where they were.
    for target, chosen in sorted(plain, key=lambda tc: -max(r.line for r, _ in tc[0].rules)):
        for change in edit.rule_changes(target, chosen, texts):
            texts[change.path] = change.new
    combined = [edit.FileChange(path, path.read_text(encoding="utf-8"), text) for path, text in texts.items()]
    if slo_settings is not None:
        assert slos_path is not None
        slo_target = next(t for t, _, _ in plans if isinstance(t, space.SloTarget))
        combined.extend(edit.slo_changes(slo_target, {}, slos_path, slo_rules_path(slos_path, rule_paths), settings=slo_settings))
    return results, [c for c in combined if c.new != c.old]


def slo_rules_path(slos_path: Path, rule_paths: Sequence[Path]) -> Path:
    """The rendered SLO rule file: slo.rules.yaml beside slos.yaml."""
    return slos_path.parent / "slo.rules.yaml"
