"""Grafana's archive resolved through a downloads API answering on loopback like grafana.com's."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from http.server import BaseHTTPRequestHandler

import pytest

from obsbox.deploy.release import resolve_grafana_release
from obsbox.deploy.settings import InventoryDataError, settings_from_host_data

URL = "https://dl.grafana.com/grafana/release/12.1.1/grafana_12.1.1_16903967602_linux_amd64.tar.gz"
SHA = "ab" * 32
# Alertmanager's receivers are beside the point here.
_LAB = {"alertmanager_allow_no_receivers": True}


@pytest.fixture
def downloads_api(
    serve_loopback: Callable[[type[BaseHTTPRequestHandler]], AbstractContextManager[str]],
) -> Iterator[tuple[str, list[str]]]:
    """(URL template, requested paths) of a loopback server answering /<version>/<arch> with url+sha256."""
    requested: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            requested.append(self.path)
            body = json.dumps({"url": URL, "sha256": SHA.upper(), "os": "linux"}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            return

    with serve_loopback(Handler) as base_url:
        yield f"{base_url}/{{version}}/{{arch}}", requested


def test_deploy_grafana_api_gives_url_and_sha(downloads_api: tuple[str, list[str]]) -> None:
    """The API's url and sha256 (lower-cased) become the release, asked for the pinned version and arch."""
    template, requested = downloads_api
    release = resolve_grafana_release(settings_from_host_data({"grafana_version": "12.1.1", **_LAB}), api_template=template)
    assert (release.url, release.pinned_sha256) == (URL, SHA)
    assert requested == ["/12.1.1/amd64"]


def test_deploy_grafana_api_disagreeing_with_pin_is_refused(downloads_api: tuple[str, list[str]]) -> None:
    """A pinned sha256 that the API contradicts stops the deploy with both values."""
    template, _ = downloads_api
    settings = settings_from_host_data({"grafana_archive_sha256": "cd" * 32, **_LAB})
    with pytest.raises(InventoryDataError, match=f"pinned {'cd' * 32} but grafana.com lists {SHA}"):
        resolve_grafana_release(settings, api_template=template)


def test_deploy_grafana_api_unreachable_says_what_to_pin() -> None:
    """An unreachable API fails with advice to pin the archive URL and sha256."""
    with pytest.raises(InventoryDataError, match="pin grafana_archive_url and grafana_archive_sha256"):
        resolve_grafana_release(
            settings_from_host_data(_LAB), timeout=5, api_template="http://127.0.0.1:1/{version}/{arch}"
        )
