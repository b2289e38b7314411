"""Tenants: the busiest, the most failing and the slowest tenants, and how much the cap folds away.

Answers "which customer is hammering us, which one is having a bad day?" Metrics carry tenant
ids only for the top N tenants by traffic (the cardinality cap); the rest share the value
"__other__" and requests without a tenant carry "__none__". When the "__other__" share grows, a
tenant that matters may be hidden in it: raise the cap, or look the tenant up in the logs below,
which always carry the real tenant id.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from obsbox_instrumentation import contract as c

from dashboards._lib import (
    GREEN,
    RATE,
    RED,
    YELLOW,
    choice_variable,
    dashboard,
    graph,
    label_variable,
    log_lines,
    prom,
    single,
    tabulate,
    text_variable,
    thresholds,
)

UID = Path(__file__).stem
TITLE = "Tenants"

SERVER = c.HTTP_SERVER_REQUEST_DURATION.prometheus_name
COUNT = f"{SERVER}_count"
SEL = 'job=~"$job"'
ERRORS = f'{c.LABEL_HTTP_STATUS}=~"5.."'
T = c.LABEL_TENANT


def _share(tenant_value: str) -> str:
    # "or vector(0)": no folded traffic at all is a share of 0, not an empty panel.
    part = f'sum(rate({COUNT}{{{SEL}, {T}="{tenant_value}"}}[{RATE}])) or vector(0)'
    return f"({part}) / sum(rate({COUNT}{{{SEL}}}[{RATE}]))"


def build() -> dict[str, Any]:
    """The dashboard's JSON model."""
    fold_steps = thresholds((None, GREEN), (0.2, YELLOW), (0.5, RED))
    top = [
        graph(
            "Top tenants by requests",
            "Requests per second of the busiest tenants.",
            "reqps",
            [prom(f"topk($topn, sum by ({T}) (rate({COUNT}{{{SEL}}}[{RATE}])))", "{{tenant_id}}")],
            span=16,
        ),
        tabulate(
            "Requests per tenant",
            "Requests per tenant over the dashboard's time range, busiest first.",
            "short",
            [prom(f"topk($topn, sum by ({T}) (increase({COUNT}{{{SEL}}}[$__range])))", instant=True)],
            span=8,
        ),
    ]
    trouble = [
        graph(
            "Top tenants by errors",
            "5xx responses per second of the tenants receiving the most.",
            "reqps",
            [prom(f"topk($topn, sum by ({T}) (rate({COUNT}{{{SEL}, {ERRORS}}}[{RATE}])))", "{{tenant_id}}")],
            span=8,
        ),
        graph(
            "Top tenants by error ratio",
            "Share of each tenant's requests answered 5xx, highest first.",
            "percentunit",
            [
                prom(
                    f"topk($topn, sum by ({T}) (rate({COUNT}{{{SEL}, {ERRORS}}}[{RATE}]))"
                    f" / sum by ({T}) (rate({COUNT}{{{SEL}}}[{RATE}])))",
                    "{{tenant_id}}",
                )
            ],
            span=8,
        ),
        graph(
            "Top tenants by p95 duration",
            "95th percentile request duration of the slowest tenants; exemplar dots link to traces.",
            "s",
            [
                prom(
                    f"topk($topn, histogram_quantile(0.95, sum by ({T}, le) (rate({SERVER}_bucket{{{SEL}}}[{RATE}]))))",
                    "{{tenant_id}}",
                    exemplar=True,
                )
            ],
            span=8,
        ),
    ]
    cap = [
        single(
            f'Traffic folded into "{c.TENANT_OTHER}"',
            f"Share of requests from tenants outside the top {c.DEFAULT_TENANT_TOP_N} by traffic; "
            "when high, raise the tenant cap.",
            "percentunit",
            prom(_share(c.TENANT_OTHER)),
            steps=fold_steps,
        ),
        single(
            f'Requests without a tenant ("{c.TENANT_NONE}")',
            "Share of requests that carried no tenant at all (health checks, login, or a missing header).",
            "percentunit",
            prom(_share(c.TENANT_NONE)),
        ),
        graph(
            "Tenants with their own series",
            "Distinct tenant values on request metrics, per service; flat at the cap plus the fold values.",
            "short",
            [prom(f"count by (job) (count by (job, {T}) ({COUNT}{{{SEL}}}))", "{{job}}")],
        ),
    ]
    logs = [
        log_lines(
            "Logs of one tenant",
            "Log lines of the tenant typed above, from the selected services; logs carry every tenant id, "
            "not only the top N that metrics keep.",
            # tenant.id is structured metadata in Loki (never a stream label: hundreds of tenants
            # would multiply every stream), filtered after the stream selector.
            f'{{service_name=~"$job"}} | {c.LABEL_TENANT}="$tenant"',
        ),
    ]
    return dashboard(
        UID,
        TITLE,
        "Top tenants by traffic, errors and latency, and how much traffic the tenant cap folds into __other__.",
        [("Traffic", top), ("Trouble", trouble), ("Tenant cap", cap), ("Logs", logs)],
        variables=[
            label_variable("job", "Service", COUNT, "job"),
            choice_variable("topn", "Top N", ["5", "10", "20"], "10"),
            text_variable("tenant", "Tenant id (logs)", ""),
        ],
    )
