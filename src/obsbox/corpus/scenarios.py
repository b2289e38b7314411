"""The generated recordings: each a seeded function that writes its series into a builder.

Every recording starts at ``T0`` with at least six hours of ordinary traffic before anything
happens, so the burn-rate rules' 1h and 6h windows hold real history when the event starts (the
3-day ticket window gets that much history only in ``slow-burn``, which needs it). Services,
tenants and queues are those of the demo (examples/): ``invoicing-demo`` and ``payments-demo``
with the SLOs of alert_rules/slos.yaml, and the ``invoicing-worker`` job worker.

A scenario is its function (named as the recording, underscores for dashes) under ``@incident``
or ``@noise``, which carry the manifest's data: description, seed, length and, for an incident,
its window and the alerts expected to fire in it.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from obsbox.corpus.builder import Labels, SeriesBuilder, Traffic, binomial, http_stream, poisson
from obsbox.replay.model import Series

T0 = 1793577600  # 2026-11-02T00:00:00Z
STEP_S = 60
HOUR = 3600
MIN = 60
JOB = "invoicing-demo"
WORKER = "invoicing-worker"
# Share of invoicing-demo's traffic per tenant label; the long tail is folded into __other__.
TENANTS = {"acme": 0.30, "globex": 0.20, "initech": 0.02, "__other__": 0.48}
BASE_RPS = 20.0
NORMAL = Traffic(BASE_RPS)


@dataclass(frozen=True)
class Generated:
    name: str
    kind: str  # incident | noise
    description: str
    series: list[Series]
    start_s: int
    end_s: int
    windows: list[tuple[int, int]] = field(default_factory=list)
    fire: list[dict[str, Any]] = field(default_factory=list)
    quiet_severities: list[str] | None = None


Scenario = Callable[[int], Generated]
SCENARIOS: dict[str, tuple[int, Scenario]] = {}
Window = tuple[int, int]
Fill = Callable[[SeriesBuilder, random.Random], None]
IncidentFill = Callable[[SeriesBuilder, random.Random, Window], None]


def _register(
    function: str, seed: int, hours: float, write: Fill, kind: str, description: str, **expect: Any
) -> None:
    """Register a recording under its function's name (dashes for underscores) with its seed."""
    name = function.replace("_", "-")

    def generate(seed: int) -> Generated:
        rng, b = random.Random(seed), _builder(hours)
        write(b, rng)
        return Generated(name, kind, description, b.build(), b.start_s, b.time(b.steps - 1), **expect)

    SCENARIOS[name] = (seed, generate)


def incident(
    description: str, *, seed: int, hours: float, at: int, lasting: int, fire: list[dict[str, Any]]
) -> Callable[[IncidentFill], IncidentFill]:
    """An incident of `hours`, its window from `at` to `at + lasting` after T0; `fire` is expected in it."""
    w = (T0 + at, T0 + at + lasting)

    def register(fill: IncidentFill) -> IncidentFill:
        def write(b: SeriesBuilder, rng: random.Random) -> None:
            fill(b, rng, w)

        _register(fill.__name__, seed, hours, write, "incident", description, windows=[w], fire=fire)
        return fill

    return register


def noise(description: str, *, seed: int, hours: float, quiet: list[str] | None = None) -> Callable[[Fill], Fill]:
    """A noise recording of `hours` (nothing in it should alert); `quiet` is its manifest's quiet_severities."""

    def register(fill: Fill) -> Fill:
        _register(fill.__name__, seed, hours, fill, "noise", description, quiet_severities=quiet)
        return fill

    return register


def _fires(alert: str, within: str, **labels: str) -> dict[str, Any]:
    """An expected alert: fires within `within` of the window's start, with these labels."""
    return {"alert": alert, "within": within, **({"labels": labels} if labels else {})}


def _builder(hours: float) -> SeriesBuilder:
    return SeriesBuilder(T0, STEP_S, int(hours * HOUR / STEP_S) + 1)


def _in(t: int, start: int, end: int) -> bool:
    return start <= t < end


