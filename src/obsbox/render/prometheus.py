"""Prometheus: prometheus.yml and the exporter-toolkit web config (basic auth with bcrypt hashes, optional TLS)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from obsbox.render._yaml import MANAGED_HEADER, dump_yaml
from obsbox.render.tls import TlsFiles


@dataclass(frozen=True)
class BasicAuthClient:
    """Credentials a scraper or alert sender presents; the password stays in a file."""

    username: str
    password_file: str


@dataclass(frozen=True)
class ScrapeJob:
    name: str
    targets: tuple[str, ...]
    metrics_path: str = "/metrics"
    # True for the collector's Prometheus exporter: its job/instance labels come from the
    # services' service.name/service.instance.id and must win over the scrape target's.
    honor_labels: bool = False
    basic_auth: BasicAuthClient | None = None
    scrape_interval: str = ""
    scheme: str = "http"
    # CA file verifying an https target's certificate (empty: the system's CAs).
    ca_file: str = ""
    # Series of these jobs are dropped at scrape (the job label after honor_labels): services
    # that another job already scrapes directly, so no service is counted twice.
    drop_jobs: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("scrape job with an empty name")
        if not self.targets:
            raise ValueError(f"scrape job {self.name!r} has no targets")
        if self.scheme not in ("http", "https"):
            raise ValueError(f"scrape job {self.name!r}: scheme {self.scheme!r} is not http or https")
        for target in self.targets:
            host, sep, port = target.rpartition(":")
            if not sep or not host or not port.isdigit():
                raise ValueError(f"scrape job {self.name!r}: target {target!r} is not host:port")


@dataclass(frozen=True)
class RemoteWrite:
    url: str

    def __post_init__(self) -> None:
        if not self.url.startswith(("http://", "https://")):
            raise ValueError(f"remote write url {self.url!r} is not an http(s) URL")


@dataclass(frozen=True)
class PrometheusSettings:
    scrape_jobs: tuple[ScrapeJob, ...]
    rule_files: tuple[str, ...] = ()
    alertmanager_targets: tuple[str, ...] = ()
    alertmanager_basic_auth: BasicAuthClient | None = None
    alertmanager_scheme: str = "http"
    alertmanager_ca_file: str = ""
    scrape_interval: str = "15s"
    evaluation_interval: str = "15s"
    external_labels: tuple[tuple[str, str], ...] = ()
    max_exemplars: int = 100000
    remote_write: tuple[RemoteWrite, ...] = ()
    # HA pair: the external label naming this replica. Dropped from alerts (the Alertmanager
    # peers then see the two replicas' alerts as one) and from remote write (the store then
    # deduplicates the two replicas' identical series).
    replica_label: str = ""

    def __post_init__(self) -> None:
        if self.replica_label and self.replica_label not in dict(self.external_labels):
            raise ValueError(f"replica_label {self.replica_label!r} is not an external label")
        names = [job.name for job in self.scrape_jobs]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate scrape job names: {', '.join(duplicates)}")
        if self.max_exemplars < 0:
            raise ValueError("max_exemplars must be >= 0")


def _basic_auth(auth: BasicAuthClient) -> dict[str, str]:
    return {"username": auth.username, "password_file": auth.password_file}


def _scrape_config(job: ScrapeJob) -> dict[str, Any]:
    config: dict[str, Any] = {"job_name": job.name}
    if job.scrape_interval:
        config["scrape_interval"] = job.scrape_interval
    if job.metrics_path != "/metrics":
        config["metrics_path"] = job.metrics_path
    if job.honor_labels:
        config["honor_labels"] = True
    config.update(_client(job.scheme, job.ca_file, job.basic_auth))
    config["static_configs"] = [{"targets": list(job.targets)}]
    if job.drop_jobs:
        config["metric_relabel_configs"] = [
            {"source_labels": ["job"], "regex": "|".join(re.escape(name) for name in job.drop_jobs), "action": "drop"}
        ]
    return config


def _labeldrop(label: str) -> list[dict[str, str]]:
    return [{"regex": re.escape(label), "action": "labeldrop"}]


def _remote_write(target: RemoteWrite, replica_label: str) -> dict[str, Any]:
    config: dict[str, Any] = {"url": target.url}
    if replica_label:
        # Write relabelling runs after external labels are attached, so the replica label can go.
        config["write_relabel_configs"] = _labeldrop(replica_label)
    return config


def _client(scheme: str, ca_file: str, basic_auth: BasicAuthClient | None) -> dict[str, Any]:
    """How Prometheus reaches an endpoint (a scrape target, an Alertmanager): scheme, CA, basic auth."""
    out: dict[str, Any] = {}
    if scheme != "http":
        out["scheme"] = scheme
        if ca_file:
            out["tls_config"] = {"ca_file": ca_file}
    if basic_auth is not None:
        out["basic_auth"] = _basic_auth(basic_auth)
    return out


def render_prometheus_config(settings: PrometheusSettings) -> str:
    """Render prometheus.yml."""
    config: dict[str, Any] = {
        "global": {
            "scrape_interval": settings.scrape_interval,
            "evaluation_interval": settings.evaluation_interval,
        }
    }
    if settings.external_labels:
        config["global"]["external_labels"] = dict(settings.external_labels)
    if settings.alertmanager_targets:
        alertmanager: dict[str, Any] = {"static_configs": [{"targets": list(settings.alertmanager_targets)}]}
        alertmanager.update(
            _client(settings.alertmanager_scheme, settings.alertmanager_ca_file, settings.alertmanager_basic_auth)
        )
        config["alerting"] = {"alertmanagers": [alertmanager]}
        if settings.replica_label:
            # Both replicas send every alert to every peer; without their replica label the
            # alerts are identical, and the gossiping peers notify once.
            config["alerting"]["alert_relabel_configs"] = _labeldrop(settings.replica_label)
    if settings.rule_files:
        config["rule_files"] = list(settings.rule_files)
    config["scrape_configs"] = [_scrape_config(job) for job in settings.scrape_jobs]
    if settings.remote_write:
        config["remote_write"] = [_remote_write(target, settings.replica_label) for target in settings.remote_write]
    # Exemplars link a latency bucket to the trace that landed in it (Grafana: exemplars to
    # traces); also needs --enable-feature=exemplar-storage on the command line.
    config["storage"] = {"exemplars": {"max_exemplars": settings.max_exemplars}}
    return dump_yaml(config, MANAGED_HEADER)


@dataclass(frozen=True)
class WebConfigSettings:
    """Users allowed in by basic auth, as (name, bcrypt hash) pairs, and optional TLS files."""

    users: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    tls: TlsFiles | None = None

    def __post_init__(self) -> None:
        for name, hashed in self.users:
            if not name:
                raise ValueError("basic auth user with an empty name")
            if not hashed.startswith(("$2a$", "$2b$", "$2y$")):
                raise ValueError(f"basic auth user {name!r}: password is not a bcrypt hash")


def render_web_config(settings: WebConfigSettings) -> str:
    """Render the exporter-toolkit web config shared by Prometheus, Alertmanager and node_exporter."""
    config: dict[str, Any] = {}
    if settings.tls is not None:
        config["tls_server_config"] = {
            "cert_file": settings.tls.cert_file,
            "key_file": settings.tls.key_file,
            "min_version": "TLS12",
        }
    if settings.users:
        config["basic_auth_users"] = dict(settings.users)
    return dump_yaml(config, MANAGED_HEADER)
