"""Background jobs: queue depth, oldest waiting job, lag, throughput, failures, durations and workers.

Answers "is the backlog growing, are jobs failing, do we have enough workers?" The oldest job's
age is what customers feel (a report that never arrives); depth alone hides a stuck queue that
is short but not moving. Depth, age, workers, the failed registry and broker reachability are
read from the broker by every process that touches the queue, so panels take the max over
reporters, never the sum.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from obsbox_instrumentation import contract as c

from dashboards._lib import GREEN, RATE, RED, YELLOW, dashboard, graph, label_variable, prom, thresholds

UID = Path(__file__).stem
TITLE = "Background jobs"

DURATION = c.JOB_DURATION.prometheus_name
DEPTH = c.JOB_QUEUE_DEPTH.prometheus_name
OLDEST = c.JOB_QUEUE_OLDEST_AGE.prometheus_name
WORKERS = c.JOB_WORKERS.prometheus_name
LAG = c.JOB_QUEUE_LAG.prometheus_name
FAILED = c.JOB_FAILED_REGISTRY.prometheus_name
BROKER_UP = c.JOB_BROKER_UP.prometheus_name
# Runs that ended badly: the failure storm alert's numerator.
BAD_OUTCOMES = "|".join((c.OUTCOME_FAILURE, c.OUTCOME_TIMEOUT, c.OUTCOME_ABANDONED))
Q = c.LABEL_QUEUE
SEL = f'{Q}=~"$queue"'


def _outcome_ratio(outcome: str) -> str:
    # "or ... * 0": a queue with jobs but no failures shows 0 rather than nothing.
    part = f'sum by ({Q}) (rate({DURATION}_count{{{SEL}, {c.LABEL_OUTCOME}=~"{outcome}"}}[{RATE}]))'
    total = f"sum by ({Q}) (rate({DURATION}_count{{{SEL}}}[{RATE}]))"
    return f"({part} or {total} * 0) / {total}"


def build() -> dict[str, Any]:
    """The dashboard's JSON model."""
    backlog = [
        graph(
            "Queue depth",
            "Jobs waiting in each queue.",
            "short",
            [prom(f"max by ({Q}) ({DEPTH}{{{SEL}}})", "{{queue}}")],
            span=8,
        ),
        graph(
            "Oldest waiting job",
            "Age of the oldest job waiting in each queue; 0 when the queue is empty.",
            "s",
            [prom(f"max by ({Q}) ({OLDEST}{{{SEL}}})", "{{queue}}")],
            span=8,
            steps=thresholds((None, GREEN), (300, YELLOW), (1800, RED)),
        ),
        graph(
            "Time to drain",
            "Queue depth divided by the completion rate: how long the backlog takes at the current pace.",
            "s",
            [
                prom(
                    f"max by ({Q}) ({DEPTH}{{{SEL}}}) / sum by ({Q}) (rate({DURATION}_count{{{SEL}}}[{RATE}]))",
                    "{{queue}}",
                )
            ],
            span=8,
        ),
        graph(
            "Queue lag p95",
            "How long jobs waited in the queue before they started (start minus enqueue time), 95th percentile.",
            "s",
            [
                prom(
                    f"histogram_quantile(0.95, sum by ({Q}, le) (rate({LAG}_bucket{{{SEL}}}[{RATE}])))",
                    "{{queue}}",
                    exemplar=True,
                )
            ],
            span=8,
        ),
        graph(
            "Failed jobs held",
            "Jobs in the library's failed-job store (RQ's FailedJobRegistry), waiting to be retried or cleared.",
            "short",
            [prom(f"max by ({Q}) ({FAILED}{{{SEL}}})", "{{queue}}")],
            span=8,
        ),
        graph(
            "Broker reachable",
            "1 while the processes reading the queue reach its broker; 0 when none does.",
            "short",
            [prom(f"max by ({Q}) ({BROKER_UP}{{{SEL}}})", "{{queue}}")],
            span=8,
            steps=thresholds((None, RED), (1, GREEN)),
        ),
    ]
    outcomes = [
        graph(
            "Jobs finished by outcome",
            "Job runs per second by outcome (success, failure, retry, revoked, timeout, abandoned), per queue.",
            "ops",
            [
                prom(
                    f"sum by ({Q}, {c.LABEL_OUTCOME}) (rate({DURATION}_count{{{SEL}}}[{RATE}]))",
                    "{{queue}} {{outcome}}",
                )
            ],
            span=8,
        ),
        graph(
            "Failure ratio",
            "Share of job runs that failed, timed out or were lost with their process, per queue.",
            "percentunit",
            [prom(_outcome_ratio(BAD_OUTCOMES), "{{queue}}")],
            span=8,
            steps=thresholds((None, GREEN), (0.01, YELLOW), (0.1, RED)),
        ),
        graph(
            "Retry ratio",
            "Share of job runs that ended in a retry, per queue; rising retries often precede failures.",
            "percentunit",
            [prom(_outcome_ratio(c.OUTCOME_RETRY), "{{queue}}")],
            span=8,
        ),
    ]
    durations = [
        graph(
            "Job duration p50 and p95",
            "Duration of successful jobs per queue from the histogram; exemplar dots link to traces.",
            "s",
            [
                prom(
                    f"histogram_quantile({q}, sum by ({Q}, le) "
                    f'(rate({DURATION}_bucket{{{SEL}, {c.LABEL_OUTCOME}="{c.OUTCOME_SUCCESS}"}}[{RATE}])))',
                    f"{{{{queue}}}} p{int(q * 100)}",
                    exemplar=True,
                )
                for q in (0.5, 0.95)
            ],
        ),
        graph(
            "p95 duration by job name",
            "95th percentile duration per job name, every outcome.",
            "s",
            [
                prom(
                    f"histogram_quantile(0.95, sum by ({c.LABEL_JOB_NAME}, le) (rate({DURATION}_bucket{{{SEL}}}[{RATE}])))",
                    "{{job_name}}",
                    exemplar=True,
                )
            ],
        ),
    ]
    capacity = [
        graph(
            "Workers",
            "Worker processes with a live heartbeat in the broker, per queue; a drop to 0 stalls the queue.",
            "short",
            [prom(f"max by ({Q}) ({WORKERS}{{{SEL}}})", "{{queue}}")],
        ),
        graph(
            "Jobs finished per worker",
            "Completion rate per live worker, per queue: flat while depth grows means add workers.",
            "ops",
            [
                prom(
                    f"sum by ({Q}) (rate({DURATION}_count{{{SEL}}}[{RATE}])) / max by ({Q}) ({WORKERS}{{{SEL}}})",
                    "{{queue}}",
                )
            ],
        ),
    ]
    return dashboard(
        UID,
        TITLE,
        "Job queues: backlog, oldest waiting job, outcomes, durations and worker capacity.",
        [("Backlog", backlog), ("Outcomes", outcomes), ("Durations", durations), ("Capacity", capacity)],
        variables=[label_variable("queue", "Queue", DEPTH, Q)],
    )