def _service(
    b: SeriesBuilder,
    rng: random.Random,
    shape: Callable[[int, str], Traffic],
    *,
    job: str = JOB,
    instances: tuple[str, ...] = ("app-1:8000",),
    tenants: dict[str, float] | None = None,
    route: str = "/v1/invoices",
    histogram: bool = False,
) -> None:
    """Traffic of one service spread over instances and tenants; `shape(t, tenant)` per stream."""
    for instance in instances:
        for tenant, share in (tenants or TENANTS).items():
            base = {"job": job, "instance": instance, "http_route": route, "tenant_id": tenant}

            def traffic(t: int, tenant: str = tenant, share: float = share) -> Traffic:
                s = shape(t, tenant)
                return Traffic(
                    s.rps * share / len(instances), s.error_share, s.over_threshold, s.over_1s, s.error_status
                )

            http_stream(b, rng, base, traffic, with_histogram=histogram)


def _steady(rps: float = BASE_RPS) -> Callable[[int, str], Traffic]:
    return lambda t, tenant: Traffic(rps)


def _during(
    w: Window, inside: Traffic, outside: Traffic = NORMAL, *, tenant: str | None = None
) -> Callable[[int, str], Traffic]:
    """Traffic `inside` the window w (of one tenant only, when given), `outside` it otherwise."""
    return lambda t, of: inside if _in(t, *w) and tenant in (None, of) else outside


# ---------------------------------------------------------------- incidents


@incident(
    "30% of all requests to invoicing-demo fail with 503 for 20 minutes.",
    seed=101, hours=7.5, at=6 * HOUR, lasting=20 * MIN, fire=[_fires("SloAvailabilityBurnRateFast", "10m", job=JOB)],
)
def http_5xx_spike(b: SeriesBuilder, rng: random.Random, w: Window) -> None:
    _service(b, rng, _during(w, Traffic(BASE_RPS, 0.30, error_status="503"), Traffic(BASE_RPS, error_status="503")))


@incident(
    "Every request to GET /v1/invoices/<invoice_id> (30% of the traffic) fails with 500 for 30 minutes; "
    "the list route keeps working.",
    seed=102, hours=7.5, at=6 * HOUR, lasting=30 * MIN, fire=[_fires("SloAvailabilityBurnRateFast", "10m", job=JOB)],
)
def route_partial_outage(b: SeriesBuilder, rng: random.Random, w: Window) -> None:
    _service(b, rng, _steady(BASE_RPS * 0.7), route="/v1/invoices")
    failing = _during(w, Traffic(BASE_RPS * 0.3, 1.0), Traffic(BASE_RPS * 0.3))
    _service(b, rng, failing, route="/v1/invoices/<invoice_id>")


@incident(
    "0.8% of requests fail for 10 hours after three quiet days: 8x the 0.1% budget, invisible to the 1h "
    "window, caught by the 6h page tier and the 3d ticket.",
    seed=103, hours=72 + 11, at=72 * HOUR, lasting=10 * HOUR,
    fire=[_fires("SloAvailabilityBurnRateFast", "5h"), _fires("SloAvailabilityBurnRateSlow", "8h")],
)
def slow_burn(b: SeriesBuilder, rng: random.Random, w: Window) -> None:
    # One tenant label and no histogram: 83 hours at one-minute resolution stay small.
    _service(b, rng, _during(w, Traffic(BASE_RPS, 0.008)), tenants={"__other__": 1.0})


@incident(
    "A slow database query: 35% of requests take longer than the 0.5 s threshold for 30 minutes; no errors. "
    "At 35x the 1% latency budget the 1h window passes 14.4x after about 25 minutes.",
    seed=104, hours=7.5, at=6 * HOUR, lasting=30 * MIN, fire=[_fires("SloLatencyBurnRateFast", "30m", job=JOB)],
)
def latency_degradation(b: SeriesBuilder, rng: random.Random, w: Window) -> None:
    slow = _during(w, Traffic(BASE_RPS, over_threshold=0.35, over_1s=0.10))
    _service(b, rng, slow, histogram=True, tenants={"acme": 0.4, "__other__": 0.6})


