"""Fault switches: injected errors and latency per route and per tenant, and job failure/slowness.

Switches come from OBSBOX_DEMO_FAULTS (JSON) at start and from the admin endpoint at runtime.
Under gunicorn every worker is its own process, so runtime changes go through a small JSON file
(OBSBOX_DEMO_FAULTS_FILE) that each process re-reads when its mtime changes; without a file the
switches are local to the process (the dev server).

JSON shape::

    {"rules": [{"route": "/v1/invoices", "tenant": "acme", "error_rate": 0.5,
                "status": 503, "latency_ms": 200, "dependency_delay_ms": 0}],
     "jobs": {"fail_rate": 0.2, "slow_ms": 500}}

``route`` is the Flask route template (``/v1/invoices/<invoice_id>``) or "*"; ``tenant`` a tenant
id or "*". Every matching rule applies: latencies add up, the first rule whose error roll hits
decides the status.
"""

from __future__ import annotations

import json
import os
import random
import tempfile
import threading
from dataclasses import asdict, dataclass, field
from typing import Any

ENV_FAULTS = "OBSBOX_DEMO_FAULTS"
ENV_FAULTS_FILE = "OBSBOX_DEMO_FAULTS_FILE"
MAX_LATENCY_MS = 60_000.0


class FaultError(ValueError):
    """A fault specification that cannot be applied; the message says which field is wrong."""


@dataclass(frozen=True)
class FaultRule:
    route: str = "*"
    tenant: str = "*"
    error_rate: float = 0.0
    status: int = 500
    latency_ms: float = 0.0
    # passed to the payments dependency so the dependency itself is slow (and can time out)
    dependency_delay_ms: float = 0.0

    def matches(self, route: str, tenant: str) -> bool:
        return self.route in ("*", route) and self.tenant in ("*", tenant)


@dataclass(frozen=True)
class JobFaults:
    fail_rate: float = 0.0
    slow_ms: float = 0.0


@dataclass(frozen=True)
class Faults:
    rules: tuple[FaultRule, ...] = ()
    jobs: JobFaults = field(default_factory=JobFaults)

    def to_json(self) -> dict[str, Any]:
        return {"rules": [asdict(r) for r in self.rules], "jobs": asdict(self.jobs)}


@dataclass(frozen=True)
class Decision:
    """What to do to one request: wait this long, then fail with status (or not)."""

    latency_s: float = 0.0
    status: int | None = None
    dependency_delay_ms: float = 0.0


def _number(d: dict[str, Any], key: str, default: float, lo: float, hi: float, where: str) -> float:
    value = d.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise FaultError(f"{where}.{key} must be a number, got {value!r}")
    if not lo <= value <= hi:
        raise FaultError(f"{where}.{key} must be within [{lo}, {hi}], got {value}")
    return float(value)


def parse_faults(data: Any) -> Faults:
    """Validate a JSON-decoded fault specification; raises FaultError naming the bad field."""
    if not isinstance(data, dict):
        raise FaultError("faults must be a JSON object with 'rules' and/or 'jobs'")
    unknown = set(data) - {"rules", "jobs"}
    if unknown:
        raise FaultError(f"unknown fault keys: {sorted(unknown)}")
    rules_in = data.get("rules", [])
    if not isinstance(rules_in, list):
        raise FaultError("rules must be a list")
    rules = []
    allowed = {f for f in FaultRule.__dataclass_fields__}
    for i, r in enumerate(rules_in):
        where = f"rules[{i}]"
        if not isinstance(r, dict):
            raise FaultError(f"{where} must be an object")
        extra = set(r) - allowed
        if extra:
            raise FaultError(f"{where} has unknown keys {sorted(extra)}; allowed: {sorted(allowed)}")
        for key in ("route", "tenant"):
            if not isinstance(r.get(key, "*"), str) or not r.get(key, "*"):
                raise FaultError(f"{where}.{key} must be a non-empty string")
        status = r.get("status", 500)
        if not isinstance(status, int) or isinstance(status, bool) or not 400 <= status <= 599:
            raise FaultError(f"{where}.status must be an HTTP error status 400-599, got {status!r}")
        rules.append(
            FaultRule(
                route=r.get("route", "*"),
                tenant=r.get("tenant", "*"),
                error_rate=_number(r, "error_rate", 0.0, 0.0, 1.0, where),
                status=status,
                latency_ms=_number(r, "latency_ms", 0.0, 0.0, MAX_LATENCY_MS, where),
                dependency_delay_ms=_number(r, "dependency_delay_ms", 0.0, 0.0, MAX_LATENCY_MS, where),
            )
        )
    jobs_in = data.get("jobs", {})
    if not isinstance(jobs_in, dict) or set(jobs_in) - {"fail_rate", "slow_ms"}:
        raise FaultError("jobs must be an object with only fail_rate and slow_ms")
    jobs = JobFaults(
        fail_rate=_number(jobs_in, "fail_rate", 0.0, 0.0, 1.0, "jobs"),
        slow_ms=_number(jobs_in, "slow_ms", 0.0, 0.0, MAX_LATENCY_MS, "jobs"),
    )
    return Faults(tuple(rules), jobs)


