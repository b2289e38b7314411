"""The recommended change as new file text, a unified diff, and an atomic write.

Rule files are edited as text, not re-dumped, so comments and layout stay: the ``for`` and
``keep_firing_for`` lines of the rule's block, and the numbers its expression compares with.
Every edit is checked by loading the new text back: when the result is not exactly the variant
(an expression written in a way the text edit cannot follow), the error says so instead of
writing something else. SLO changes go to ``slos.yaml`` (its ``burn_rates`` block and the
services' ``min_requests_per_hour``), and ``slo.rules.yaml`` is rendered again from it.
"""

from __future__ import annotations

import difflib
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from obsbox import formats
from obsbox.formats import format_duration, parse_duration
from obsbox.replay.rules import RuleFileError, load_rule_groups
from obsbox.rules import slo as slo_rules
from obsbox.tune.space import RuleTarget, SloTarget, TuneError, comparison_literals


@dataclass(frozen=True)
class FileChange:
    path: Path
    old: str
    new: str

    def diff(self) -> str:
        name = str(self.path)
        return "".join(
            difflib.unified_diff(
                self.old.splitlines(keepends=True), self.new.splitlines(keepends=True), name, name
            )
        )


def apply_changes(changes: Sequence[FileChange]) -> None:
    for change in changes:
        if change.new != change.old:
            formats.write_atomically(change.path, change.new)


# --- plain rule files -------------------------------------------------------------------------


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _block(lines: list[str], start: int) -> tuple[int, int, int]:
    """(first line index, end index, key indent) of the rule whose ``- alert:`` is at ``start``."""
    first = lines[start]
    dash = first.index("-") if first.lstrip().startswith("-") else _indent(first)
    key_indent = dash + 2 if first.lstrip().startswith("-") else dash
    end = start + 1
    while end < len(lines):
        line = lines[end]
        if line.strip() and _indent(line) <= dash:
            break
        end += 1
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1
    return start, end, key_indent


def _key_line(lines: list[str], lo: int, hi: int, key: str, indent: int) -> int | None:
    pattern = re.compile(rf"^( {{{indent}}}|\s*- ){re.escape(key)}:(\s|$)")
    for i in range(lo, hi):
        if pattern.match(lines[i]) and (_indent(lines[i]) == indent or lines[i].lstrip().startswith("- ")):
            return i
    return None


def _key_end(lines: list[str], at: int, hi: int, indent: int) -> int:
    """The line after a key's value (a block scalar runs while lines are indented deeper)."""
    j = at + 1
    while j < hi and (not lines[j].strip() or _indent(lines[j]) > indent):
        j += 1
    return j


def _set_duration(
    lines: list[str], lo: int, hi: int, indent: int, key: str, value_s: float, after: Sequence[str]
) -> int:
    """Set, add or remove a duration key of the rule block; the change in line count."""
    at = _key_line(lines, lo, hi, key, indent)
    if at is not None:
        if value_s == 0:
            del lines[at]
            return -1
        newline = "\n" if lines[at].endswith("\n") else ""
        lines[at] = (
            re.sub(
                rf"({re.escape(key)}:\s*)\S+",
                lambda m: m.group(1) + format_duration(value_s),
                lines[at].rstrip("\n"),
                count=1,
            )
            + newline
        )
        return 0
    if value_s == 0:
        return 0
    insert = None
    for previous in after:
        prev = _key_line(lines, lo, hi, previous, indent)
        if prev is not None:
            insert = _key_end(lines, prev, hi, indent)
    if insert is None:
        insert = hi
    lines.insert(insert, " " * indent + f"{key}: {format_duration(value_s)}\n")
    return 1


def edit_rule_text(text: str, line: int, values: Mapping[str, str], path: Path) -> str:
    """The rule file text with the rule at ``line`` (1-based) set to these parameter values."""
    lines = text.splitlines(keepends=True)
    lo, hi, indent = _block(lines, line - 1)
    expr_at = _key_line(lines, lo, hi, "expr", indent)
    if expr_at is None:
        raise TuneError(f"{path}:{line}: cannot find the rule's expr line to edit")
    expr_end = _key_end(lines, expr_at, hi, indent)
    thresholds = {int(k[1:]) - 1: v for k, v in values.items() if re.fullmatch(r"t\d+", k)}
    if thresholds:
        region = "".join(lines[expr_at:expr_end])
        head = region.index(":") + 1  # after "expr:"
        # And after a block scalar's indicator line (``|``, ``>-``): the expression starts below it.
        block = re.match(r"[ \t]*[|>][+-]?\d*[+-]?[ \t]*(#.*)?\n", region[head:])
        if block:
            head += block.end()
        body = region[head:]
        try:
            lits = comparison_literals(body)
        except TuneError as exc:
            raise TuneError(f"{path}:{line}: {exc}") from None
        for k in sorted(thresholds, reverse=True):
            if k >= len(lits):
                raise TuneError(f"{path}:{line}: the expression has no comparison number t{k + 1}")
            lit = lits[k]
            body = body[: lit.start] + thresholds[k] + body[lit.end :]
        lines[expr_at:expr_end] = (region[:head] + body).splitlines(keepends=True)
        hi += len(lines) - len(text.splitlines(keepends=True))
    if "for" in values:
        hi += _set_duration(lines, lo, hi, indent, "for", parse_duration(values["for"]), ["expr"])
    if "keep_firing_for" in values:
        hi += _set_duration(
            lines,
            lo,
            hi,
            indent,
            "keep_firing_for",
            parse_duration(values["keep_firing_for"]),
            ["expr", "for"],
        )
    return "".join(lines)


