"""A lean server span: the OpenTelemetry Span API on the request path, SDK spans on the export thread.

Why: creating an SDK span here costs about as much as the whole rest of obsbox's per-request
work (attribute cleaning into BoundedAttributes, locks, processor fan-out at start and end).
A :class:`LeanSpan` keeps a plain dict and a few fields; when it ends it is queued as is, and the
export thread turns it into an SDK ``ReadableSpan`` for the exporter. Sampling still goes
through the TracerProvider's sampler, so OTEL_TRACES_SAMPLER(_ARG) and sample_ratio hold.
Code inside the request sees a normal recording span: ``trace.get_current_span()`` returns it,
child spans from the SDK tracer parent to it, logs get its ids. Only the obsbox export pipeline
receives it; span processors added to the TracerProvider by hand do not see server spans.
"""

from __future__ import annotations

import random
import time
import traceback
from collections.abc import Mapping
from typing import Any

from opentelemetry import trace
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, Status, StatusCode, TraceFlags
from opentelemetry.trace.span import INVALID_SPAN_CONTEXT

_SAMPLED = TraceFlags(TraceFlags.SAMPLED)
_NOT_SAMPLED = TraceFlags(TraceFlags.DEFAULT)
SCOPE = InstrumentationScope("obsbox_instrumentation")


_PRIMITIVES = (str, bool, int, float)


def _exportable(value: Any) -> bool:
    if isinstance(value, _PRIMITIVES):
        return True
    if isinstance(value, (list, tuple)):
        return all(isinstance(v, _PRIMITIVES) for v in value)
    return False


class LeanSpan(trace.Span):
    """A recording span with the minimum of bookkeeping; see the module docstring."""

    __slots__ = ("_name", "_context", "_parent", "_kind", "_start", "_end", "_attributes", "_events",
                 "_status", "_sink")

    def __init__(
        self, name: str, context: SpanContext, parent: SpanContext | None, kind: SpanKind,
        attributes: dict[str, Any], sink: Any,
    ) -> None:
        self._name = name
        self._context = context
        self._parent = parent
        self._kind = kind
        self._attributes = attributes
        self._events: list[Event] | None = None
        self._status = Status(StatusCode.UNSET)
        self._start = time.time_ns()
        self._end: int | None = None
        self._sink = sink

    def get_span_context(self) -> SpanContext:
        return self._context

    def is_recording(self) -> bool:
        return self._end is None

    def set_attribute(self, key: str, value: Any) -> None:
        if self._end is None and value is not None:
            self._attributes[key] = value

    def set_attributes(self, attributes: Mapping[str, Any]) -> None:
        if self._end is None:
            self._attributes.update({k: v for k, v in attributes.items() if v is not None})

    def add_event(self, name: str, attributes: Any = None, timestamp: int | None = None) -> None:
        if self._end is None:
            if self._events is None:
                self._events = []
            self._events.append(Event(name, dict(attributes or {}), timestamp or time.time_ns()))

    def add_link(self, context: SpanContext, attributes: Any = None) -> None:
        pass  # server spans carry no links

    def update_name(self, name: str) -> None:
        if self._end is None:
            self._name = name

    def set_status(self, status: Status | StatusCode, description: str | None = None) -> None:
        if self._end is not None:
            return
        if isinstance(status, Status):
            self._status = status
        else:
            self._status = Status(status, description)

    def record_exception(
        self, exception: BaseException, attributes: Any = None, timestamp: int | None = None, escaped: bool = False,
    ) -> None:
        attrs = {
            "exception.type": type(exception).__qualname__,
            "exception.message": str(exception),
            "exception.stacktrace": "".join(traceback.format_exception(type(exception), exception, exception.__traceback__)),
            "exception.escaped": str(escaped),
        }
        if attributes:
            attrs.update(attributes)
        self.add_event("exception", attrs, timestamp)

    def end(self, end_time: int | None = None) -> None:
        if self._end is not None:
            return
        self._end = end_time or time.time_ns()
        self._sink(self)

    def to_readable(self, resource: Any) -> ReadableSpan:
        """The SDK span the exporters understand (called on the export thread)."""
        # Drop values OTLP span attributes cannot carry (a dict set by user code) instead of
        # letting one bad attribute fail the whole batch's encoding.
        attributes = {k: v for k, v in self._attributes.items() if _exportable(v)}
        return ReadableSpan(
            name=self._name, context=self._context, parent=self._parent, resource=resource,
            attributes=attributes, events=tuple(self._events or ()), kind=self._kind,
            status=self._status, start_time=self._start, end_time=self._end, instrumentation_scope=SCOPE,
        )


def ratio_bound(sampler: Any) -> int | None:
    """For the standard ParentBased(TraceIdRatioBased|ALWAYS_ON) sampler: the trace-id bound
    under which a root span is sampled, so the hot path can decide inline; None otherwise."""
    from opentelemetry.sdk.trace import sampling as s

    if type(sampler) not in (s.ParentBased, s.ParentBasedTraceIdRatio):
        return None
    delegates = (sampler._remote_parent_sampled, sampler._remote_parent_not_sampled,
                 sampler._local_parent_sampled, sampler._local_parent_not_sampled)
    if delegates != (s.ALWAYS_ON, s.ALWAYS_OFF, s.ALWAYS_ON, s.ALWAYS_OFF):
        return None
    root = sampler._root
    if root is s.ALWAYS_ON or isinstance(root, s.StaticSampler) and root is s.ALWAYS_ON:
        return s.TraceIdRatioBased.TRACE_ID_LIMIT + 1
    if type(root) is s.TraceIdRatioBased:
        return int(root.bound)
    return None


class LeanTracer:
    """Starts LeanSpans honouring the provider's sampler; ``sink`` gets ended spans (or None)."""

    def __init__(self, sampler: Any, sink: Any | None) -> None:
        self._sampler = sampler
        self._sink = sink
        self._rand = random.getrandbits
        # Same decision as the SDK sampler, without building a SamplingResult per request.
        self._bound = ratio_bound(sampler)

    def start_span(
        self, name: str, context: Any, kind: SpanKind, attributes: dict[str, Any],
    ) -> trace.Span:
        parent = trace.get_current_span(context).get_span_context()
        if parent is INVALID_SPAN_CONTEXT or not parent.is_valid:
            parent_ctx = None
            trace_id = self._rand(128) or 1
        else:
            parent_ctx = parent
            trace_id = parent.trace_id
        if self._bound is not None:
            if parent_ctx is not None:
                sampled = parent_ctx.trace_flags.sampled
                trace_state = parent_ctx.trace_state
            else:
                sampled = trace_id & 0xFFFFFFFFFFFFFFFF < self._bound
                trace_state = None
        else:
            result = self._sampler.should_sample(context, trace_id, name, kind, attributes)
            sampled = result.decision.is_sampled()
            trace_state = result.trace_state
            if sampled and result.attributes:
                attributes.update(result.attributes)
        span_ctx = SpanContext(
            trace_id, self._rand(64) or 1, is_remote=False,
            trace_flags=_SAMPLED if sampled else _NOT_SAMPLED, trace_state=trace_state,
        )
        if not sampled or self._sink is None:
            return NonRecordingSpan(span_ctx)
        return LeanSpan(name, span_ctx, parent_ctx, kind, attributes, self._sink)
