"""Opening a generated HTML report in Debian's Chromium, headless, through Playwright: every
console error or warning, page error and network request is collected as a problem (a report is
one self-contained file and must draw without any of them)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="Debian's chromium is not installed at /usr/bin/chromium"
)


def _is_local(url: str) -> bool:
    return url.startswith(("file:", "data:", "blob:"))


@contextmanager
def report_page(report: Path, problems: list[str]) -> Iterator[Any]:
    """The report loaded in a fresh headless Chromium (Playwright's own temporary profile); what
    goes wrong on the page is appended to ``problems``."""
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (a dev dependency) is not installed")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type in ("error", "warning") else None)
            page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
            page.on("request", lambda r: None if _is_local(r.url) else problems.append(f"request {r.url}"))
            page.goto(report.as_uri(), wait_until="load")
            yield page
        finally:
            browser.close()