# A day of history, so the ticket tiers' 1d and 3d windows hold ordinary traffic as they would in
# production and only the page tiers decide.
@incident(
    "A sustained latency degradation: after a day of ordinary traffic 10% of requests take longer than the "
    "0.5 s threshold for two hours; no errors. At 10x the 1% latency budget neither the 1h tier (14.4x) nor "
    "the 6h tier (6x over six hours, after about 3.6 hours) pages; the 2h tier (5.4x) does after about 65 "
    "minutes.",
    seed=113, hours=26 + 2.5, at=26 * HOUR, lasting=2 * HOUR, fire=[_fires("SloLatencyBurnRateFast", "75m", job=JOB)],
)
def latency_plateau(b: SeriesBuilder, rng: random.Random, w: Window) -> None:
    slow = _during(w, Traffic(BASE_RPS, over_threshold=0.10, over_1s=0.02))
    _service(b, rng, slow, histogram=True, tenants={"acme": 1.0})


@incident(
    "payments-demo stops answering: POST /v1/invoices/<invoice_id>/pay (20% of the traffic) waits for the "
    "client timeout and answers 504 for 25 minutes.",
    seed=105, hours=7.5, at=6 * HOUR, lasting=25 * MIN,
    fire=[{"severity": "critical", "within": "10m", "labels": {"job": JOB}}],
)
def dependency_timeout(b: SeriesBuilder, rng: random.Random, w: Window) -> None:
    tenants = {"acme": 0.4, "__other__": 0.6}
    _service(b, rng, _steady(BASE_RPS * 0.8), histogram=True, tenants=tenants)
    timeouts = Traffic(BASE_RPS * 0.2, 0.9, over_threshold=0.97, over_1s=0.95, error_status="504")
    pay = _during(w, timeouts, Traffic(BASE_RPS * 0.2, error_status="504"))
    _service(b, rng, pay, route="/v1/invoices/<invoice_id>/pay", histogram=True, tenants=tenants)


def _queue_gauges(
    b: SeriesBuilder,
    rng: random.Random,
    age: Callable[[int], float | None],
    depth: Callable[[int], float | None],
    workers: Callable[[int], float | None],
    queue: str = "reports",
) -> None:
    labels = {"job": WORKER, "instance": "worker-1:9464", "queue": queue}
    b.gauge(
        {**labels, "__name__": "obsbox_job_queue_oldest_age_seconds"},
        [age(b.time(i)) for i in range(b.steps)],
    )
    b.gauge({**labels, "__name__": "obsbox_job_queue_depth"}, [depth(b.time(i)) for i in range(b.steps)])
    b.gauge({**labels, "__name__": "obsbox_job_workers"}, [workers(b.time(i)) for i in range(b.steps)])


def _jobs(
    b: SeriesBuilder,
    rng: random.Random,
    shares: Callable[[int], tuple[float, float, float]],
    rate: float = 2.0,
    queue: str = "reports",
) -> None:
    """Finished jobs per outcome; `shares(t)` gives (failure, retry) shares and a rate factor."""
    labels = {"job": WORKER, "instance": "worker-1:9464", "queue": queue, "job_name": "render_report"}
    for i in range(b.steps):
        failure, retry, factor = shares(b.time(i))
        n = poisson(rng, rate * factor * b.step_s)
        f = binomial(rng, n, failure)
        r = binomial(rng, n - f, retry)
        for outcome, count in (("success", n - f - r), ("failure", f), ("retry", r)):
            b.add({**labels, "outcome": outcome, "__name__": "obsbox_job_duration_seconds_count"}, i, count)


