"""Issue 8 item 8: TLS web configs and https scrape configs pass promtool with real certificates."""

from __future__ import annotations

from pathlib import Path

from obsbox.deploy.localcheck import check_tree
from obsbox.deploy.rendered import render_host_files
from obsbox.deploy.settings import settings_from_host_data

ROUTED = {
    "alertmanager_page_webhook_url": "https://pager.example/page",
    "alertmanager_ticket_webhook_url": "https://tickets.example/ticket",
    "alertmanager_watchdog_webhook_url": "https://hc.example/watchdog",
}


def _checked(tmp_path: Path, **data: object) -> dict[str, list]:
    settings = settings_from_host_data({**ROUTED, "loki_enabled": False, "tempo_enabled": False, "otelcol_enabled": False,
                                        "grafana_enabled": False, **data})  # fmt: skip
    root = tmp_path / "tree"
    for path, content in render_host_files(settings).items():
        target = root / path.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content)
    results: dict[str, list] = {}
    for result in check_tree(root, settings):
        results.setdefault(result.name, []).append(result)
    return results


def test_deploy_tls_web_configs_pass_promtool(tmp_path: Path, certificate: tuple[Path, Path]) -> None:
    """promtool check web-config loads the certificate and key named in the rendered web configs."""
    cert, key = certificate
    results = _checked(
        tmp_path,
        prometheus_tls_cert_file=str(cert),
        prometheus_tls_key_file=str(key),
        alertmanager_tls_cert_file=str(cert),
        alertmanager_tls_key_file=str(key),
        prometheus_basic_auth_password="s3cret",
    )
    web = results["promtool check web-config"]
    assert len(web) == 3 and all(r.ok for r in web), [r.output for r in web]
    config = results["promtool check config"]
    assert all(r.ok for r in config), [r.output for r in config]


def test_deploy_tls_web_config_with_missing_certificate_fails_promtool(tmp_path: Path, certificate: tuple[Path, Path]) -> None:
    """A certificate path that does not exist fails the deploy's web-config check (the check has teeth)."""
    _cert, key = certificate
    results = _checked(tmp_path, prometheus_tls_cert_file=str(tmp_path / "missing.crt"), prometheus_tls_key_file=str(key))
    failed = [r for r in results["promtool check web-config"] if not r.ok]
    assert len(failed) == 1 and "missing.crt" in failed[0].output
