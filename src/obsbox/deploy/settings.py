"""Inventory data -> typed settings for every component.

Every key is ``<component>_<setting>`` (``obsbox_`` for the stack-wide ones) and has a default in
exactly one DEFAULTS mapping below. ``settings_from_host_data`` checks types and ranges and turns a
typo in a known prefix into an error naming the key, instead of a silently ignored setting.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from obsbox.formats import is_duration, parse_duration
from obsbox.render import ports
from obsbox.render.alertmanager import AlertmanagerSettings, unrouted_receivers
from obsbox.render.grafana import GrafanaSettings
from obsbox.render.listen import host_port
from obsbox.render.loki import LokiSettings
from obsbox.render.otelcol import OtelcolSettings
from obsbox.render.systemd import credential_path
from obsbox.render.tempo import TempoSettings
from obsbox.render.tls import TlsFiles

COMPONENTS = ("node_exporter", "prometheus", "alertmanager", "victoriametrics", "loki", "tempo", "otelcol", "grafana")
INSTALL_METHODS = ("archive", "package")
# Debian ships these; the others exist only as upstream release archives. (Debian's
# victoria-metrics is an older release than the pin: the package installs whatever Debian has.)
PACKAGED = {"prometheus", "alertmanager", "node_exporter", "victoriametrics"}
# What the collector on a host does: "standalone" receives OTLP and exports to Tempo, Loki and
# its Prometheus exporter (also the role of a gateway); "agent" forwards everything to the
# gateways through the load-balancing exporter, spans routed by trace id.
OTELCOL_ROLES = ("standalone", "agent")
# Where Grafana's Prometheus datasource reads metrics: this stack's Prometheus, or the
# long-term store both replicas of an HA pair write to (VictoriaMetrics' Prometheus API).
GRAFANA_METRICS_SOURCES = ("prometheus", "victoriametrics")
# The collector's bearer token reaches it as a systemd credential (a root-only file on the host
# that the plan writes); an agent also sends it to its gateways from this environment variable.
OTELCOL_TOKEN_CREDENTIAL_NAME = "otlp_bearer_token"
OTELCOL_TOKEN_CREDENTIAL = credential_path("otelcol", OTELCOL_TOKEN_CREDENTIAL_NAME)
OTELCOL_GATEWAY_TOKEN_ENV = "OBSBOX_OTLP_TOKEN"

# Default: the repository's own rules and built dashboards, found from a checkout or the cwd.
_REPO_ROOT = Path(__file__).resolve().parents[3]

COMMON_DEFAULTS: dict[str, Any] = {
    # Every service listens here unless its <component>_listen_address says otherwise. Loopback
    # for a single host; the host's internal address in a multi-host inventory.
    "obsbox_bind_address": "127.0.0.1",
    "obsbox_arch": "amd64",
    # Air-gapped mirror: files are fetched from {base}/{component}/{version}/{file}.
    "obsbox_artifact_base_url": "",
    "obsbox_install_dir": "/opt/obsbox",
    "obsbox_cache_dir": "/var/cache/obsbox",
    "obsbox_bin_dir": "/usr/local/bin",
    # Seconds a service gets to answer its readiness endpoint after a (re)start.
    "obsbox_ready_timeout": 120,
    # Empty: no IP filter in the units. Otherwise systemd IPAddressAllow= entries (CIDRs).
    "obsbox_ip_address_allow": [],
    "obsbox_rules_dir": "",
    "obsbox_dashboards_dir": "",
    # Components allowed to listen on a non-loopback address without authentication (Loki and
    # Tempo have none of their own; see check_exposure). Anything else off loopback needs auth.
    "obsbox_allow_unauthenticated": [],
    # CA bundle on the hosts that verifies the stack's own TLS certificates (empty: system CAs).
    "obsbox_tls_ca_file": "",
}


def _install_defaults(component: str, version: str, method: str = "archive") -> dict[str, Any]:
    return {
        f"{component}_enabled": True,
        f"{component}_version": version,
        f"{component}_install_method": method,
        # Optional extra pin on top of the release's checksum file.
        f"{component}_archive_sha256": "",
        # Directory URL holding the archive and its checksum file; "{version}" is substituted.
        f"{component}_artifact_base_url": "",
        f"{component}_listen_address": "",
        # How other hosts reach this component; default http://<listen_address>:<port>.
        f"{component}_url": "",
    }


NODE_EXPORTER_DEFAULTS: dict[str, Any] = {
    **_install_defaults("node_exporter", "1.9.1"),
    "node_exporter_port": ports.NODE_EXPORTER,
    "node_exporter_basic_auth_username": "obsbox",
    "node_exporter_basic_auth_password": "",
    "node_exporter_basic_auth_password_hash": "",
}

PROMETHEUS_DEFAULTS: dict[str, Any] = {
    **_install_defaults("prometheus", "3.5.0"),
    "prometheus_port": ports.PROMETHEUS,
    # Empty: the SLO period of <rules dir>/slos.yaml plus RETENTION_MARGIN, so the SLO dashboard's
    # whole-period panels and the slowest burn window always have data. Shorter is refused.
    "prometheus_retention_time": "",
    "prometheus_retention_size": "10GB",
    "prometheus_scrape_interval": "15s",
    "prometheus_evaluation_interval": "15s",
    "prometheus_max_exemplars": 100000,
    "prometheus_external_labels": {},
    # Remote write targets (http(s) URLs), e.g. the long-term store's /api/v1/write.
    "prometheus_remote_write_urls": [],
    # The external label telling the replicas of an HA pair apart (e.g. "replica"; empty: not
    # a pair). It is dropped from the alerts sent to Alertmanager, so the peers see one alert
    # and notify once, and from remote write, so both replicas write the same series and the
    # store's deduplication keeps one sample per interval. Must be one of the external labels.
    "prometheus_replica_label": "",
    # Where Prometheus' own otelcol-otlp-metrics job scrapes the collectors' prometheus exporters
    # (host:port). Empty: the exporter port on the collector's telemetry target.
    "prometheus_otelcol_metrics_targets": [],
    # Instrumented services: {service name (becomes the job label): ["host:port", ...]}.
    "prometheus_service_targets": {},
    # Empty: the node_exporter / Alertmanager / stack components on this host (for prometheus:
    # this Prometheus itself; an HA pair lists both replicas, so both scrape the same targets).
    "prometheus_prometheus_targets": [],
    "prometheus_victoriametrics_targets": [],
    "prometheus_node_exporter_targets": [],
    "prometheus_alertmanager_targets": [],
    "prometheus_loki_targets": [],
    "prometheus_tempo_targets": [],
    "prometheus_grafana_targets": [],
    "prometheus_otelcol_targets": [],
    # Basic auth: set the password to turn it on. The hash (bcrypt) may be pinned; otherwise a
    # hash already on the host is reused while it still matches, so re-runs change nothing.
    "prometheus_basic_auth_username": "obsbox",
    "prometheus_basic_auth_password": "",
    "prometheus_basic_auth_password_hash": "",
    # TLS: certificate and key files already on the host, readable by the prometheus user.
    "prometheus_tls_cert_file": "",
    "prometheus_tls_key_file": "",
    # The URL users open (links in alerts, Grafana); default <prometheus_url>, or the inventory
    # host name when that is loopback.
    "prometheus_external_url": "",
}

ALERTMANAGER_DEFAULTS: dict[str, Any] = {
    **_install_defaults("alertmanager", "0.28.1"),
    "alertmanager_port": ports.ALERTMANAGER,
    "alertmanager_retention": "120h",
    "alertmanager_basic_auth_username": "obsbox",
    "alertmanager_basic_auth_password": "",
    "alertmanager_basic_auth_password_hash": "",
    "alertmanager_tls_cert_file": "",
    "alertmanager_tls_key_file": "",
    "alertmanager_external_url": "",
    # The deploy refuses an Alertmanager whose page, ticket or watchdog receiver has no webhook;
    # true accepts that (a lab whose alerts are only looked at in the UI).
    "alertmanager_allow_no_receivers": False,
    # Cluster gossip (HA): the other peers' host:port. Empty: a single instance, no gossip port.
    # The gossip port listens on the Alertmanager's own listen address only, never on all
    # interfaces; gossip has no authentication, so peers need obsbox_ip_address_allow.
    "alertmanager_cluster_peers": [],
    "alertmanager_cluster_port": ports.ALERTMANAGER_CLUSTER,
    # Every field of obsbox.render.alertmanager.AlertmanagerSettings, as alertmanager_<field>.
    **{f"alertmanager_{f.name}": None for f in fields(AlertmanagerSettings)},
}

VICTORIAMETRICS_DEFAULTS: dict[str, Any] = {
    # Off unless an inventory turns it on (the HA layout's long-term store).
    **_install_defaults("victoriametrics", "1.151.0"),
    "victoriametrics_enabled": False,
    "victoriametrics_port": ports.VICTORIAMETRICS,
    # -retentionPeriod: a number of months, or a duration with h/d/w/y (1y, 400d).
    "victoriametrics_retention_period": "1y",
    # -dedup.minScrapeInterval: one sample per series per interval is kept, so an HA pair of
    # Prometheus replicas (with the replica label dropped) is stored once. Empty: the
    # prometheus_scrape_interval.
    "victoriametrics_dedup_min_scrape_interval": "",
}

LOKI_DEFAULTS: dict[str, Any] = {
    **_install_defaults("loki", "3.5.3"),
    "loki_port": ports.LOKI_HTTP,
    "loki_grpc_port": ports.LOKI_GRPC,
    "loki_retention_period": "744h",
}

TEMPO_DEFAULTS: dict[str, Any] = {
    **_install_defaults("tempo", "2.8.2"),
    "tempo_port": ports.TEMPO_HTTP,
    "tempo_grpc_port": ports.TEMPO_GRPC,
    "tempo_otlp_grpc_port": ports.TEMPO_OTLP_GRPC,
    "tempo_retention": "336h",
}

OTELCOL_DEFAULTS: dict[str, Any] = {
    **_install_defaults("otelcol", "0.161.0"),
    "otelcol_otlp_grpc_port": ports.OTELCOL_OTLP_GRPC,
    "otelcol_otlp_http_port": ports.OTELCOL_OTLP_HTTP,
    "otelcol_health_port": ports.OTELCOL_HEALTH,
    "otelcol_telemetry_port": ports.OTELCOL_TELEMETRY,
    "otelcol_prometheus_exporter_port": ports.OTELCOL_PROMETHEUS_EXPORTER,
    "otelcol_memory_limit_percentage": 80,
    "otelcol_memory_spike_limit_percentage": 20,
    # The unit's MemoryMax; the memory_limiter's limits are the percentages above of it.
    "otelcol_memory_max_mib": 1024,
    # Bearer token the services must send to the OTLP receivers (bearertokenauth). Required
    # when the collector listens off loopback, unless obsbox_allow_unauthenticated has otelcol.
    "otelcol_otlp_bearer_token": "",
    "otelcol_debug_endpoints": False,
    # The release's checksum file; its name changed over the collector's history.
    "otelcol_checksums_file": "",
    # Which collector distribution's release archive to install: the upstream contrib build, or
    # obsbox's own (otelcol-obsbox: exactly the components obsbox's configs use), served from
    # obsbox_artifact_base_url.
    "otelcol_distribution": "otelcol-contrib",
    # Where the collector sends traces and logs; default this host's Tempo and Loki.
    "otelcol_tempo_otlp_endpoint": "",
    "otelcol_loki_otlp_url": "",
    # standalone (default; also a gateway) or agent (see OTELCOL_ROLES).
    "otelcol_role": "standalone",
    # An agent's gateways: host:port of their OTLP gRPC receivers (the same bearer token, if any).
    "otelcol_gateway_endpoints": [],
}

GRAFANA_DEFAULTS: dict[str, Any] = {
    **_install_defaults("grafana", "12.1.1"),
    "grafana_port": ports.GRAFANA,
    "grafana_admin_user": "admin",
    "grafana_root_url": "",
    # prometheus or victoriametrics (see GRAFANA_METRICS_SOURCES).
    "grafana_metrics_source": "prometheus",
    # TLS (server protocol https): certificate and key files on the host, readable by grafana.
    "grafana_tls_cert_file": "",
    "grafana_tls_key_file": "",
    # Grafana 12 tarball names carry a build id: pin url + sha256 here, or leave both empty to
    # ask grafana.com's downloads API at deploy time.
    "grafana_archive_url": "",
}

DEFAULTS_BY_COMPONENT: dict[str, dict[str, Any]] = {
    "node_exporter": NODE_EXPORTER_DEFAULTS,
    "prometheus": PROMETHEUS_DEFAULTS,
    "alertmanager": ALERTMANAGER_DEFAULTS,
    "victoriametrics": VICTORIAMETRICS_DEFAULTS,
    "loki": LOKI_DEFAULTS,
    "tempo": TEMPO_DEFAULTS,
    "otelcol": OTELCOL_DEFAULTS,
    "grafana": GRAFANA_DEFAULTS,
}

ALL_DEFAULTS: dict[str, Any] = {k: v for d in (COMMON_DEFAULTS, *DEFAULTS_BY_COMPONENT.values()) for k, v in d.items()}


class InventoryDataError(ValueError):
    """A bad inventory data value; the message names the key."""


@dataclass(frozen=True)
class InstallSettings:
    component: str
    enabled: bool
    version: str
    method: str
    archive_sha256: str
    artifact_base_url: str
    listen_address: str
    url: str
    # True when the inventory set <component>_url itself (the component runs on another host).
    url_configured: bool = False


@dataclass(frozen=True)
class BasicAuth:
    username: str
    password: str
    password_hash: str


@dataclass(frozen=True)
class PrometheusOptions:
    """Prometheus's own inventory data, checked (prometheus_*)."""

    # The retention it runs with: configured, or the SLO period plus RETENTION_MARGIN.
    retention_time: str
    retention_size: str
    scrape_interval: str
    evaluation_interval: str
    max_exemplars: int
    external_labels: tuple[tuple[str, str], ...]
    # prometheus_<component>_targets: where to scrape the stack's components (empty: found from the inventory).
    targets: Mapping[str, tuple[str, ...]]
    # prometheus_service_targets: instrumented services, job name -> host:port targets.
    service_targets: Mapping[str, tuple[str, ...]]
    # prometheus_otelcol_metrics_targets: the collectors' prometheus exporters (empty: derived).
    otelcol_metrics_targets: tuple[str, ...] = ()
    remote_write_urls: tuple[str, ...] = ()
    # HA pair: the external label naming this replica ("" when not a pair).
    replica_label: str = ""


