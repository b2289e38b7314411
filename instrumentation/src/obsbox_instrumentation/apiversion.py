"""API version of a request: from a ``/v1/``-style route prefix, a header, or a callable.

Pure functions; the server middleware calls :func:`api_version` once per request so
"who still calls v1" is one query on ``http_server_request_duration_seconds{api_version="v1"}``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

ApiVersionExtractor = Callable[[Mapping[str, Any]], "str | None"]
UNVERSIONED = ""
_PREFIX_RE = re.compile(r"^/(v\d{1,3}(?:\.\d{1,3})?|\d{4}-\d{2}-\d{2})(?:/|$)")
_VALUE_RE = re.compile(r"^[A-Za-z0-9._-]{1,32}$")
# Header values come from clients: only version-shaped values, so labels stay bounded.
_HEADER_RE = re.compile(r"^(?:v?\d{1,2}(?:\.\d{1,2})?|\d{4}-\d{2}-\d{2})$")


def version_from_path(path: str) -> str | None:
    """``/v2/orders`` -> ``v2``; ``/2024-06-01/x`` -> ``2024-06-01``; otherwise None."""
    match = _PREFIX_RE.match(path or "")
    return match.group(1) if match else None


def api_version(
    path: str,
    header_value: str | None,
    environ: Mapping[str, Any] | None = None,
    extractor: ApiVersionExtractor | None = None,
) -> str:
    """The request's API version: callable first, then the path prefix, then the header.

    Header values are accepted only when version-shaped (``2``, ``v2``, ``v2.1``, a date) and
    normalised to ``v2`` so a client cannot create arbitrary label values.
    """
    if extractor is not None and environ is not None:
        try:
            value = extractor(environ)
        except Exception:
            value = None
        if isinstance(value, str) and _VALUE_RE.match(value):
            return value
    from_path = version_from_path(path)
    if from_path is not None:
        return from_path
    if header_value:
        value = header_value.strip().lower()
        if _HEADER_RE.match(value):
            return value if value[0] == "v" or "-" in value else "v" + value
    return UNVERSIONED
