"""prometheus.yml and web config rendering, parsed back (pure)."""

from __future__ import annotations

import pytest
import yaml

from obsbox.render.prometheus import (
    BasicAuthClient,
    PrometheusSettings,
    ScrapeJob,
    WebConfigSettings,
    render_prometheus_config,
    render_web_config,
)


def _jobs(config: dict) -> dict[str, dict]:
    return {job["job_name"]: job for job in config["scrape_configs"]}


def test_render_prometheus_lists_every_job_with_its_targets() -> None:
    """Each scrape job appears once with exactly its static targets."""
    settings = PrometheusSettings(
        scrape_jobs=(ScrapeJob("prometheus", ("127.0.0.1:9090",)), ScrapeJob("billing", ("10.0.0.5:9464", "10.0.0.6:9464")))
    )
    jobs = _jobs(yaml.safe_load(render_prometheus_config(settings)))
    assert {name: job["static_configs"][0]["targets"] for name, job in jobs.items()} == {
        "prometheus": ["127.0.0.1:9090"],
        "billing": ["10.0.0.5:9464", "10.0.0.6:9464"],
    }


def test_render_prometheus_honor_labels_only_where_asked() -> None:
    """honor_labels is set for the collector's exporter job and absent elsewhere."""
    settings = PrometheusSettings(
        scrape_jobs=(ScrapeJob("node", ("h:9100",)), ScrapeJob("otlp", ("h:8889",), honor_labels=True))
    )
    jobs = _jobs(yaml.safe_load(render_prometheus_config(settings)))
    assert jobs["otlp"]["honor_labels"] is True
    assert "honor_labels" not in jobs["node"]


def test_render_prometheus_alerting_rules_and_exemplars() -> None:
    """Alertmanager targets, rule files and exemplar storage size land in their sections."""
    settings = PrometheusSettings(
        scrape_jobs=(ScrapeJob("p", ("h:9090",)),),
        rule_files=("/etc/prometheus/rules/*.rules.yaml",),
        alertmanager_targets=("h:9093",),
        alertmanager_basic_auth=BasicAuthClient("obsbox", "/etc/prometheus/secrets/alertmanager_password"),
        max_exemplars=5000,
    )
    config = yaml.safe_load(render_prometheus_config(settings))
    manager = config["alerting"]["alertmanagers"][0]
    assert manager["static_configs"][0]["targets"] == ["h:9093"]
    assert manager["basic_auth"] == {"username": "obsbox", "password_file": "/etc/prometheus/secrets/alertmanager_password"}
    assert config["rule_files"] == ["/etc/prometheus/rules/*.rules.yaml"]
    assert config["storage"]["exemplars"]["max_exemplars"] == 5000


def test_render_prometheus_refuses_duplicate_job_names() -> None:
    """Two jobs with one name are refused, naming the job."""
    with pytest.raises(ValueError, match="duplicate scrape job names: node"):
        PrometheusSettings(scrape_jobs=(ScrapeJob("node", ("a:1",)), ScrapeJob("node", ("b:1",))))


def test_render_prometheus_refuses_target_without_port() -> None:
    """A target that is not host:port is refused with the job and the target."""
    with pytest.raises(ValueError, match=r"job 'svc': target 'svc.internal' is not host:port"):
        ScrapeJob("svc", ("svc.internal",))


def test_render_web_config_holds_bcrypt_users() -> None:
    """The web config maps each user to its bcrypt hash."""
    hashed = "$2b$10$" + "a" * 53
    config = yaml.safe_load(render_web_config(WebConfigSettings(users=(("obsbox", hashed),))))
    assert config == {"basic_auth_users": {"obsbox": hashed}}


def test_render_web_config_refuses_plaintext_password() -> None:
    """A password that is not a bcrypt hash is refused."""
    with pytest.raises(ValueError, match="not a bcrypt hash"):
        WebConfigSettings(users=(("obsbox", "secret"),))