@dataclass(frozen=True)
class AlertmanagerClusterOptions:
    """Gossip between Alertmanager peers (alertmanager_cluster_*); no peers: a single instance."""

    port: int = ports.ALERTMANAGER_CLUSTER
    peers: tuple[str, ...] = ()

    @property
    def enabled(self) -> bool:
        return bool(self.peers)


@dataclass(frozen=True)
class VictoriaMetricsOptions:
    """VictoriaMetrics' inventory data (victoriametrics_*), checked; its flags are its whole config."""

    retention_period: str = "1y"
    dedup_min_scrape_interval: str = "15s"


@dataclass(frozen=True)
class StackSettings:
    """Everything the deploy needs for one host, checked."""

    bind_address: str
    arch: str
    artifact_base_url: str
    install_dir: str
    cache_dir: str
    bin_dir: str
    ready_timeout: int
    ip_address_allow: tuple[str, ...]
    rules_dir: Path
    dashboards_dir: Path
    install: Mapping[str, InstallSettings]
    ports: Mapping[str, int]
    prometheus: PrometheusOptions
    prometheus_auth: BasicAuth | None
    alertmanager_auth: BasicAuth | None
    node_exporter_auth: BasicAuth | None
    # Components serving HTTPS: component -> its certificate files.
    tls: Mapping[str, TlsFiles]
    tls_ca_file: str
    # --web.external-url of Prometheus and Alertmanager.
    external_urls: Mapping[str, str]
    allow_unauthenticated: tuple[str, ...]
    # The SLO period the retention was checked against (alert_rules/slos.yaml).
    slo_period: str
    alertmanager_retention: str
    # The renderers' own settings, checked: every component's config can be rendered. (The
    # alertmanager_<field> keys are the fields of AlertmanagerSettings.)
    alertmanager: AlertmanagerSettings
    loki: LokiSettings
    tempo: TempoSettings
    otelcol: OtelcolSettings
    grafana: GrafanaSettings
    # What the deploy needs beside the renderers' settings, named as their inventory keys.
    # The token the services send the collector ("" for none), written to OTELCOL_TOKEN_CREDENTIAL.
    otelcol_bearer_token: str
    otelcol_distribution: str
    otelcol_checksums_file: str
    # A pinned archive URL (Grafana 12+ archive names carry a build id); "" to ask grafana.com.
    grafana_archive_url: str
    # Where Grafana's Prometheus datasource reads metrics: prometheus or victoriametrics.
    grafana_metrics_source: str
    alertmanager_cluster: AlertmanagerClusterOptions = AlertmanagerClusterOptions()
    victoriametrics: VictoriaMetricsOptions = VictoriaMetricsOptions()

    def enabled(self, component: str) -> bool:
        return self.install[component].enabled

    def url(self, component: str) -> str:
        return self.install[component].url


