"""Scrubbing: secrets (Authorization, Cookie, password/token parameters...) never leave the process.

Pure functions over strings and mappings. A key is sensitive when it contains one of the
configured patterns (case-insensitive substring: ``X-Api-Key`` matches ``api-key``). Free text
(log messages, URLs, exception messages) is scrubbed where a sensitive word is followed by ``=``
or ``:`` and a value. Applied by the export path (spans, OTLP logs), the JSON log formatter and the
server middleware (``url.query``); metrics never carry such values because their labels are a
closed set (route template, method, status, api version, capped tenant).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, quote

REDACTED = "[REDACTED]"


class Scrubber:
    """Redacts values of sensitive keys and ``key=value`` pairs in free text."""

    def __init__(self, patterns: Iterable[str]) -> None:
        self.patterns = tuple(p.lower() for p in patterns if p)
        if self.patterns:
            alternatives = "|".join(re.escape(p) for p in sorted(self.patterns, key=len, reverse=True))
            # word[sep]value where word contains a pattern; value is a quoted string, an
            # auth scheme plus credentials, or a run of non-separator characters.
            self._text_re: re.Pattern[str] | None = re.compile(
                r"(?i)([\w.-]*(?:" + alternatives + r")[\w.-]*[\"']?\s*[=:]\s*)"
                r"(\"[^\"]*\"|'[^']*'|(?:bearer|basic|digest|token)\s+[^\s,;&]+|[^\s,;&\"']+)"
            )
        else:
            self._text_re = None
        self.is_sensitive_key = lru_cache(maxsize=4096)(self._is_sensitive_key)

    def _is_sensitive_key(self, key: str) -> bool:
        lowered = key.lower()
        return any(p in lowered for p in self.patterns)

    def text(self, value: str) -> str:
        """Free text with the values after sensitive words replaced."""
        if self._text_re is None or not value:
            return value
        return self._text_re.sub(lambda m: m.group(1) + REDACTED, value)

    def query(self, query: str) -> str:
        """A URL query string with sensitive parameters' values replaced."""
        if not query:
            return query
        pairs = parse_qsl(query, keep_blank_values=True)
        if not any(self.is_sensitive_key(k) for k, _ in pairs):
            return self.text(query)
        return "&".join(
            f"{quote(k, safe='')}={REDACTED if self.is_sensitive_key(k) else quote(v, safe='')}"
            for k, v in pairs
        )

    def url(self, url: str) -> str:
        """A URL with user info dropped and sensitive query parameters redacted."""
        if not url:
            return url
        scheme_sep = url.find("://")
        if scheme_sep >= 0:
            rest_start = scheme_sep + 3
            at = url.find("@", rest_start)
            slash = url.find("/", rest_start)
            if at >= 0 and (slash < 0 or at < slash):
                url = url[:rest_start] + REDACTED + "@" + url[at + 1 :]
        base, sep, query = url.partition("?")
        if not sep:
            return self.text(url)
        fragment = ""
        if "#" in query:
            query, _, frag = query.partition("#")
            fragment = "#" + frag
        return base + "?" + self.query(query) + fragment

    def value(self, key: str, value: Any) -> Any:
        """One attribute: redacted when its key is sensitive, free-text-scrubbed when a string."""
        if self.is_sensitive_key(key):
            return REDACTED
        if isinstance(value, str):
            if key.startswith("url.") or key == "http.url" or key == "http.target":
                return self.url(value)
            return self.text(value)
        if isinstance(value, (list, tuple)) and value and isinstance(value[0], str):
            return tuple(self.text(v) for v in value)
        return value

    def mapping(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """A scrubbed copy of an attribute mapping."""
        return {k: self.value(k, v) for k, v in values.items()}

    def needs_scrub(self, values: Mapping[str, Any]) -> bool:
        """Cheap check used by the exporters: does any key or string value look sensitive?"""
        for k, v in values.items():
            if self.is_sensitive_key(k):
                return True
            if isinstance(v, str) and self._text_re is not None and self._text_re.search(v):
                return True
        return False