@incident(
    "The report workers get stuck on a slow export: they finish almost nothing for an hour while jobs "
    "keep arriving, and the oldest waiting job ages by a second every second.",
    seed=106, hours=4, at=2 * HOUR, lasting=HOUR, fire=[_fires("JobQueueBacklogGrowing", "30m", queue="reports")],
)
def queue_backlog(b: SeriesBuilder, rng: random.Random, w: Window) -> None:
    def age(t: int) -> float:
        return float(t - w[0] + rng.uniform(0, 20)) if _in(t, *w) else rng.uniform(0, 20)

    def depth(t: int) -> float:
        return float(5 + (t - w[0]) // 2) if _in(t, *w) else float(rng.randint(0, 5))

    _queue_gauges(b, rng, age, depth, lambda t: 4.0)
    _jobs(b, rng, lambda t: (0.002, 0.01, 0.05 if _in(t, *w) else 1.0))


@incident(
    "An expired API key of the PDF renderer: 60% of render_report jobs fail for 30 minutes.",
    seed=107, hours=3, at=2 * HOUR, lasting=30 * MIN, fire=[_fires("JobFailureRatioHigh", "10m", queue="reports")],
)
def job_failure_storm(b: SeriesBuilder, rng: random.Random, w: Window) -> None:
    _jobs(b, rng, lambda t: (0.6, 0.05, 1.0) if _in(t, *w) else (0.005, 0.01, 1.0))
    _queue_gauges(b, rng, lambda t: rng.uniform(0, 15), lambda t: float(rng.randint(0, 4)), lambda t: 4.0)


@incident(
    "A corrupt record in tenant initech's account (2% of traffic) makes half of its requests fail with 500 "
    "for an hour; every other tenant is fine.",
    seed=108, hours=7.5, at=6 * HOUR, lasting=HOUR, fire=[_fires("TenantErrorRatioOutlier", "25m", tenant_id="initech")],
)
def tenant_broken(b: SeriesBuilder, rng: random.Random, w: Window) -> None:
    _service(b, rng, _during(w, Traffic(BASE_RPS, 0.5), tenant="initech"))


def _filesystem(
    b: SeriesBuilder, instance: str, mountpoint: str, device: str, size: float, avail: Callable[[int], float]
) -> None:
    labels = {
        "job": "node",
        "instance": instance,
        "device": device,
        "fstype": "ext4",
        "mountpoint": mountpoint,
    }
    b.gauge(
        {**labels, "__name__": "node_filesystem_avail_bytes"},
        [round(avail(b.time(i))) for i in range(b.steps)],
    )
    b.gauge({**labels, "__name__": "node_filesystem_size_bytes"}, [size] * b.steps)
    b.gauge({**labels, "__name__": "node_filesystem_readonly"}, [0.0] * b.steps)


GB = 1e9


@incident(
    "A debug log level left on after a deploy writes 8 GB an hour to /var on db-1, which had 28 GB free: "
    "full about 3.5 hours later.",
    seed=109, hours=9.5, at=6 * HOUR, lasting=3 * HOUR + 30 * MIN,
    fire=[_fires("HostDiskWillFillIn4h", "90m", host="db-1", mountpoint="/var")],
)
def disk_filling(b: SeriesBuilder, rng: random.Random, w: Window) -> None:
    fill_start = w[0]

    def avail(t: int) -> float:
        free = 28 * GB - (t - T0) * 20e3  # 72 MB an hour of ordinary growth
        if t >= fill_start:
            free -= (t - fill_start) * 8 * GB / HOUR  # a debug log level left on: 8 GB an hour
        return max(0.0, free + rng.uniform(-5e6, 5e6))

    _filesystem(b, "db-1:9100", "/var", "/dev/sda2", 100 * GB, avail)
    _filesystem(b, "db-1:9100", "/", "/dev/sda1", 20 * GB, lambda t: 12 * GB + rng.uniform(-1e6, 1e6))


def _up(b: SeriesBuilder, job: str, instance: str, value: Callable[[int], float | None]) -> None:
    b.gauge({"__name__": "up", "job": job, "instance": instance}, [value(b.time(i)) for i in range(b.steps)])


@incident(
    "Host app-2 loses power for 30 minutes: node_exporter and the invoicing-demo instance on it stop answering.",
    seed=110, hours=3, at=2 * HOUR, lasting=30 * MIN, fire=[_fires("HostDown", "5m", host="app-2")],
)
def host_down(b: SeriesBuilder, rng: random.Random, w: Window) -> None:
    def up(t: int) -> float:
        return 0.0 if _in(t, *w) else 1.0

    for host in ("app-1", "app-2", "db-1"):
        _up(b, "node", f"{host}:9100", up if host == "app-2" else (lambda t: 1.0))
    _up(b, JOB, "app-1:8000", lambda t: 1.0)
    _up(b, JOB, "app-2:8000", up)


def _collector(
    b: SeriesBuilder,
    rng: random.Random,
    failed_share: Callable[[int], float],
    refused: Callable[[int], float] = lambda t: 0.0,
    restart_at: int | None = None,
) -> None:
    labels = {"job": "otelcol", "instance": "mon-1:8888"}
    exp = {**labels, "exporter": "otlp/tempo"}
    rec = {**labels, "receiver": "otlp", "transport": "grpc"}
    for i in range(b.steps):
        t = b.time(i)
        n = poisson(rng, 800 * b.step_s)
        failed = binomial(rng, n, failed_share(t))
        b.add({**exp, "__name__": "otelcol_exporter_sent_spans"}, i, n - failed)
        b.add({**exp, "__name__": "otelcol_exporter_send_failed_spans"}, i, failed)
        b.add({**exp, "__name__": "otelcol_exporter_enqueue_failed_spans"}, i, 0)
        b.add({**rec, "__name__": "otelcol_receiver_accepted_spans"}, i, n)
        b.add({**rec, "__name__": "otelcol_receiver_refused_spans"}, i, round(refused(t) * b.step_s))
    if restart_at is not None:
        b.reset(lambda labels: labels.get("job") == "otelcol", b.index(restart_at))


@incident(
    "Tempo's disk is full: the collector's otlp/tempo exporter fails to send a quarter of the spans for 45 "
    "minutes and drops them after its retries.",
    seed=111, hours=3, at=2 * HOUR, lasting=45 * MIN, fire=[_fires("OtelcolDroppingData", "15m")],
)
def collector_dropping(b: SeriesBuilder, rng: random.Random, w: Window) -> None:
    _collector(b, rng, lambda t: 0.25 if _in(t, *w) else 0.0)


@incident(
    "The worker host's systemd unit is stopped by a botched config change: no worker consumes the "
    "reports queue for 30 minutes and its metrics vanish with the process. A recording cannot carry "
    "Prometheus' staleness markers, so the last sample stays visible for the 5-minute lookback before the "
    "5-minute `for:` starts: about 10 minutes to fire here, about 5 in production.",
    seed=112, hours=3, at=2 * HOUR, lasting=30 * MIN, fire=[_fires("JobWorkersGone", "12m", queue="reports")],
)
def workers_gone(b: SeriesBuilder, rng: random.Random, w: Window) -> None:
    def workers(t: int) -> float | None:
        return None if _in(t, *w) else 4.0

    def age(t: int) -> float | None:
        # The gauges come from the worker process: they vanish with it.
        return None if _in(t, *w) else rng.uniform(0, 15)

    _queue_gauges(b, rng, age, lambda t: None if _in(t, *w) else float(rng.randint(0, 4)), workers)


# ---------------------------------------------------------------- noise


@noise(
    "A rolling deploy restarts app-1: for one minute a fifth of the requests get 502 from the proxy, then "
    "app-1's counters start again from zero.",
    seed=201, hours=7,
)
def deploy_restart_blip(b: SeriesBuilder, rng: random.Random) -> None:
    blip = (T0 + 6 * HOUR, T0 + 6 * HOUR + MIN)
    shape = _during(blip, Traffic(BASE_RPS, 0.2, error_status="502"), Traffic(BASE_RPS, error_status="502"))
    _service(b, rng, shape, instances=("app-1:8000", "app-2:8000"))
    b.reset(lambda labels: labels.get("instance") == "app-1:8000", b.index(blip[1]))


@noise(
    "Three single minutes in which a quarter of the requests are slow (garbage collection pauses); the rest "
    "of the time latency is normal.",
    seed=202, hours=7,
)
def slow_request_spikes(b: SeriesBuilder, rng: random.Random) -> None:
    spikes = [T0 + 6 * HOUR, T0 + 6 * HOUR + 20 * MIN, T0 + 6 * HOUR + 45 * MIN]

    def shape(t: int, tenant: str) -> Traffic:
        if any(_in(t, s, s + MIN) for s in spikes):
            return Traffic(BASE_RPS, over_threshold=0.25, over_1s=0.2)
        return NORMAL

    _service(b, rng, shape, histogram=True, tenants={"acme": 0.4, "__other__": 0.6})


@noise(
    "payments-demo at night: three requests an hour, one of which fails with 500 (a 33% error ratio over "
    "three requests, which says nothing).",
    seed=203, hours=7,
)
def low_traffic_one_error(b: SeriesBuilder, rng: random.Random) -> None:
    labels = {
        "job": "payments-demo",
        "instance": "pay-1:8001",
        "http_route": "/v1/payments",
        "tenant_id": "__other__",
        "__name__": "http_server_request_duration_seconds_count",
    }
    ok = {**labels, "http_response_status_code": "200"}
    err = {**labels, "http_response_status_code": "500"}
    b.touch(ok)
    b.touch(err)
    # A request every 20 minutes, overnight; one of the three in the seventh hour fails.
    for i in range(0, b.steps, 20):
        failing = b.time(i) == T0 + 6 * HOUR + 20 * MIN
        b.add(err if failing else ok, i, 1)


@noise(
    "A database failover: for two minutes a quarter of the requests get 503 and clients and workers retry, "
    "then everything heals by itself (about 1.2% of the month's error budget: below the 2%-in-an-hour page).",
    seed=204, hours=7,
)
def retry_storm_heals(b: SeriesBuilder, rng: random.Random) -> None:
    storm = (T0 + 6 * HOUR, T0 + 6 * HOUR + 2 * MIN)
    retries = Traffic(BASE_RPS * 1.5, 0.25, error_status="503")
    _service(b, rng, _during(storm, retries, Traffic(BASE_RPS, error_status="503")))
    _jobs(b, rng, lambda t: (0.01, 0.7, 2.0) if _in(t, *storm) else (0.002, 0.01, 1.0))


@noise(
    "Tenant globex's integration polls deleted invoices for an hour: five times its usual traffic, 80% of it "
    "answered 404. Client errors are not the service's failures: no SLO or tenant alert.",
    seed=205, hours=7.5, quiet=["critical", "warning"],
)
def tenant_4xx_flood(b: SeriesBuilder, rng: random.Random) -> None:
    flood = (T0 + 6 * HOUR, T0 + 7 * HOUR)
    _service(b, rng, _during(flood, Traffic(BASE_RPS * 5, 0.8, error_status="404"), tenant="globex"))


@noise(
    "The nightly report batch: an hour of 4,000 queued jobs and 4% of API requests slower than 0.5 s while "
    "the database is busy; nothing is broken.",
    seed=206, hours=7.5,
)
def nightly_batch(b: SeriesBuilder, rng: random.Random) -> None:
    batch = (T0 + 6 * HOUR, T0 + 7 * HOUR)
    busy = _during(batch, Traffic(BASE_RPS, over_threshold=0.04, over_1s=0.01))
    _service(b, rng, busy, histogram=True, tenants={"acme": 0.4, "__other__": 0.6})

    def age(t: int) -> float:
        # The batch enqueues thousands of reports; workers keep the oldest under four minutes.
        return rng.uniform(60, 240) if _in(t, *batch) else rng.uniform(0, 15)

    _queue_gauges(
        b, rng, age, lambda t: 4000.0 if _in(t, *batch) else float(rng.randint(0, 4)), lambda t: 4.0
    )
    _jobs(b, rng, lambda t: (0.004, 0.01, 30.0 if _in(t, *batch) else 1.0))


@noise(
    "An overloaded Prometheus host: scrapes land up to 5 s early or late, one in ten is missing, and three "
    "in a row are lost at 06:00; the services are healthy.",
    seed=207, hours=7,
)
def scrape_jitter_missing_samples(b: SeriesBuilder, rng: random.Random) -> None:
    _service(b, rng, _steady(), tenants={"acme": 0.5, "__other__": 0.5})
    for host in ("app-1", "db-1"):
        _up(b, "node", f"{host}:9100", lambda t: 1.0)
    b.jitter_s.update({i: rng.uniform(-5, 5) for i in range(1, b.steps - 1)})
    b.missing.update(i for i in range(1, b.steps - 1) if rng.random() < 0.1)
    b.missing.update(range(b.index(T0 + 6 * HOUR), b.index(T0 + 6 * HOUR) + 3))


def _instance_is(instance: str) -> Callable[[Labels], bool]:
    return lambda labels: labels.get("instance") == instance


@noise(
    "A rolling restart without errors: each instance's counters (and the worker's) start again from zero.",
    seed=208, hours=7.5,
)
def counter_resets_on_restart(b: SeriesBuilder, rng: random.Random) -> None:
    instances = ("app-1:8000", "app-2:8000", "app-3:8000")
    _service(b, rng, _steady(), instances=instances, tenants={"acme": 0.5, "__other__": 0.5})
    _jobs(b, rng, lambda t: (0.002, 0.01, 1.0))
    for n, instance in enumerate(instances):
        b.reset(_instance_is(instance), b.index(T0 + 6 * HOUR + n * 10 * MIN))
    b.reset(lambda labels: labels.get("job") == WORKER, b.index(T0 + 6 * HOUR + 35 * MIN))


@noise(
    "A marketing launch quadruples the traffic for an hour; the error ratio stays at its usual 0.03%.",
    seed=209, hours=7.5,
)
def traffic_surge(b: SeriesBuilder, rng: random.Random) -> None:
    surge = (T0 + 6 * HOUR, T0 + 7 * HOUR)
    _service(b, rng, _during(surge, Traffic(BASE_RPS * 4, 0.0003), Traffic(BASE_RPS, 0.0003)))


@noise(
    "node_exporter on app-1 times out for two scrapes during a backup's I/O burst; the host is fine.",
    seed=210, hours=3,
)
def node_scrape_blip(b: SeriesBuilder, rng: random.Random) -> None:
    blip = (T0 + 2 * HOUR, T0 + 2 * HOUR + 2 * MIN)
    _up(b, "node", "app-1:9100", lambda t: 0.0 if _in(t, *blip) else 1.0)
    _up(b, "node", "db-1:9100", lambda t: 1.0)


@noise(
    "A busy but healthy /var at 85% used: logs grow a gigabyte an hour and logrotate compresses them every "
    "three hours.",
    seed=211, hours=12,
)
def disk_log_rotation(b: SeriesBuilder, rng: random.Random) -> None:
    def avail(t: int) -> float:
        # 15% free, logs grow 1 GB an hour and are rotated (compressed) every 3 hours.
        since_rotation = (t - T0) % (3 * HOUR)
        return 15 * GB - since_rotation * GB / HOUR + rng.uniform(-5e6, 5e6)

    _filesystem(b, "app-1:9100", "/var", "/dev/sda2", 100 * GB, avail)


@noise(
    "The collector restarts for a config change: a minute of failed sends and refused spans while it "
    "drains and comes back, and its counters reset.",
    seed=212, hours=3,
)
def collector_restart(b: SeriesBuilder, rng: random.Random) -> None:
    restart = T0 + 2 * HOUR
    _collector(
        b,
        rng,
        lambda t: 0.02 if _in(t, restart - MIN, restart) else 0.0,
        refused=lambda t: 500.0 if _in(t, restart, restart + MIN) else 0.0,
        restart_at=restart,
    )


@noise(
    "The database host keeps only 7.5% of its memory available all day, used as page cache, and pages in "
    "from disk twice a second: normal for a database, not memory pressure.",
    seed=213, hours=4,
)
def memory_page_cache(b: SeriesBuilder, rng: random.Random) -> None:
    labels = {"job": "node", "instance": "db-1:9100"}
    b.gauge({**labels, "__name__": "node_memory_MemTotal_bytes"}, [16 * GB] * b.steps)
    b.gauge(
        {**labels, "__name__": "node_memory_MemAvailable_bytes"},
        [round(1.2 * GB + rng.uniform(-5e7, 5e7)) for _ in range(b.steps)],
    )
    for i in range(b.steps):
        b.add({**labels, "__name__": "node_vmstat_pgmajfault"}, i, poisson(rng, 2 * b.step_s))
