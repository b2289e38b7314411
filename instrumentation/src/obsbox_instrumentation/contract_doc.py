"""The signal contract as Markdown tables (pure; the README's tables must equal this output)."""

from __future__ import annotations

from . import contract as c


def metrics_table() -> str:
    rows = [
        "| Prometheus name | OpenTelemetry name | type | unit | labels | buckets |",
        "|---|---|---|---|---|---|",
    ]
    for spec in c.METRICS:
        buckets = ", ".join(f"{b:g}" for b in spec.buckets) if spec.buckets else ""
        labels = ", ".join(f"`{label}`" for label in spec.labels)
        rows.append(
            f"| `{spec.prometheus_name}` | `{spec.otel_name}` | {spec.instrument.value} | `{spec.unit}` | {labels} | {buckets} |"
        )
    return "\n".join(rows)


def log_fields_table() -> str:
    rows = ["| field | always | meaning |", "|---|---|---|"]
    for field in c.LOG_FIELDS:
        rows.append(f"| `{field.name}` | {'yes' if field.always else 'when known'} | {field.description} |")
    return "\n".join(rows)
