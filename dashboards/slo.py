"""SLOs: availability and latency objectives per service, error budget left and burn rates.

Answers "how much error budget is left this month, and how fast are we spending it?" Burn rate
is the error ratio over a window divided by the budget ratio (1 - objective); the SRE workbook's
multiwindow alerts page at 14.4 (1h and 5m) and 6 (6h and 30m), and ticket at 1 (3d).

Every panel reads the ratios that alert_rules/slo.rules.yaml records for the services listed in
alert_rules/slos.yaml, so the dashboard shows exactly what the SLO alerts evaluate, and stays
cheap: a 30-day ratio over raw request series reads every sample of every route, tenant and
status for a month, past Prometheus' per-query sample limit for a busy service.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dashboards._lib import (
    GREEN,
    RED,
    YELLOW,
    choice_variable,
    dashboard,
    graph,
    label_variable,
    prom,
    single,
    thresholds,
)

UID = Path(__file__).stem
TITLE = "SLOs and error budgets"

# Recording rules of alert_rules/slo.rules.yaml (level:metric:operations), one per window; the
# contract check (tests/validators/dashboards) fails if the rule files stop defining them.
REQUESTS = "job:http_server_requests:rate"
ERRORS = "job:http_server_request_errors:ratio_rate"
SLOW = "job:http_server_request_slow:ratio_rate"
BURN_WINDOWS = ("5m", "30m", "1h", "6h", "3d")
SEL = '{job=~"$job"}'
BUDGET_WINDOW = "30d"


def period_ratio(ratio: str) -> str:
    """A recorded 5m ratio over the whole budget window, weighted by traffic.

    Each 5-minute step of the subquery covers exactly the 5 minutes its rate5m saw, so the sum
    of bad requests over the sum of all requests is the window's true ratio (an average of the
    5m ratios would count a quiet night like a busy morning).
    """
    bad = f"sum by (job) (sum_over_time(({ratio}5m{SEL} * {REQUESTS}5m{SEL})[{BUDGET_WINDOW}:5m]))"
    total = f"sum by (job) (sum_over_time({REQUESTS}5m{SEL}[{BUDGET_WINDOW}:5m]))"
    return f"{bad} / {total}"


def burn_rate(ratio: str, window: str, objective: str) -> str:
    """The recorded ratio over the window divided by the budget ratio (1 - objective)."""
    return f"{ratio}{window}{SEL} / (1 - ${objective})"


def build() -> dict[str, Any]:
    """The dashboard's JSON model."""
    budget_steps = thresholds((None, RED), (0.25, YELLOW), (0.5, GREEN))
    burn_steps = thresholds((None, GREEN), (1, YELLOW), (6, RED))
    availability = [
        single(
            "Availability (30d)",
            "Share of requests not answered 5xx over the last 30 days.",
            "percentunit",
            prom(f"1 - ({period_ratio(ERRORS)})", "{{job}}"),
            span=8,
        ),
        single(
            "Error budget left (30d)",
            "Share of the 30-day error budget (1 - objective) not yet spent; below 0 the SLO is broken.",
            "percentunit",
            prom(f"1 - ({period_ratio(ERRORS)}) / (1 - $availability_objective)", "{{job}}"),
            span=8,
            steps=budget_steps,
        ),
        single(
            "Burn rate (1h)",
            "5xx ratio over the last hour divided by the budget ratio; 14.4 spends 2% of a month's budget in an hour.",
            "short",
            prom(burn_rate(ERRORS, "1h", "availability_objective"), "{{job}}"),
            span=8,
            steps=burn_steps,
        ),
        graph(
            "Availability burn rates",
            "Burn rate over each alert window; 1 spends the budget in exactly 30 days. The alerts page when "
            "both windows of a pair (1h and 5m, 6h and 30m) are above 14.4 or 6.",
            "short",
            [prom(burn_rate(ERRORS, w, "availability_objective"), f"{{{{job}}}} {w}") for w in BURN_WINDOWS],
            span=24,
            steps=burn_steps,
        ),
    ]
    latency = [
        single(
            "Fast requests (30d)",
            "Share of requests within the service's latency threshold (from slos.yaml) over the last 30 days.",
            "percentunit",
            prom(f"1 - ({period_ratio(SLOW)})", "{{job}}"),
            span=8,
        ),
        single(
            "Latency budget left (30d)",
            "Share of the 30-day latency budget (slow requests allowed) not yet spent.",
            "percentunit",
            prom(f"1 - ({period_ratio(SLOW)}) / (1 - $latency_objective)", "{{job}}"),
            span=8,
            steps=budget_steps,
        ),
        single(
            "Latency burn rate (1h)",
            "Slow-request ratio over the last hour divided by the latency budget ratio.",
            "short",
            prom(burn_rate(SLOW, "1h", "latency_objective"), "{{job}}"),
            span=8,
            steps=burn_steps,
        ),
        graph(
            "Latency burn rates",
            "Slow-request burn rate over each alert window.",
            "short",
            [prom(burn_rate(SLOW, w, "latency_objective"), f"{{{{job}}}} {w}") for w in BURN_WINDOWS],
            span=24,
            steps=burn_steps,
        ),
    ]
    return dashboard(
        UID,
        TITLE,
        "Availability and latency SLOs of the services in alert_rules/slos.yaml: error budget left over "
        "30 days and multiwindow burn rates, from the same recorded ratios the SLO alerts use.",
        [("Availability", availability), ("Latency", latency)],
        variables=[
            # Only services with an SLO have the recorded series, so only they are listed.
            label_variable("job", "Service", f"{REQUESTS}5m", "job"),
            choice_variable("availability_objective", "Availability objective", ["0.99", "0.995", "0.999", "0.9995"], "0.999"),
            choice_variable("latency_objective", "Latency objective", ["0.9", "0.95", "0.99"], "0.99"),
        ],
    )
