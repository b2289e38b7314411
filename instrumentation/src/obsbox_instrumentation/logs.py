"""stdlib logging as JSON lines: the fields declared in contract.LOG_FIELDS plus the record's extras.

One object per line on stdout, so any log shipper (the collector's filelog receiver, Promtail,
journald) can parse it; trace_id/span_id come from the active span and tenant_id from baggage,
which is what makes a log line findable from a trace and a tenant.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from opentelemetry import trace

from .export import SHARED_KEY
from .scrub import Scrubber
from .tenant import current_tenant

# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD_ATTRS = frozenset(
    vars(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None)).keys()
) | {"message", "asctime", "taskName"}
# A record with no extras: the standard attributes plus the shared lookups obsbox leaves on it.
_PLAIN_RECORD_LEN = len(vars(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None))) + 1
_RESERVED = frozenset(("timestamp", "level", "message", "logger", "service", "trace_id", "span_id", "tenant_id", "exception"))


def _json_default(value: Any) -> str:
    return str(value)


class JsonFormatter(logging.Formatter):
    """Formats a record as one JSON object (see contract.LOG_FIELDS)."""

    def __init__(self, service: str, scrubber: Scrubber) -> None:
        super().__init__()
        self.service = service
        self.scrubber = scrubber
        self._last_second = -1
        self._last_stamp = ""

    def format(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        if second != self._last_second:  # one strftime per second, not per line
            self._last_second = second
            self._last_stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        message = record.getMessage()
        span_ctx = trace.get_current_span().get_span_context()
        tenant = current_tenant()
        # The OTLP handler after this one needs the same three lookups: leave them on the record.
        record.__dict__[SHARED_KEY] = (message, span_ctx, tenant)
        out: dict[str, Any] = {
            "timestamp": f"{self._last_stamp}.{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "message": self.scrubber.text(message),
            "logger": record.name,
            "service": self.service,
        }
        if span_ctx.is_valid:
            out["trace_id"] = format(span_ctx.trace_id, "032x")
            out["span_id"] = format(span_ctx.span_id, "016x")
        if tenant is not None:
            out["tenant_id"] = tenant
        if record.exc_info:
            out["exception"] = self.scrubber.text(self.formatException(record.exc_info))
        elif record.exc_text:
            out["exception"] = self.scrubber.text(record.exc_text)
        attrs = record.__dict__
        # Most records carry no extras: skip the scan when only standard attributes are there.
        if len(attrs) <= _PLAIN_RECORD_LEN:
            return json.dumps(out, default=_json_default, ensure_ascii=False)
        for key, value in attrs.items():
            if key in _STANDARD_ATTRS or key.startswith("_"):
                continue
            # Extras never overwrite the contract's fields; they keep their value under extra_.
            name = f"extra_{key}" if key in _RESERVED else key
            out[name] = self.scrubber.value(key, value)
        return json.dumps(out, default=_json_default, ensure_ascii=False)


class ObsboxJsonHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The stdout JSON handler obsbox installs (a distinct class so configure() finds its own)."""
