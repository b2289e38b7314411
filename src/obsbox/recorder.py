"""Export raw samples from a running Prometheus into the recording format.

Raw samples, not ``query_range``: a range query re-samples on its step and hides scrape jitter,
missing scrapes and counter resets, which are exactly what noise recordings must keep. The
range ``[start, end]`` is cut into chunks; each is one instant query of ``SELECTOR[chunk]`` at
the chunk's end, which returns every stored sample in it with its own timestamp. Prometheus 2.x
includes both edges of a range selector, so a sample on a chunk boundary comes back twice;
``normalise`` drops the exact duplicate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import requests

from obsbox.formats import format_duration_ms
from obsbox.replay.model import Series, label_key
from obsbox.replay.openmetrics import normalise

DEFAULT_CHUNK_S = 3600


class RecordError(RuntimeError):
    """Prometheus refused a query, or answered something that is not raw samples."""


@dataclass(frozen=True)
class RecordRequest:
    prometheus_url: str
    selectors: tuple[str, ...]
    start_s: float
    end_s: float
    chunk_s: int = DEFAULT_CHUNK_S
    timeout_s: float = 60.0

    def __post_init__(self) -> None:
        if not self.selectors:
            raise ValueError("at least one --match selector is needed")
        if self.end_s <= self.start_s:
            from obsbox.formats import format_time

            raise ValueError(
                f"end {format_time(round(self.end_s * 1000))} is not after start {format_time(round(self.start_s * 1000))}"
            )
        if self.chunk_s <= 0:
            raise ValueError("chunk must be positive")


def chunks(start_s: float, end_s: float, chunk_s: int) -> list[tuple[float, float]]:
    """[(from, to)] covering [start, end] in pieces of at most chunk_s seconds."""
    out = []
    t = start_s
    while t < end_s:
        out.append((t, min(end_s, t + chunk_s)))
        t += chunk_s
    return out




def _query(
    session: requests.Session, req: RecordRequest, selector: str, to_s: float, span_s: float
) -> list[Any]:
    url = req.prometheus_url.rstrip("/") + "/api/v1/query"
    query = f"{selector}[{format_duration_ms(max(1, math.ceil(span_s * 1000)))}]"
    try:
        resp = session.get(url, params={"query": query, "time": f"{to_s:.3f}"}, timeout=req.timeout_s)
    except requests.RequestException as exc:
        raise RecordError(f"{url}: {exc}") from None
    try:
        body = resp.json()
    except ValueError:
        raise RecordError(f"{url}: HTTP {resp.status_code}, not JSON: {resp.text[:200]!r}") from None
    if body.get("status") != "success":
        raise RecordError(f"{url}: query {query!r} failed: {body.get('errorType')}: {body.get('error')}")
    data = body["data"]
    if data.get("resultType") != "matrix":
        raise RecordError(
            f"{url}: query {query!r} gave {data.get('resultType')}, not raw samples: is it a selector?"
        )
    return list(data["result"])


def fetch(req: RecordRequest, session: requests.Session | None = None) -> list[Series]:
    """Every raw sample of every series the selectors match within [start, end]."""
    session = session or requests.Session()
    merged: dict[tuple[tuple[str, str], ...], tuple[dict[str, str], list[int], list[float]]] = {}
    for selector in req.selectors:
        for frm, to in chunks(req.start_s, req.end_s, req.chunk_s):
            for item in _query(session, req, selector, to, to - frm):
                labels = {str(k): str(v) for k, v in item["metric"].items()}
                entry = merged.setdefault(label_key(labels), (labels, [], []))
                for ts, value in item["values"]:
                    ts_ms = round(float(ts) * 1000)
                    if req.start_s * 1000 <= ts_ms <= req.end_s * 1000:
                        entry[1].append(ts_ms)
                        entry[2].append(float(value))
    series = [Series(labels, ts, vs) for labels, ts, vs in merged.values() if ts]
    return sorted(normalise(series), key=lambda s: label_key(s.labels))


def manifest_skeleton(
    name: str,
    data_file: str,
    start: str,
    end: str,
    *,
    kind: str,
    description: str,
    source_detail: str,
    windows: Sequence[tuple[str, str]] = (),
    expect_alert: str | None = None,
    within: str = "10m",
) -> dict[str, Any]:
    """A manifest for a fresh recording; incidents need a window and an expected alert to be valid."""
    data: dict[str, Any] = {
        "name": name,
        "kind": kind,
        "description": description,
        "source": "recorded",
        "source_detail": source_detail,
        "data": data_file,
        "start": start,
        "end": end,
    }
    if kind == "incident":
        if not windows or not expect_alert:
            raise ValueError("an incident recording needs --window START/END and --expect-alert")
        data["windows"] = [{"start": s, "end": e} for s, e in windows]
        data["expect"] = {"fire": [{"alert": expect_alert, "within": within}]}
    return data