class FaultSwitches:
    """The current faults of this process, shared with sibling processes through an optional file."""

    def __init__(
        self, initial: Faults | None = None, path: str | None = None, rng: random.Random | None = None
    ):
        self._faults = initial or Faults()
        self._path = path
        self._stamp: tuple[int, int] = (-1, -1)
        self._lock = threading.Lock()
        self._rng = rng or random.Random()
        if path is not None:
            if os.path.exists(path):
                self._reload()
            else:
                self.set(self._faults)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> FaultSwitches:
        env = os.environ if environ is None else environ
        initial = Faults()
        raw = env.get(ENV_FAULTS, "").strip()
        if raw:
            try:
                initial = parse_faults(json.loads(raw))
            except json.JSONDecodeError as exc:
                raise FaultError(f"{ENV_FAULTS} is not valid JSON: {exc}") from exc
        return cls(initial, env.get(ENV_FAULTS_FILE) or None)

    @property
    def current(self) -> Faults:
        self._maybe_reload()
        return self._faults

    def set(self, faults: Faults) -> None:
        with self._lock:
            self._faults = faults
            if self._path is None:
                return
            # write-then-rename so a sibling never reads half a file
            d = os.path.dirname(os.path.abspath(self._path))
            fd, tmp = tempfile.mkstemp(dir=d, prefix=".faults-")
            with os.fdopen(fd, "w") as fh:
                json.dump(faults.to_json(), fh)
            os.replace(tmp, self._path)
            st = os.stat(self._path)
            self._stamp = (st.st_ino, st.st_mtime_ns)

    def decide(self, route: str, tenant: str) -> Decision:
        """Roll the dice for one request to route (a template) from tenant."""
        faults = self.current
        if not faults.rules:
            return Decision()
        latency_ms = 0.0
        dep_ms = 0.0
        status: int | None = None
        for rule in faults.rules:
            if not rule.matches(route, tenant):
                continue
            latency_ms += rule.latency_ms
            dep_ms += rule.dependency_delay_ms
            if status is None and rule.error_rate > 0 and self._rng.random() < rule.error_rate:
                status = rule.status
        return Decision(latency_ms / 1000.0, status, dep_ms)

    def job_decision(self) -> tuple[bool, float]:
        """(fail this job?, extra seconds of work) for one job."""
        jobs = self.current.jobs
        fail = jobs.fail_rate > 0 and self._rng.random() < jobs.fail_rate
        return fail, jobs.slow_ms / 1000.0

    def _maybe_reload(self) -> None:
        if self._path is None:
            return
        try:
            st = os.stat(self._path)
        except FileNotFoundError:
            return
        # the inode changes on every rename, so equal mtimes within clock granularity still reload
        if (st.st_ino, st.st_mtime_ns) != self._stamp:
            self._reload()

    def _reload(self) -> None:
        assert self._path is not None
        with self._lock:
            try:
                st = os.stat(self._path)
                with open(self._path) as fh:
                    data = json.load(fh)
                self._faults = parse_faults(data)
                self._stamp = (st.st_ino, st.st_mtime_ns)
            except (OSError, ValueError):
                # a broken file keeps the last good faults; the admin endpoint only writes valid ones
                pass
