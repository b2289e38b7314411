"""Service overview: rate, errors and duration (RED) of one or more services, by route and API version.

Answers "is this service healthy, and if not, which route, which API version, which dependency?"
Duration panels show exemplars, which link each dot to its trace in Tempo; the log and trace
panels at the bottom narrow down to one trace id.
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
    dashboard,
    graph,
    label_variable,
    log_lines,
    prom,
    text_variable,
    thresholds,
    trace_search,
)

UID = Path(__file__).stem
TITLE = "Service overview"

SERVER = c.HTTP_SERVER_REQUEST_DURATION.prometheus_name
CLIENT = c.HTTP_CLIENT_REQUEST_DURATION.prometheus_name
SEL = f'job=~"$job", {c.LABEL_HTTP_ROUTE}=~"$route", {c.LABEL_API_VERSION}=~"$api_version"'
ERRORS = f'{c.LABEL_HTTP_STATUS}=~"5.."'
# A dependency call failed when it got a 5xx or no response at all (status 0: timeout, refused).
CLIENT_ERRORS = f'{c.LABEL_HTTP_STATUS}=~"0|5.."'


def _rate(series: str, selector: str, by: str) -> str:
    return f"sum by ({by}) (rate({series}{{{selector}}}[{RATE}]))"


def _error_ratio(series: str, selector: str, errors: str, by: str) -> str:
    # "or ... * 0" keeps a series at 0 for groups with traffic but no errors, instead of no data.
    errs = _rate(f"{series}_count", f"{selector}, {errors}", by)
    total = _rate(f"{series}_count", selector, by)
    return f"({errs} or {total} * 0) / {total}"


def _quantile(q: float, series: str, selector: str, by: str) -> str:
    return f"histogram_quantile({q}, {_rate(f'{series}_bucket', selector, f'{by}, le')})"


def build() -> dict[str, Any]:
    """The dashboard's JSON model."""
    error_steps = thresholds((None, GREEN), (0.01, YELLOW), (0.05, RED))
    traffic = [
        graph(
            "Requests by route",
            "Requests per second each route serves, per service.",
            "reqps",
            [prom(_rate(f"{SERVER}_count", SEL, f"job, {c.LABEL_HTTP_ROUTE}"), "{{job}} {{http_route}}")],
        ),
        graph(
            "Requests by API version",
            "Requests per second per API version; a version falling to zero can be retired.",
            "reqps",
            [prom(_rate(f"{SERVER}_count", SEL, c.LABEL_API_VERSION), "{{api_version}}")],
        ),
    ]
    errors = [
        graph(
            "Error ratio by route",
            "Share of requests answered with a 5xx status, per route.",
            "percentunit",
            [prom(_error_ratio(SERVER, SEL, ERRORS, f"job, {c.LABEL_HTTP_ROUTE}"), "{{job}} {{http_route}}")],
            steps=error_steps,
        ),
        graph(
            "Responses by status code",
            "Requests per second by HTTP status code: 4xx are client mistakes, 5xx are ours.",
            "reqps",
            [prom(_rate(f"{SERVER}_count", SEL, c.LABEL_HTTP_STATUS), "{{http_response_status_code}}")],
        ),
    ]
    duration = [
        graph(
            "Request duration percentiles",
            "p50, p95 and p99 server-side duration from the histogram; exemplar dots link to traces.",
            "s",
            [
                prom(_quantile(q, SERVER, SEL, "job"), f"{{{{job}}}} p{int(q * 100)}", exemplar=True)
                for q in (0.5, 0.95, 0.99)
            ],
        ),
        graph(
            "p95 duration by route",
            "95th percentile duration per route; exemplar dots link to traces.",
            "s",
            [prom(_quantile(0.95, SERVER, SEL, f"job, {c.LABEL_HTTP_ROUTE}"), "{{job}} {{http_route}}", exemplar=True)],
        ),
        graph(
            "p95 duration by API version",
            "95th percentile duration per API version, to see whether an old version is slower.",
            "s",
            [prom(_quantile(0.95, SERVER, SEL, c.LABEL_API_VERSION), "{{api_version}}", exemplar=True)],
            span=24,
        ),
    ]
    client_sel = 'job=~"$job"'
    dependencies = [
        graph(
            "Dependency calls",
            "Outgoing HTTP requests per second by destination host.",
            "reqps",
            [prom(_rate(f"{CLIENT}_count", client_sel, c.LABEL_SERVER_ADDRESS), "{{server_address}}")],
            span=8,
        ),
        graph(
            "Dependency error ratio",
            "Share of outgoing requests that got a 5xx or no response (status 0: timeout, refused).",
            "percentunit",
            [
                prom(
                    _error_ratio(CLIENT, client_sel, CLIENT_ERRORS, c.LABEL_SERVER_ADDRESS),
                    "{{server_address}}",
                )
            ],
            span=8,
            steps=error_steps,
        ),
        graph(
            "Dependency p95 duration",
            "95th percentile duration of outgoing requests by destination; exemplar dots link to traces.",
            "s",
            [prom(_quantile(0.95, CLIENT, client_sel, c.LABEL_SERVER_ADDRESS), "{{server_address}}", exemplar=True)],
            span=8,
        ),
    ]
    correlate = [
        trace_search(
            "Failed or slow traces",
            "Recent traces of the selected services that failed or took over a second (Tempo search).",
            '{ resource.service.name =~ "$job" && (status = error || duration > 1s) }',
        ),
        log_lines(
            "Logs (filter by trace id)",
            "Log lines of the selected services; type a trace id above to see only that request's lines.",
            # Loki's OTLP ingestion keeps trace_id as structured metadata, filtered like a label;
            # an empty trace id matches every line.
            '{service_name=~"$job"} | trace_id=~"$trace_id.*"',
        ),
    ]
    return dashboard(
        UID,
        TITLE,
        "Rate, errors and duration of HTTP services by route and API version, with traces and logs.",
        [
            ("Traffic", traffic),
            ("Errors", errors),
            ("Duration", duration),
            ("Dependencies", dependencies),
            ("Traces and logs", correlate),
        ],
        variables=[
            label_variable("job", "Service", f"{SERVER}_count", "job"),
            label_variable("route", "Route", f"{SERVER}_count", c.LABEL_HTTP_ROUTE, selector='{job=~"$job"}'),
            label_variable(
                "api_version", "API version", f"{SERVER}_count", c.LABEL_API_VERSION, selector='{job=~"$job"}'
            ),
            text_variable("trace_id", "Trace id", ""),
        ],
    )