def _check_rule_file(path: Path, new: str, wanted: Sequence[tuple[str, int, dict[str, Any]]]) -> None:
    """Load the new text and check each edited rule is the variant, exactly."""
    with tempfile.TemporaryDirectory(prefix="obsbox-tune-") as tmp:
        probe = Path(tmp) / path.name
        probe.write_text(new, encoding="utf-8")
        try:
            groups = load_rule_groups([probe])
        except RuleFileError as exc:
            raise TuneError(f"{path}: the edited file does not load: {exc}") from None
    rules = {(r.group, r.alert, r.index): r for g in groups for r in g.rules if r.alert}
    for group, index, doc in wanted:
        rule = rules.get((group, doc["alert"], index))
        got = (rule.expr.strip(), rule.for_ms / 1000, rule.keep_firing_for_ms / 1000) if rule else None
        want = (
            str(doc["expr"]).strip(),
            parse_duration(doc.get("for", "0s")),
            parse_duration(doc.get("keep_firing_for", "0s")),
        )
        if got != want:
            raise TuneError(
                f"{path}: editing {doc['alert']} (group {group}) as text did not give the variant; change it by hand to: "
                f"for {format_duration(want[1])}, keep_firing_for {format_duration(want[2])}, expr {want[0]!r}"
            )


def rule_changes(
    target: RuleTarget, values: Mapping[str, str], texts: Mapping[Path, str] | None = None
) -> list[FileChange]:
    """The rule files with every instance of the alert set to these values (starting from
    ``texts`` where given: edits of several alerts to one file chain)."""
    docs = target.variant_rules(values)
    by_file: dict[Path, list[tuple[int, tuple[str, int, dict[str, Any]]]]] = {}
    for (rule, _), variant in zip(target.rules, docs):
        by_file.setdefault(Path(rule.source_file), []).append(
            (rule.line, (rule.group, rule.index, variant.doc))
        )
    changes = []
    for path, edits in by_file.items():
        old = texts[path] if texts and path in texts else path.read_text(encoding="utf-8")
        new = old
        for line, _ in sorted(edits, key=lambda e: -e[0]):  # from the bottom: lines above stay put
            new = edit_rule_text(new, line, values, path)
        _check_rule_file(path, new, [w for _, w in edits])
        changes.append(FileChange(path, old, new))
    return changes


# --- slos.yaml --------------------------------------------------------------------------------


def _burn_rates_block(settings: slo_rules.SloSettings) -> str:
    def policy(p: slo_rules.BurnPolicy) -> dict[str, Any]:
        return {
            "for": p.for_,
            "tiers": [{"budget_share": t.budget_share, "long": t.long, "short": t.short} for t in p.tiers],
        }

    rates: dict[str, dict[str, Any]] = {}
    for (kind, speed), p in settings.burn_rates:
        rates.setdefault(kind, {})[speed] = policy(p)
    data = {"burn_rates": rates}
    body = yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=120)
    return (
        "# Burn-rate tiers and `for` of SLO alerts that differ from the workbook's (set by `obsbox tune`).\n"
        + body
    )


def edit_slos_text(text: str, settings: slo_rules.SloSettings) -> str:
    lines = text.splitlines(keepends=True)
    # min_requests_per_hour of each service, in file order.
    guards = iter(svc.min_requests_per_hour for svc in settings.services)
    out: list[str] = []
    pending_job: int | None = None
    for line in lines:
        if re.match(r"^\s*-\s+job:", line):
            pending_job = len(out)
        m = re.match(r"^(\s*)min_requests_per_hour:\s*\S+", line)
        if m:
            out.append(f"{m.group(1)}min_requests_per_hour: {next(guards)}\n")
            pending_job = None
            continue
        out.append(line)
    del pending_job
    remaining = list(guards)
    if remaining:
        raise TuneError(
            "slos.yaml: some services have no min_requests_per_hour line to set; add one to each service"
        )
    new = "".join(out)
    if settings.burn_rates or "\nburn_rates:" in "\n" + new:
        block = _burn_rates_block(settings) if settings.burn_rates else ""
        kept = new.splitlines(keepends=True)
        start = next((i for i, ln in enumerate(kept) if ln.startswith("burn_rates:")), None)
        if start is None:
            new = new.rstrip("\n") + "\n" + block
        else:
            if start > 0 and kept[start - 1].startswith("# Burn-rate tiers"):
                start -= 1
            end = start + 1
            while end < len(kept) and (
                not kept[end].strip() or kept[end][0] in " \t-" or kept[end].startswith("burn_rates")
            ):
                end += 1
            new = "".join(kept[:start]) + block + "".join(kept[end:])
    return new


def slo_changes(
    target: SloTarget,
    values: Mapping[str, str],
    slos_path: Path,
    rules_path: Path,
    *,
    settings: slo_rules.SloSettings | None = None,
) -> list[FileChange]:
    """slos.yaml with the variant's values (or these ``settings``), and slo.rules.yaml rendered from it."""
    settings = settings if settings is not None else target.settings_for(values)
    old = slos_path.read_text(encoding="utf-8")
    new = edit_slos_text(old, settings)
    try:
        check = slo_rules.parse_slos(yaml.safe_load(new), str(slos_path))
    except (slo_rules.SloError, yaml.YAMLError) as exc:
        raise TuneError(f"{slos_path}: the edited file does not load: {exc}") from None
    if check != settings:
        raise TuneError(f"{slos_path}: editing as text did not give the variant; set it by hand")
    changes = [FileChange(slos_path, old, new)]
    old_rules = rules_path.read_text(encoding="utf-8") if rules_path.is_file() else ""
    changes.append(FileChange(rules_path, old_rules, slo_rules.render_slo_rules(settings)))
    return changes
