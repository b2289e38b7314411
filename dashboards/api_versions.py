"""API versions: who still calls an old API version, on which routes, and how it behaves.

Answers "can we retire v1 yet, and which tenants do we have to talk to first?" Tenants outside
the instrumentation's top N by traffic appear as the single value "__other__"; a large
"__other__" row means many small tenants still call the version.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from obsbox_instrumentation import contract as c

from dashboards._lib import RATE, dashboard, graph, label_variable, prom, single, tabulate

UID = Path(__file__).stem
TITLE = "API versions"

SERVER = c.HTTP_SERVER_REQUEST_DURATION.prometheus_name
SEL = 'job=~"$job"'
OLD = f'{SEL}, {c.LABEL_API_VERSION}="$version"'


def build() -> dict[str, Any]:
    """The dashboard's JSON model."""
    count = f"{SERVER}_count"
    overview = [
        graph(
            "Requests by API version",
            "Requests per second per API version across the selected services.",
            "reqps",
            [prom(f"sum by ({c.LABEL_API_VERSION}) (rate({count}{{{SEL}}}[{RATE}]))", "{{api_version}}")],
            span=16,
        ),
        single(
            "Share of traffic on $version",
            "Requests on the chosen version as a share of all requests over the dashboard's time range.",
            "percentunit",
            prom(f"sum(increase({count}{{{OLD}}}[$__range])) / sum(increase({count}{{{SEL}}}[$__range]))"),
            span=8,
            height=8,
        ),
    ]
    callers = [
        tabulate(
            "Tenants calling $version",
            "Requests per tenant on the chosen version over the time range, most first; __other__ folds the long tail.",
            "short",
            [
                prom(
                    f"sort_desc(sum by ({c.LABEL_TENANT}) (increase({count}{{{OLD}}}[$__range])))",
                    instant=True,
                )
            ],
        ),
        tabulate(
            "Routes called on $version",
            "Requests per route on the chosen version over the time range, most first.",
            "short",
            [
                prom(
                    f"sort_desc(sum by ({c.LABEL_HTTP_ROUTE}) (increase({count}{{{OLD}}}[$__range])))",
                    instant=True,
                )
            ],
        ),
        graph(
            "Top 10 tenants on $version",
            "Requests per second of the ten busiest tenants still on the chosen version.",
            "reqps",
            [prom(f"topk(10, sum by ({c.LABEL_TENANT}) (rate({count}{{{OLD}}}[{RATE}])))", "{{tenant_id}}")],
            span=24,
        ),
    ]
    behaviour = [
        graph(
            "Error ratio by API version",
            "Share of requests answered 5xx per API version.",
            "percentunit",
            [
                prom(
                    f'(sum by ({c.LABEL_API_VERSION}) (rate({count}{{{SEL}, {c.LABEL_HTTP_STATUS}=~"5.."}}[{RATE}]))'
                    f" or sum by ({c.LABEL_API_VERSION}) (rate({count}{{{SEL}}}[{RATE}])) * 0)"
                    f" / sum by ({c.LABEL_API_VERSION}) (rate({count}{{{SEL}}}[{RATE}]))",
                    "{{api_version}}",
                )
            ],
        ),
        graph(
            "p95 duration by API version",
            "95th percentile request duration per API version; exemplar dots link to traces.",
            "s",
            [
                prom(
                    f"histogram_quantile(0.95, sum by ({c.LABEL_API_VERSION}, le) (rate({SERVER}_bucket{{{SEL}}}[{RATE}])))",
                    "{{api_version}}",
                    exemplar=True,
                )
            ],
        ),
    ]
    return dashboard(
        UID,
        TITLE,
        "Traffic by API version, and which tenants and routes still use an old version.",
        [("Versions", overview), ("Who calls $version", callers), ("Behaviour", behaviour)],
        variables=[
            label_variable("job", "Service", count, "job"),
            label_variable("version", "Old version", count, c.LABEL_API_VERSION, selector=f"{{{SEL}}}", default="v1"),
        ],
    )