# --- value checks -----------------------------------------------------------------------------


def _str(key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise InventoryDataError(f"{key}: expected a string, got {type(value).__name__} {value!r}")
    return value


def _bool(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise InventoryDataError(f"{key}: expected true or false, got {value!r}")
    return value


def _int(key: str, value: Any, low: int = 0, high: int = 2**31) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InventoryDataError(f"{key}: expected an integer, got {type(value).__name__} {value!r}")
    if not low <= value <= high:
        raise InventoryDataError(f"{key}: {value} is outside {low}..{high}")
    return value


def _port(key: str, value: Any) -> int:
    return _int(key, value, 1, 65535)


def _list(key: str, value: Any, what: str, item: Callable[[str, Any], str] = _str) -> tuple[str, ...]:
    """A list of what (never a lone string), each value checked by item."""
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise InventoryDataError(f"{key}: expected a list of {what}, got {value!r}")
    return tuple(item(key, v) for v in value)


def _host_port(key: str, value: Any) -> str:
    text = _str(key, value)
    host, sep, port = text.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise InventoryDataError(f"{key}: {text!r} is not host:port")
    return text


def _targets(key: str, value: Any) -> tuple[str, ...]:
    return _list(key, value, "host:port strings", _host_port)


_DISTRIBUTION = re.compile(r"^otelcol(-[a-z0-9]+)*$")
_SIZE = re.compile(r"^\d+(B|KB|MB|GB|TB|PB|EB)$")
_VERSION = re.compile(r"^\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_ADDRESS = re.compile(r"^[0-9A-Za-z.:\-\[\]]+$")


def _http_url(key: str, value: Any) -> str:
    url = _str(key, value)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InventoryDataError(f"{key}: {url!r} is not an http(s) URL")
    return url


def _choice(key: str, value: Any, choices: tuple[str, ...]) -> str:
    text = _str(key, value)
    if text not in choices:
        raise InventoryDataError(f"{key}: {text!r} is not one of {', '.join(choices)}")
    return text


_LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
# VictoriaMetrics' -retentionPeriod: months as a bare number, or a duration in h, d, w or y.
_VM_RETENTION = re.compile(r"^\d+(h|d|w|y)?$")


def _duration(key: str, value: Any, what: str) -> str:
    text = _str(key, value)
    if not is_duration(text):
        raise InventoryDataError(f"{key}: {text!r} is not {what}")
    return text


def _match(key: str, value: Any, pattern: re.Pattern[str], what: str) -> str:
    text = _str(key, value)
    if not pattern.match(text):
        raise InventoryDataError(f"{key}: {text!r} is not {what}")
    return text


def _check_unknown_keys(data: Mapping[str, Any]) -> None:
    prefixes = tuple(f"{c}_" for c in COMPONENTS) + ("obsbox_",)
    for key in data:
        if isinstance(key, str) and key.startswith(prefixes) and key not in ALL_DEFAULTS:
            close = difflib.get_close_matches(key, list(ALL_DEFAULTS), n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise InventoryDataError(f"{key}: unknown inventory data key{hint}")


def _default_dir(key: str, configured: str, *candidates: Path) -> Path:
    if configured:
        path = Path(configured).expanduser()
        if not path.is_dir():
            raise InventoryDataError(f"{key}: {configured!r} is not a directory on the machine running the deploy")
        return path
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    return candidates[0]


# The SLO period assumed when the rules directory has no slos.yaml (the SLO dashboard's 30 days).
DEFAULT_SLO_PERIOD = "30d"
# Retention beyond the SLO period: the slowest burn window (3d), so the oldest point of a
# whole-period query and of the slow burn alert are both still stored.
RETENTION_MARGIN = "3d"
SLOS_FILE = "slos.yaml"


def _days_or_hours(seconds: float) -> str:
    hours = int(seconds // 3600)
    return f"{hours // 24}d" if hours % 24 == 0 else f"{hours}h"


def slo_period(rules_dir: Path) -> str:
    """The SLO period of rules_dir/slos.yaml, or DEFAULT_SLO_PERIOD when there is none."""
    path = rules_dir / SLOS_FILE
    if not path.is_file():
        return DEFAULT_SLO_PERIOD
    from obsbox.rules.slo import SloError, load_slos

    try:
        return load_slos(path).period
    except SloError as error:
        raise InventoryDataError(f"obsbox_rules_dir: {error}") from error


def _retention(configured: str, period: str, rules_dir: Path) -> str:
    """The retention to run with: configured, or the SLO period plus the margin; never shorter than the period."""
    default = _days_or_hours(parse_duration(period) + parse_duration(RETENTION_MARGIN))
    if not configured:
        return default
    if parse_duration(configured) < parse_duration(period):
        raise InventoryDataError(
            f"prometheus_retention_time: {configured} is shorter than the {period} SLO period of "
            f"{rules_dir / SLOS_FILE}: the SLO dashboard and the slow burn-rate alerts would read missing data; "
            f"set at least {period}, or leave it unset for {default} (the period plus {RETENTION_MARGIN})"
        )
    return configured


def _tls(data: Mapping[str, Any], component: str) -> TlsFiles | None:
    cert = _str(f"{component}_tls_cert_file", data[f"{component}_tls_cert_file"])
    key = _str(f"{component}_tls_key_file", data[f"{component}_tls_key_file"])
    if bool(cert) != bool(key):
        missing = f"{component}_tls_key_file" if cert else f"{component}_tls_cert_file"
        raise InventoryDataError(f"{missing}: needed too when {component}'s other TLS file is set (both or neither)")
    for key_name, path in ((f"{component}_tls_cert_file", cert), (f"{component}_tls_key_file", key)):
        if path and not path.startswith("/"):
            raise InventoryDataError(f"{key_name}: {path!r} is not an absolute path on the host")
    return TlsFiles(cert, key) if cert else None


def is_loopback(address: str) -> bool:
    """True for localhost and loopback IPs (127.0.0.0/8, ::1)."""
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address.strip("[]")).is_loopback
    except ValueError:
        return False


# What protects each component's listeners when they are reachable from the network.
_AUTH_KEY = {
    "node_exporter": "node_exporter_basic_auth_password",
    "prometheus": "prometheus_basic_auth_password",
    "alertmanager": "alertmanager_basic_auth_password",
    "otelcol": "otelcol_otlp_bearer_token",
}
# Neither has authentication of its own (Loki's auth_enabled only asks for a tenant header).
# VictoriaMetrics' own -httpAuth.* flags would put the password on its command line.
_NO_AUTH = ("loki", "tempo", "victoriametrics")


def check_exposure(settings: StackSettings) -> None:
    """Refuse a component listening off loopback without authentication, unless explicitly allowed.

    Grafana has its own login (generated admin password, anonymous access off) and passes.
    """
    authenticated = {
        "node_exporter": settings.node_exporter_auth is not None,
        "prometheus": settings.prometheus_auth is not None,
        "alertmanager": settings.alertmanager_auth is not None,
        "otelcol": bool(settings.otelcol_bearer_token),
        "grafana": True,
        "victoriametrics": False,
        "loki": False,
        "tempo": False,
    }
    for component in COMPONENTS:
        install = settings.install[component]
        if not install.enabled or is_loopback(install.listen_address) or authenticated[component]:
            continue
        if component in settings.allow_unauthenticated:
            continue
        where = f"{component} would listen on {install.listen_address} (obsbox_bind_address / {component}_listen_address)"
        allow = f"add {component!r} to obsbox_allow_unauthenticated to accept that explicitly"
        if component in _NO_AUTH:
            raise InventoryDataError(
                f"obsbox_allow_unauthenticated: {where}, and {component} has no authentication of its own: "
                f"keep it on loopback, put an authenticating proxy in front of it, or {allow} "
                "(then only obsbox_ip_address_allow and the network limit who reaches it)"
            )
        raise InventoryDataError(f"{_AUTH_KEY[component]}: not set, but {where} without authentication; set it, or {allow}")


def check_receivers(settings: StackSettings, allow_no_receivers: bool) -> None:
    """Refuse an Alertmanager whose page, ticket or watchdog receiver would notify nobody."""
    if not settings.enabled("alertmanager") or allow_no_receivers:
        return
    missing = unrouted_receivers(settings.alertmanager)
    if not missing:
        return
    keys = ", ".join(f"alertmanager_{name}" for name in missing)
    raise InventoryDataError(
        f"{keys}: not set, so alerts would notify nobody. Set alertmanager_page_webhook_url (critical: your paging "
        "service's webhook), alertmanager_ticket_webhook_url (warning: your ticket queue's webhook) and "
        "alertmanager_watchdog_webhook_url (a dead man's switch URL outside this stack, such as a healthchecks.io "
        "or Dead Man's Snitch check, that alerts you when the always-firing Watchdog stops arriving); "
        "or set alertmanager_allow_no_receivers: true for a lab"
    )


def _external_url(data: Mapping[str, Any], component: str, url: str, host_name: str) -> str:
    key = f"{component}_external_url"
    configured = _str(key, data[key]).rstrip("/")
    if configured:
        if not configured.startswith(("http://", "https://")):
            raise InventoryDataError(f"{key}: {configured!r} is not an http(s) URL")
        return configured
    parts = urlsplit(url)
    named_host = host_name and _ADDRESS.match(host_name) and not host_name.startswith("@")
    if named_host and parts.port and is_loopback(parts.hostname or ""):
        # Links in notifications must open from a user's browser, not from the server itself.
        return f"{parts.scheme}://{host_name}:{parts.port}"
    return url


# --- assembly ---------------------------------------------------------------------------------


def _install(
    data: Mapping[str, Any], component: str, bind_address: str, port: int, scheme: str = "http"
) -> InstallSettings:
    def get(name: str) -> Any:
        return data[f"{component}_{name}"]

    method = _str(f"{component}_install_method", get("install_method"))
    if method not in INSTALL_METHODS:
        raise InventoryDataError(
            f"{component}_install_method: {method!r} is not one of {', '.join(INSTALL_METHODS)}"
        )
    if method == "package" and component not in PACKAGED:
        raise InventoryDataError(
            f"{component}_install_method: 'package' is not available for {component} "
            f"(Debian packages exist for {', '.join(sorted(PACKAGED))} only); use 'archive'"
        )
    sha = _str(f"{component}_archive_sha256", get("archive_sha256")).lower()
    if sha and not _SHA256.match(sha):
        raise InventoryDataError(f"{component}_archive_sha256: {sha!r} is not 64 hex digits")
    listen = _str(f"{component}_listen_address", get("listen_address")) or bind_address
    if not _ADDRESS.match(listen):
        raise InventoryDataError(f"{component}_listen_address: {listen!r} is not an IP address or host name")
    configured = _str(f"{component}_url", get("url"))
    url = configured or f"{scheme}://{listen}:{port}"
    if not url.startswith(("http://", "https://")):
        raise InventoryDataError(f"{component}_url: {url!r} is not an http(s) URL")
    return InstallSettings(
        component=component,
        enabled=_bool(f"{component}_enabled", get("enabled")),
        version=_match(f"{component}_version", get("version"), _VERSION, "a version like 1.2.3"),
        method=method,
        archive_sha256=sha,
        artifact_base_url=_str(f"{component}_artifact_base_url", get("artifact_base_url")).rstrip("/"),
        listen_address=listen,
        url=url.rstrip("/"),
        url_configured=bool(configured),
    )


def _basic_auth(data: Mapping[str, Any], component: str) -> BasicAuth | None:
    username = _str(f"{component}_basic_auth_username", data[f"{component}_basic_auth_username"])
    password = _str(f"{component}_basic_auth_password", data[f"{component}_basic_auth_password"])
    hashed = _str(f"{component}_basic_auth_password_hash", data[f"{component}_basic_auth_password_hash"])
    if not password:
        if hashed:
            raise InventoryDataError(
                f"{component}_basic_auth_password_hash: set without {component}_basic_auth_password "
                "(the stack's own clients need the password itself)"
            )
        return None
    if "'" in password or "\n" in password:
        raise InventoryDataError(
            f"{component}_basic_auth_password: quotes and newlines are not supported (it is passed to Grafana "
            "through a systemd EnvironmentFile)"
        )
    if not re.match(r"^[A-Za-z0-9_.@-]+$", username):
        raise InventoryDataError(f"{component}_basic_auth_username: {username!r} has characters other than A-Za-z0-9_.@-")
    if hashed:
        import bcrypt

        if not hashed.startswith(("$2a$", "$2b$", "$2y$")):
            raise InventoryDataError(f"{component}_basic_auth_password_hash: not a bcrypt hash")
        if not bcrypt.checkpw(password.encode(), hashed.encode()):
            raise InventoryDataError(
                f"{component}_basic_auth_password_hash: does not match {component}_basic_auth_password"
            )
    return BasicAuth(username=username, password=password, password_hash=hashed)


_R = TypeVar("_R")


def _renderer(component: str, cls: type[_R], **kwargs: Any) -> _R:
    """A renderer's settings; what the renderer refuses is an InventoryDataError naming the component's keys."""
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as error:
        raise InventoryDataError(f"{component}_*: {error}") from error


def _alertmanager_settings(data: Mapping[str, Any]) -> AlertmanagerSettings:
    kwargs: dict[str, Any] = {}
    for f in fields(AlertmanagerSettings):
        key = f"alertmanager_{f.name}"
        value = data[key]
        if value is None:
            continue
        kwargs[f.name] = tuple(value) if isinstance(value, list) else value
    return _renderer("alertmanager", AlertmanagerSettings, **kwargs)


def _ports(data: Mapping[str, Any]) -> dict[str, int]:
    """Each component's main port: the one its URL and readiness probe use."""
    keys = {c: f"{c}_port" for c in COMPONENTS} | {"otelcol": "otelcol_health_port"}
    return {c: _port(key, data[key]) for c, key in keys.items()}


def _component_list(key: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, list | tuple) or not set(value) <= set(COMPONENTS):
        raise InventoryDataError(f"{key}: expected a list of component names ({', '.join(COMPONENTS)}), got {value!r}")
    return tuple(value)


def _service_targets(data: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    raw = data["prometheus_service_targets"]
    if not isinstance(raw, Mapping):
        raise InventoryDataError(
            f"prometheus_service_targets: expected a mapping of service name to host:port list, got {raw!r}"
        )
    services = {}
    for name, targets in raw.items():
        if not isinstance(name, str) or not re.match(r"^[a-zA-Z_][a-zA-Z0-9_.-]*$", name):
            raise InventoryDataError(f"prometheus_service_targets: {name!r} is not a valid job name")
        services[name] = _targets(f"prometheus_service_targets.{name}", targets)
    return services


def _prometheus(data: Mapping[str, Any], period: str, rules_dir: Path) -> PrometheusOptions:
    external = data["prometheus_external_labels"]
    if not isinstance(external, Mapping) or not all(isinstance(v, str) for v in external.values()):
        raise InventoryDataError(f"prometheus_external_labels: expected a mapping of strings, got {external!r}")
    retention = _str("prometheus_retention_time", data["prometheus_retention_time"])
    if retention:
        _duration("prometheus_retention_time", retention, "a duration like 33d")
    return PrometheusOptions(
        retention_time=_retention(retention, period, rules_dir),
        retention_size=_match("prometheus_retention_size", data["prometheus_retention_size"], _SIZE, "a size like 10GB"),
        scrape_interval=_duration("prometheus_scrape_interval", data["prometheus_scrape_interval"], "a duration like 15s"),
        evaluation_interval=_duration(
            "prometheus_evaluation_interval", data["prometheus_evaluation_interval"], "a duration like 15s"
        ),
        max_exemplars=_int("prometheus_max_exemplars", data["prometheus_max_exemplars"]),
        external_labels=tuple(sorted(external.items())),
        targets={
            c: _targets(f"prometheus_{c}_targets", data[f"prometheus_{c}_targets"])
            for c in (
                "prometheus",
                "node_exporter",
                "alertmanager",
                "victoriametrics",
                "loki",
                "tempo",
                "grafana",
                "otelcol",
            )
        },
        service_targets=_service_targets(data),
        otelcol_metrics_targets=_targets(
            "prometheus_otelcol_metrics_targets", data["prometheus_otelcol_metrics_targets"]
        ),
        remote_write_urls=_list("prometheus_remote_write_urls", data["prometheus_remote_write_urls"], "http(s) URLs", _http_url),
        replica_label=_replica_label(data, external),
    )


def _replica_label(data: Mapping[str, Any], external: Mapping[str, str]) -> str:
    key = "prometheus_replica_label"
    label = _str(key, data[key])
    if not label:
        return ""
    if not _LABEL_NAME.match(label):
        raise InventoryDataError(f"{key}: {label!r} is not a label name")
    if label not in external and data["prometheus_enabled"] is True:
        raise InventoryDataError(
            f"{key}: {label!r} is not one of prometheus_external_labels ({', '.join(sorted(external)) or 'none'}); "
            "each replica needs its own value of it there"
        )
    return label


def _alertmanager_cluster(data: Mapping[str, Any], install: InstallSettings, port: int) -> AlertmanagerClusterOptions:
    """Gossip peers, checked: never this peer itself, never a wildcard listen address, never unfiltered."""
    cluster_port = _port("alertmanager_cluster_port", data["alertmanager_cluster_port"])
    peers = _targets("alertmanager_cluster_peers", data["alertmanager_cluster_peers"])
    if not peers or not install.enabled:
        return AlertmanagerClusterOptions(cluster_port, peers)
    if cluster_port == port:
        raise InventoryDataError(f"alertmanager_cluster_port: {cluster_port} is also alertmanager_port")
    listen = install.listen_address.strip("[]")
    try:
        wildcard = ipaddress.ip_address(listen).is_unspecified
    except ValueError:
        wildcard = False
    if wildcard:
        raise InventoryDataError(
            f"alertmanager_listen_address: {listen!r} would open the gossip port on every interface; "
            "set the peer's internal address (obsbox_bind_address or alertmanager_listen_address)"
        )
    own = host_port(listen, cluster_port)
    if own in peers:
        raise InventoryDataError(f"alertmanager_cluster_peers: {own} is this peer itself; list only the others")
    if not is_loopback(listen) and not data["obsbox_ip_address_allow"]:
        raise InventoryDataError(
            "obsbox_ip_address_allow: empty, but alertmanager_cluster_peers makes Alertmanager gossip on "
            f"{own}, which has no authentication; limit the unit to the internal network (CIDRs)"
        )
    return AlertmanagerClusterOptions(cluster_port, peers)


def _victoriametrics(data: Mapping[str, Any], scrape_interval: str) -> VictoriaMetricsOptions:
    dedup = _str("victoriametrics_dedup_min_scrape_interval", data["victoriametrics_dedup_min_scrape_interval"])
    return VictoriaMetricsOptions(
        retention_period=_match(
            "victoriametrics_retention_period",
            data["victoriametrics_retention_period"],
            _VM_RETENTION,
            "a retention like 1y, 400d or 12 (months)",
        ),
        dedup_min_scrape_interval=_duration("victoriametrics_dedup_min_scrape_interval", dedup, "a duration like 15s")
        if dedup
        else scrape_interval,
    )


def _dskit_server(
    component: str,
    cls: type[_R],
    data: Mapping[str, Any],
    install: Mapping[str, InstallSettings],
    ports: Mapping[str, int],
    **settings: Any,
) -> _R:
    """Loki's or Tempo's settings: both are Grafana dskit servers, HTTP and gRPC on one listen address."""
    return _renderer(
        component,
        cls,
        listen_address=install[component].listen_address,
        http_port=ports[component],
        grpc_port=_port(f"{component}_grpc_port", data[f"{component}_grpc_port"]),
        **settings,
    )


def _otelcol_token(data: Mapping[str, Any]) -> str:
    token = _str("otelcol_otlp_bearer_token", data["otelcol_otlp_bearer_token"])
    if token and not re.match(r"^[A-Za-z0-9._~+/=-]{16,}$", token):
        raise InventoryDataError(
            "otelcol_otlp_bearer_token: needs at least 16 characters of A-Za-z0-9._~+/=- (it is sent as an HTTP header)"
        )
    return token


def _otelcol(
    data: Mapping[str, Any],
    install: Mapping[str, InstallSettings],
    ports: Mapping[str, int],
    tempo: TempoSettings,
    token: str,
) -> OtelcolSettings:
    def port(name: str) -> int:
        return _port(f"otelcol_{name}", data[f"otelcol_{name}"])

    def percentage(name: str) -> int:
        return _int(f"otelcol_{name}", data[f"otelcol_{name}"], 1, 100)

    tempo_host = install["tempo"].url.split("://", 1)[1].rsplit(":", 1)[0]
    role = _choice("otelcol_role", data["otelcol_role"], OTELCOL_ROLES)
    gateways = _targets("otelcol_gateway_endpoints", data["otelcol_gateway_endpoints"])
    if role == "agent" and not gateways:
        raise InventoryDataError("otelcol_gateway_endpoints: empty, but otelcol_role is agent (an agent forwards to its gateways)")
    if role != "agent" and gateways:
        raise InventoryDataError(f"otelcol_gateway_endpoints: set, but otelcol_role is {role} (only an agent forwards to gateways)")
    return _renderer(
        "otelcol",
        OtelcolSettings,
        role=role,
        gateway_endpoints=gateways,
        listen_address=install["otelcol"].listen_address,
        otlp_grpc_port=port("otlp_grpc_port"),
        otlp_http_port=port("otlp_http_port"),
        health_port=ports["otelcol"],
        telemetry_port=port("telemetry_port"),
        prometheus_exporter_port=port("prometheus_exporter_port"),
        tempo_otlp_endpoint=_str("otelcol_tempo_otlp_endpoint", data["otelcol_tempo_otlp_endpoint"])
        or f"{tempo_host}:{tempo.otlp_grpc_port}",
        loki_otlp_url=_str("otelcol_loki_otlp_url", data["otelcol_loki_otlp_url"]) or f"{install['loki'].url}/otlp",
        memory_limit_percentage=percentage("memory_limit_percentage"),
        memory_spike_limit_percentage=percentage("memory_spike_limit_percentage"),
        memory_max_mib=_int("otelcol_memory_max_mib", data["otelcol_memory_max_mib"], 64, 1 << 20),
        debug_endpoints=_bool("otelcol_debug_endpoints", data["otelcol_debug_endpoints"]),
        bearer_token_file=OTELCOL_TOKEN_CREDENTIAL if token else "",
        # An agent sends its gateways the same token, read from its environment.
        gateway_token_env=OTELCOL_GATEWAY_TOKEN_ENV if token and role == "agent" else "",
    )


def _grafana(
    data: Mapping[str, Any], install: Mapping[str, InstallSettings], ports: Mapping[str, int], tls: TlsFiles | None
) -> GrafanaSettings:
    return _renderer(
        "grafana",
        GrafanaSettings,
        listen_address=install["grafana"].listen_address,
        http_port=ports["grafana"],
        admin_user=_str("grafana_admin_user", data["grafana_admin_user"]),
        root_url=_str("grafana_root_url", data["grafana_root_url"]),
        tls=tls,
    )


def _grafana_archive_url(data: Mapping[str, Any], install: Mapping[str, InstallSettings]) -> str:
    archive_url = _str("grafana_archive_url", data["grafana_archive_url"])
    if archive_url and not install["grafana"].archive_sha256:
        raise InventoryDataError("grafana_archive_url: set without grafana_archive_sha256 (needed to verify it)")
    return archive_url


def _grafana_metrics_source(data: Mapping[str, Any], install: Mapping[str, InstallSettings]) -> str:
    metrics_source = _choice("grafana_metrics_source", data["grafana_metrics_source"], GRAFANA_METRICS_SOURCES)
    if metrics_source == "victoriametrics" and install["grafana"].enabled:
        vm = install["victoriametrics"]
        if not vm.enabled and not vm.url_configured:
            raise InventoryDataError(
                "victoriametrics_url: grafana_metrics_source is victoriametrics, but no VictoriaMetrics runs on "
                "this host and victoriametrics_url does not say where one runs"
            )
    return metrics_source


def _dirs(data: Mapping[str, Any]) -> tuple[Path, Path]:
    """The rules and dashboards to ship: configured, or a checkout's own (also when pyinfra runs
    from deploy/ or the repository root)."""
    rules_dir = _default_dir(
        "obsbox_rules_dir",
        _str("obsbox_rules_dir", data["obsbox_rules_dir"]),
        _REPO_ROOT / "alert_rules",
        Path("alert_rules"),
        Path("../alert_rules"),
    )
    dashboards_dir = _default_dir(
        "obsbox_dashboards_dir",
        _str("obsbox_dashboards_dir", data["obsbox_dashboards_dir"]),
        _REPO_ROOT / "dashboards" / "build",
        Path("dashboards/build"),
        Path("../dashboards/build"),
    )
    return rules_dir, dashboards_dir


def settings_from_host_data(raw: Mapping[str, Any], host_name: str = "") -> StackSettings:
    """Check inventory data (a host's data, missing keys taking their defaults) and build settings.

    host_name is the inventory's name for the host: the default external URL when services
    listen on loopback. Besides each value, the whole is checked: alerts must reach someone
    (check_receivers), listeners off loopback need authentication (check_exposure), the
    retention covers the SLO period, and every component's config can be rendered.
    """
    _check_unknown_keys(raw)
    data = {**ALL_DEFAULTS, **{k: v for k, v in raw.items() if k in ALL_DEFAULTS}}

    bind = _str("obsbox_bind_address", data["obsbox_bind_address"])
    if not _ADDRESS.match(bind):
        raise InventoryDataError(f"obsbox_bind_address: {bind!r} is not an IP address or host name")
    arch = _str("obsbox_arch", data["obsbox_arch"])
    if arch not in ("amd64", "arm64", "armv7", "ppc64le", "s390x"):
        raise InventoryDataError(f"obsbox_arch: {arch!r} is not amd64/arm64/armv7/ppc64le/s390x")

    ports = _ports(data)
    tls = {c: t for c in ("prometheus", "alertmanager", "grafana") if (t := _tls(data, c)) is not None}
    install = {c: _install(data, c, bind, ports[c], "https" if c in tls else "http") for c in COMPONENTS}
    rules_dir, dashboards_dir = _dirs(data)
    period = slo_period(rules_dir)
    tempo = _dskit_server(
        "tempo",
        TempoSettings,
        data,
        install,
        ports,
        otlp_grpc_port=_port("tempo_otlp_grpc_port", data["tempo_otlp_grpc_port"]),
        retention=_str("tempo_retention", data["tempo_retention"]),
    )
    prometheus = _prometheus(data, period, rules_dir)
    otelcol_token = _otelcol_token(data)
    settings = StackSettings(
        bind_address=bind,
        arch=arch,
        artifact_base_url=_str("obsbox_artifact_base_url", data["obsbox_artifact_base_url"]).rstrip("/"),
        install_dir=_str("obsbox_install_dir", data["obsbox_install_dir"]).rstrip("/"),
        cache_dir=_str("obsbox_cache_dir", data["obsbox_cache_dir"]).rstrip("/"),
        bin_dir=_str("obsbox_bin_dir", data["obsbox_bin_dir"]).rstrip("/"),
        ready_timeout=_int("obsbox_ready_timeout", data["obsbox_ready_timeout"], 1, 3600),
        ip_address_allow=_list("obsbox_ip_address_allow", data["obsbox_ip_address_allow"], "CIDRs"),
        rules_dir=rules_dir,
        dashboards_dir=dashboards_dir,
        install=install,
        ports=ports,
        prometheus=prometheus,
        prometheus_auth=_basic_auth(data, "prometheus"),
        alertmanager_auth=_basic_auth(data, "alertmanager"),
        node_exporter_auth=_basic_auth(data, "node_exporter"),
        tls=tls,
        tls_ca_file=_str("obsbox_tls_ca_file", data["obsbox_tls_ca_file"]),
        external_urls={c: _external_url(data, c, install[c].url, host_name) for c in ("prometheus", "alertmanager")},
        allow_unauthenticated=_component_list("obsbox_allow_unauthenticated", data["obsbox_allow_unauthenticated"]),
        slo_period=period,
        alertmanager_retention=_duration("alertmanager_retention", data["alertmanager_retention"], "a duration like 120h"),
        alertmanager=_alertmanager_settings(data),
        loki=_dskit_server(
            "loki",
            LokiSettings,
            data,
            install,
            ports,
            retention_period=_str("loki_retention_period", data["loki_retention_period"]),
        ),
        tempo=tempo,
        otelcol=_otelcol(data, install, ports, tempo, otelcol_token),
        grafana=_grafana(data, install, ports, tls.get("grafana")),
        otelcol_bearer_token=otelcol_token,
        otelcol_distribution=_match(
            "otelcol_distribution",
            data["otelcol_distribution"],
            _DISTRIBUTION,
            "a collector distribution name like otelcol-contrib or otelcol-obsbox",
        ),
        otelcol_checksums_file=_str("otelcol_checksums_file", data["otelcol_checksums_file"]),
        grafana_archive_url=_grafana_archive_url(data, install),
        grafana_metrics_source=_grafana_metrics_source(data, install),
        alertmanager_cluster=_alertmanager_cluster(data, install["alertmanager"], ports["alertmanager"]),
        victoriametrics=_victoriametrics(data, prometheus.scrape_interval),
    )
    check_receivers(settings, _bool("alertmanager_allow_no_receivers", data["alertmanager_allow_no_receivers"]))
    check_exposure(settings)
    return settings


def grafana_pins_missing(settings: StackSettings) -> str:
    """One line naming the keys to set when Grafana's archive is not pinned, else "".

    Planning never asks grafana.com: a dry run must work without internet, and the build id in
    Grafana 12+ archive names cannot be derived offline.
    """
    install = settings.install["grafana"]
    if not install.enabled or install.method == "package":
        return ""
    if settings.grafana_archive_url and install.archive_sha256:
        return ""
    api = (
        f"https://grafana.com/api/downloads/grafana/versions/{install.version}/packages/{settings.arch}/linux"
    )
    return (
        "grafana_archive_url, grafana_archive_sha256: not set; Grafana archive names carry a build id that planning "
        f"does not look up over the network: copy url and sha256 from {api} into the inventory "
        "(or set grafana_enabled: false)"
    )
