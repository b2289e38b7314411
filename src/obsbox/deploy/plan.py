"""What each component gets on a host, as pure data: config files, unit, readiness URL.

The pyinfra components only apply these plans; ``obsbox render`` writes the same files to a
directory and runs the local validators on them, so what is checked here is what is deployed.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from obsbox.deploy.layout import Layout, install_root, layout_for
from obsbox.deploy.passwords import password_hash
from obsbox.deploy.settings import (
    OTELCOL_GATEWAY_TOKEN_ENV,
    OTELCOL_TOKEN_CREDENTIAL_NAME,
    BasicAuth,
    StackSettings,
    TlsFiles,
)
from obsbox.render.alertmanager import render_alertmanager_config
from obsbox.render.grafana import (
    DashboardProviderSettings,
    DatasourceAuth,
    DatasourcesSettings,
    render_grafana_dashboard_provider,
    render_grafana_datasources,
    render_grafana_ini,
)
from obsbox.render.listen import host_port
from obsbox.render.loki import render_loki_config
from obsbox.render.otelcol import OtelcolSettings, render_otelcol_config
from obsbox.render.prometheus import (
    BasicAuthClient,
    PrometheusSettings,
    RemoteWrite,
    ScrapeJob,
    WebConfigSettings,
    render_prometheus_config,
    render_web_config,
)
from obsbox.render.systemd import UnitSettings
from obsbox.render.tempo import render_tempo_config
from obsbox.rules.catalog import RULE_FILE_SUFFIXES, rule_files

# Validator kinds; the command for each is built by validator_command().
CHECK_PROMTOOL_CONFIG = "promtool check config"
CHECK_PROMTOOL_RULES = "promtool check rules"
CHECK_PROMTOOL_WEB = "promtool check web-config"
CHECK_AMTOOL = "amtool check-config"
CHECK_LOKI = "loki -verify-config"
CHECK_TEMPO = "tempo -config.verify"
CHECK_OTELCOL = "otelcol validate"

GRAFANA_ADMIN_PASSWORD_FILE = "/etc/grafana/admin_password"
GRAFANA_SECRET_KEY_FILE = "/etc/grafana/secret_key"
OTELCOL_TOKEN_FILE = "/etc/otelcol/secrets/otlp_bearer_token"
PROMETHEUS_NODE_EXPORTER_PASSWORD = "/etc/prometheus/secrets/node_exporter_password"
GRAFANA_DASHBOARDS_DIR = "/var/lib/grafana/dashboards"
GRAFANA_ENV_FILE = "/etc/grafana/secrets/datasources.env"
GRAFANA_PROMETHEUS_PASSWORD_ENV = "OBSBOX_PROMETHEUS_PASSWORD"
GRAFANA_ALERTMANAGER_PASSWORD_ENV = "OBSBOX_ALERTMANAGER_PASSWORD"
# An agent collector's token for its gateways (OTELCOL_GATEWAY_TOKEN_ENV), from a root-only EnvironmentFile.
OTELCOL_ENV_FILE = "/etc/otelcol/secrets/gateway.env"


@dataclass(frozen=True)
class ConfigFile:
    path: str
    content: str
    user: str
    group: str
    mode: str = "0640"


@dataclass(frozen=True)
class FileGroup:
    """Files swapped together after one validator run; groups apply in order."""

    files: tuple[ConfigFile, ...]
    check: str = ""
    # Directory whose files not in this group are removed (rules and dashboards).
    prune_dir: str = ""
    prune_suffixes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ComponentPlan:
    component: str
    layout: Layout
    groups: tuple[FileGroup, ...]
    unit: UnitSettings
    ready_url: str
    extra_dirs: tuple[str, ...] = ()
    auth_user: str = ""
    auth_password_file: str = ""
    # Secrets generated on the host once, never rendered here (the Grafana admin password).
    generated_secrets: tuple[str, ...] = field(default=())


def validator_command(check: str, layout: Layout, staged: Mapping[str, str], tools: Mapping[str, str]) -> str:
    """The shell command that runs check on the staged copies (tools: binary name -> path)."""
    paths = " ".join(shlex.quote(p) for p in staged.values())
    if check == CHECK_PROMTOOL_CONFIG:
        return f"{shlex.quote(tools['promtool'])} check config {paths}"
    if check == CHECK_PROMTOOL_RULES:
        return f"{shlex.quote(tools['promtool'])} check rules {paths}"
    if check == CHECK_PROMTOOL_WEB:
        return f"{shlex.quote(tools['promtool'])} check web-config {paths}"
    if check == CHECK_AMTOOL:
        return f"{shlex.quote(tools['amtool'])} check-config {paths}"
    if check == CHECK_LOKI:
        return " && ".join(f"{shlex.quote(tools['loki'])} -verify-config -config.file={shlex.quote(p)}" for p in staged.values())
    if check == CHECK_TEMPO:
        return " && ".join(f"{shlex.quote(tools['tempo'])} -config.verify -config.file={shlex.quote(p)}" for p in staged.values())
    if check == CHECK_OTELCOL:
        return " && ".join(f"{shlex.quote(tools['otelcol'])} validate --config={shlex.quote(p)}" for p in staged.values())
    raise ValueError(f"unknown check {check!r}")


def _netloc(url: str) -> str:
    return urlsplit(url).netloc


def _listen(settings: StackSettings, component: str) -> str:
    address = settings.install[component].listen_address
    return f"[{address}]" if ":" in address else address


def _targets(settings: StackSettings, component: str) -> tuple[str, ...]:
    configured = settings.prometheus.targets.get(component, ())
    if configured:
        return tuple(configured)
    if not settings.enabled(component):
        # Runs on another host: scrape it where the inventory says it is (<component>_url).
        if settings.install[component].url_configured and component != "otelcol":
            return (_netloc(settings.url(component)),)
        return ()
    if component == "otelcol":
        return (f"{_listen(settings, 'otelcol')}:{settings.otelcol.telemetry_port}",)
    return (_netloc(settings.url(component)),)


def _unit(settings: StackSettings, layout: Layout, exec_start: tuple[str, ...], **kwargs: object) -> UnitSettings:
    return UnitSettings(
        name=layout.service,
        description=f"{layout.human_name} (obsbox)",
        user=layout.user,
        exec_start=exec_start,
        ip_address_allow=settings.ip_address_allow,
        **kwargs,  # type: ignore[arg-type]
    )


def _secret(path: str, content: str, user: str) -> ConfigFile:
    return ConfigFile(path=path, content=content, user=user, group=user, mode="0640")


def _env_line(name: str, value: str) -> str:
    # Single quotes make systemd take the value literally; settings refuse passwords containing one.
    return f"{name}='{value}'\n"


def _web_config(path: str, auth: BasicAuth | None, hashed: str, user: str, tls: TlsFiles | None = None) -> ConfigFile:
    users = ((auth.username, hashed),) if auth is not None else ()
    web = WebConfigSettings(users=users, tls=tls)
    return _secret(path, render_web_config(web), user)


@dataclass(frozen=True)
class _WebListener:
    """A Prometheus-style web listener (--web.config.file): its basic auth and TLS, and how the
    readiness probe authenticates."""

    web: ConfigFile
    # The basic auth password, root-readable for the probe and the stack's own clients; None without auth.
    secret: ConfigFile | None
    auth_user: str
    auth_password_file: str

    def file_groups(self, web_check: str) -> list[FileGroup]:
        """The password, then the web config checked by ``web_check``."""
        secret = [FileGroup((self.secret,))] if self.secret else []
        return [*secret, FileGroup((self.web,), web_check)]


def _web_listener(settings: StackSettings, layout: Layout, auth: BasicAuth | None, current_hash: str) -> _WebListener:
    password_file = f"{layout.secrets_dir}/basic_auth_password"
    web = _web_config(
        f"{layout.config_dir}/web-config.yml",
        auth,
        password_hash(auth, current_hash) if auth else "",
        layout.user,
        settings.tls.get(layout.component),
    )
    if auth is None:
        return _WebListener(web, None, "", "")
    return _WebListener(web, _secret(password_file, auth.password, layout.user), auth.username, password_file)


def _listener_plan(
    settings: StackSettings, layout: Layout, groups: list[FileGroup], unit: UnitSettings, listener: _WebListener, **kwargs: Any
) -> ComponentPlan:
    """The plan of a component behind a web listener: ready at its URL, probed with its basic auth."""
    return ComponentPlan(
        layout.component,
        layout,
        tuple(groups),
        unit,
        f"{settings.url(layout.component)}{layout.ready_path}",
        auth_user=listener.auth_user,
        auth_password_file=listener.auth_password_file,
        **kwargs,
    )


def _server_flags(settings: StackSettings, layout: Layout, config: ConfigFile, web: ConfigFile) -> tuple[str, ...]:
    """Prometheus's and Alertmanager's flags for their config, web config, listener and external URL."""
    component = layout.component
    return (
        layout.binary,
        f"--config.file={config.path}",
        f"--web.config.file={web.path}",
        f"--web.listen-address={_listen(settings, component)}:{settings.ports[component]}",
        f"--web.external-url={settings.external_urls[component]}/",
    )


def _scheme(settings: StackSettings, component: str) -> str:
    return urlsplit(settings.url(component)).scheme or "http"


def node_exporter_plan(settings: StackSettings, current_hash: str = "") -> ComponentPlan:
    layout = layout_for(settings, "node_exporter")
    listener = _web_listener(settings, layout, settings.node_exporter_auth, current_hash)
    web = listener.web
    groups = listener.file_groups(CHECK_PROMTOOL_WEB if settings.enabled("prometheus") else "")
    exec_start = (
        layout.binary,
        f"--web.listen-address={_listen(settings, 'node_exporter')}:{settings.ports['node_exporter']}",
        f"--web.config.file={web.path}",
        # Mounts of other services' private namespaces are noise, not host filesystems.
        "--collector.filesystem.mount-points-exclude=^/(dev|proc|run|sys|var/lib/docker/.+)($|/)",
    )
    unit = _unit(settings, layout, exec_start, full_proc=True, protect_home="read-only")
    return _listener_plan(settings, layout, groups, unit, listener)


def rule_file_globs(rules_dir: str) -> tuple[str, ...]:
    """What prometheus.yml loads from rules_dir: every suffix a shipped rule file may have."""
    return tuple(f"{rules_dir}/*{suffix}" for suffix in RULE_FILE_SUFFIXES)


def prometheus_settings(settings: StackSettings, rule_globs: tuple[str, ...]) -> PrometheusSettings:
    """The Prometheus renderer's settings: scrape jobs for the stack and the inventory's services."""
    p = settings.prometheus
    auth = settings.prometheus_auth
    self_auth = BasicAuthClient(auth.username, "/etc/prometheus/secrets/basic_auth_password") if auth else None
    am_auth = settings.alertmanager_auth
    am_client = (
        BasicAuthClient(am_auth.username, "/etc/prometheus/secrets/alertmanager_password") if am_auth else None
    )
    ne_auth = settings.node_exporter_auth
    clients = {
        "alertmanager": am_client,
        "node_exporter": BasicAuthClient(ne_auth.username, PROMETHEUS_NODE_EXPORTER_PASSWORD) if ne_auth else None,
    }
    ca = settings.tls_ca_file
    jobs = [
        ScrapeJob(
            "prometheus",
            p.targets["prometheus"] or (_netloc(settings.url("prometheus")),),
            basic_auth=self_auth,
            scheme=_scheme(settings, "prometheus"),
            ca_file=ca,
        )
    ]
    for job, component in (
        ("alertmanager", "alertmanager"),
        ("victoriametrics", "victoriametrics"),
        ("node", "node_exporter"),
        ("loki", "loki"),
        ("tempo", "tempo"),
        ("grafana", "grafana"),
        ("otelcol", "otelcol"),
    ):
        targets = _targets(settings, component)
        if targets:
            scheme = "http" if component == "otelcol" else _scheme(settings, component)
            jobs.append(
                ScrapeJob(job, targets, basic_auth=clients.get(component), scheme=scheme, ca_file=ca)
            )
    exporters = _otelcol_exporter_targets(settings)
    if exporters:
        # Services' OTLP metrics; honor_labels keeps job=service.name, instance=service.instance.id.
        jobs.append(
            ScrapeJob(
                "otelcol-otlp-metrics",
                exporters,
                honor_labels=True,
                # One path per service: a service scraped directly below is not counted again
                # from what it pushes over OTLP.
                drop_jobs=tuple(sorted(settings.prometheus.service_targets)),
            )
        )
    for name, targets in sorted(settings.prometheus.service_targets.items()):
        jobs.append(ScrapeJob(name, targets))
    return PrometheusSettings(
        scrape_jobs=tuple(jobs),
        rule_files=rule_globs,
        alertmanager_targets=_targets(settings, "alertmanager"),
        alertmanager_basic_auth=am_client,
        alertmanager_scheme=_scheme(settings, "alertmanager"),
        alertmanager_ca_file=ca,
        scrape_interval=p.scrape_interval,
        evaluation_interval=p.evaluation_interval,
        external_labels=p.external_labels,
        max_exemplars=p.max_exemplars,
        remote_write=tuple(RemoteWrite(url) for url in p.remote_write_urls),
        replica_label=p.replica_label,
    )


def _otelcol_exporter_targets(settings: StackSettings) -> tuple[str, ...]:
    """Where the collectors' prometheus exporters are scraped: configured, or beside the first telemetry target."""
    if settings.prometheus.otelcol_metrics_targets:
        return settings.prometheus.otelcol_metrics_targets
    if not (settings.enabled("otelcol") or settings.prometheus.targets.get("otelcol")):
        return ()
    if settings.enabled("otelcol") and settings.otelcol.role == "agent":
        # An agent has no prometheus exporter: its gateways do (prometheus_otelcol_metrics_targets).
        return ()
    exporter_host = urlsplit(f"//{_targets(settings, 'otelcol')[0]}").hostname or "127.0.0.1"
    return (host_port(exporter_host, settings.otelcol.prometheus_exporter_port),)


def prometheus_plan(settings: StackSettings, current_hash: str = "") -> ComponentPlan:
    layout = layout_for(settings, "prometheus")
    rules_dir = f"{layout.config_dir}/rules"
    listener = _web_listener(settings, layout, settings.prometheus_auth, current_hash)
    web = listener.web
    am_auth = settings.alertmanager_auth
    secrets = [listener.secret] if listener.secret else []
    if am_auth is not None:
        secrets.append(_secret(f"{layout.secrets_dir}/alertmanager_password", am_auth.password, layout.user))
    if settings.node_exporter_auth is not None:
        secrets.append(_secret(PROMETHEUS_NODE_EXPORTER_PASSWORD, settings.node_exporter_auth.password, layout.user))
    rules = tuple(
        ConfigFile(f"{rules_dir}/{path.name}", path.read_text(), "root", layout.user)
        for path in rule_files(settings.rules_dir)
    )
    config = ConfigFile(
        f"{layout.config_dir}/prometheus.yml",
        render_prometheus_config(prometheus_settings(settings, rule_file_globs(rules_dir))),
        "root",
        layout.user,
    )
    groups = [FileGroup(tuple(secrets))] if secrets else []
    groups += [
        FileGroup((web,), CHECK_PROMTOOL_WEB),
        FileGroup(rules, CHECK_PROMTOOL_RULES if rules else "", prune_dir=rules_dir, prune_suffixes=RULE_FILE_SUFFIXES),
        FileGroup((config,), CHECK_PROMTOOL_CONFIG),
    ]
    p = settings.prometheus
    exec_start = (
        *_server_flags(settings, layout, config, web),
        f"--storage.tsdb.path={layout.data_dir}/data",
        f"--storage.tsdb.retention.time={p.retention_time}",
        f"--storage.tsdb.retention.size={p.retention_size}",
        "--enable-feature=exemplar-storage",
    )
    unit = _unit(settings, layout, exec_start, read_write_paths=(layout.data_dir,), reload_signal="HUP")
    return _listener_plan(settings, layout, groups, unit, listener, extra_dirs=(f"{layout.data_dir}/data",))


def alertmanager_plan(settings: StackSettings, current_hash: str = "") -> ComponentPlan:
    layout = layout_for(settings, "alertmanager")
    listener = _web_listener(settings, layout, settings.alertmanager_auth, current_hash)
    web = listener.web
    # promtool checks the web config only where Prometheus is installed too.
    groups = listener.file_groups(CHECK_PROMTOOL_WEB if settings.enabled("prometheus") else "")
    config = ConfigFile(
        f"{layout.config_dir}/alertmanager.yml",
        render_alertmanager_config(settings.alertmanager),
        "root",
        layout.user,
    )
    groups.append(FileGroup((config,), CHECK_AMTOOL))
    exec_start = (
        *_server_flags(settings, layout, config, web),
        f"--storage.path={layout.data_dir}",
        f"--data.retention={settings.alertmanager_retention}",
        *alertmanager_cluster_flags(settings),
    )
    unit = _unit(settings, layout, exec_start, read_write_paths=(layout.data_dir,), reload_signal="HUP")
    return _listener_plan(settings, layout, groups, unit, listener)


def alertmanager_cluster_flags(settings: StackSettings) -> tuple[str, ...]:
    """Gossip on the peer's own address only (never every interface), one --cluster.peer per other peer."""
    cluster = settings.alertmanager_cluster
    if not cluster.enabled:
        # A single instance: no gossip port listening on every interface.
        return ("--cluster.listen-address=",)
    gossip = f"{_listen(settings, 'alertmanager')}:{cluster.port}"
    return (
        f"--cluster.listen-address={gossip}",
        f"--cluster.advertise-address={gossip}",
        *(f"--cluster.peer={peer}" for peer in cluster.peers),
    )


def victoriametrics_plan(settings: StackSettings) -> ComponentPlan:
    """VictoriaMetrics single-node: the long-term store both Prometheus replicas remote-write to.

    No config file: its flags are the whole configuration. -dedup.minScrapeInterval keeps one
    sample per series and interval, so the two replicas' identical series (replica label dropped
    at remote write) are stored once.
    """
    layout = layout_for(settings, "victoriametrics")
    vm = settings.victoriametrics
    exec_start = (
        layout.binary,
        f"-httpListenAddr={_listen(settings, 'victoriametrics')}:{settings.ports['victoriametrics']}",
        f"-storageDataPath={layout.data_dir}",
        f"-retentionPeriod={vm.retention_period}",
        f"-dedup.minScrapeInterval={vm.dedup_min_scrape_interval}",
    )
    # mincore: VictoriaMetrics checks whether a part's pages are resident before reading it and
    # panics on EPERM; systemd 252's @system-service does not list it.
    unit = _unit(settings, layout, exec_start, read_write_paths=(layout.data_dir,), extra_system_calls=("mincore",))
    return ComponentPlan(
        "victoriametrics", layout, (), unit, f"{settings.url('victoriametrics')}{layout.ready_path}"
    )


def _grafana_binary_plan(settings: StackSettings, component: str, config_text: str, check: str) -> ComponentPlan:
    """Loki and Tempo alike: one config.yaml (``-config.file``), a data directory, a ready endpoint."""
    layout = layout_for(settings, component)
    config = ConfigFile(f"{layout.config_dir}/config.yaml", config_text, "root", layout.user)
    exec_start = (layout.binary, f"-config.file={config.path}")
    unit = _unit(settings, layout, exec_start, read_write_paths=(layout.data_dir,))
    return ComponentPlan(
        component, layout, (FileGroup((config,), check),), unit, f"{settings.url(component)}{layout.ready_path}"
    )


def loki_plan(settings: StackSettings) -> ComponentPlan:
    return _grafana_binary_plan(settings, "loki", render_loki_config(settings.loki), CHECK_LOKI)


def tempo_plan(settings: StackSettings) -> ComponentPlan:
    return _grafana_binary_plan(settings, "tempo", render_tempo_config(settings.tempo), CHECK_TEMPO)


def otelcol_plan(settings: StackSettings) -> ComponentPlan:
    layout = layout_for(settings, "otelcol")
    otelcol = settings.otelcol
    config = ConfigFile(f"{layout.config_dir}/config.yaml", render_otelcol_config(otelcol), "root", layout.user)
    groups = []
    credentials: tuple[tuple[str, str], ...] = ()
    environment_files: tuple[str, ...] = ()
    if settings.otelcol_bearer_token:
        # Read by systemd as root and handed to the collector as a credential: root-only on disk.
        token = ConfigFile(OTELCOL_TOKEN_FILE, settings.otelcol_bearer_token + "\n", "root", "root", "0600")
        secrets = [token]
        if otelcol.gateway_token_env:
            # An agent sends the same token to its gateways as a plain header (see the renderer).
            env = _env_line(OTELCOL_GATEWAY_TOKEN_ENV, settings.otelcol_bearer_token)
            secrets.append(ConfigFile(OTELCOL_ENV_FILE, env, "root", "root", "0600"))
            environment_files = (OTELCOL_ENV_FILE,)
        groups.append(FileGroup(tuple(secrets)))
        credentials = ((OTELCOL_TOKEN_CREDENTIAL_NAME, OTELCOL_TOKEN_FILE),)
    groups.append(FileGroup((config,), CHECK_OTELCOL))
    exec_start = (layout.binary, f"--config={config.path}")
    # memory_limiter may read the machine's memory from /proc/meminfo: under ProcSubset=pid the
    # collector panicked at start.
    unit = _unit(
        settings,
        layout,
        exec_start,
        read_write_paths=(layout.data_dir,),
        reload_signal="HUP",
        credentials=credentials,
        environment_files=environment_files,
        memory_max_mib=otelcol.memory_max_mib,
        system_proc=True,
    )
    ready = f"http://{_listen(settings, 'otelcol')}:{otelcol.health_port}/"
    return ComponentPlan("otelcol", layout, tuple(groups), unit, ready, extra_dirs=(otelcol.queue_dir,))


def dashboard_files(dashboards_dir: Path) -> list[Path]:
    """The built dashboards (*.json) to provision, sorted; empty when none were built."""
    if not dashboards_dir.is_dir():
        return []
    return sorted(p for p in dashboards_dir.glob("*.json") if p.is_file())


def grafana_plan(settings: StackSettings) -> ComponentPlan:
    layout = layout_for(settings, "grafana")
    provisioning = f"{layout.config_dir}/provisioning"
    pa, aa = settings.prometheus_auth, settings.alertmanager_auth
    from_store = settings.grafana_metrics_source == "victoriametrics"
    if from_store:
        # VictoriaMetrics has no login of its own (obsbox_allow_unauthenticated, IP filter).
        pa = None
    env_lines = []
    if pa is not None:
        env_lines.append(_env_line(GRAFANA_PROMETHEUS_PASSWORD_ENV, pa.password))
    if aa is not None:
        env_lines.append(_env_line(GRAFANA_ALERTMANAGER_PASSWORD_ENV, aa.password))
    # Read by systemd as root before it starts Grafana: root-only, never readable by grafana.
    secrets = (
        [ConfigFile(GRAFANA_ENV_FILE, "".join(env_lines), "root", "root", "0600")] if env_lines else []
    )
    datasources = DatasourcesSettings(
        # The long-term store, when it is the source: both replicas' series, deduplicated.
        prometheus_url=settings.url("victoriametrics" if from_store else "prometheus"),
        loki_url=settings.url("loki"),
        tempo_url=settings.url("tempo"),
        alertmanager_url=settings.url("alertmanager"),
        prometheus_auth=DatasourceAuth(pa.username, GRAFANA_PROMETHEUS_PASSWORD_ENV) if pa else None,
        alertmanager_auth=DatasourceAuth(aa.username, GRAFANA_ALERTMANAGER_PASSWORD_ENV) if aa else None,
        tls_ca_file=settings.tls_ca_file,
    )
    configs = (
        ConfigFile(f"{layout.config_dir}/grafana.ini", render_grafana_ini(settings.grafana), "root", layout.user),
        ConfigFile(
            f"{provisioning}/datasources/obsbox.yaml", render_grafana_datasources(datasources), "root", layout.user
        ),
        ConfigFile(
            f"{provisioning}/dashboards/obsbox.yaml",
            render_grafana_dashboard_provider(DashboardProviderSettings(dashboards_dir=GRAFANA_DASHBOARDS_DIR)),
            "root",
            layout.user,
        ),
    )
    dashboards = tuple(
        ConfigFile(f"{GRAFANA_DASHBOARDS_DIR}/{path.name}", path.read_text(), "root", layout.user)
        for path in dashboard_files(settings.dashboards_dir)
    )
    groups = [FileGroup(tuple(secrets))] if secrets else []
    # Grafana has no offline validator: provisioning is checked when it starts (readiness below).
    groups += [FileGroup(configs), FileGroup(dashboards, prune_dir=GRAFANA_DASHBOARDS_DIR, prune_suffixes=(".json",))]
    root = install_root(settings, "grafana")
    exec_start = (layout.binary, "server", f"--homepath={root}", f"--config={layout.config_dir}/grafana.ini")
    unit = _unit(
        settings,
        layout,
        exec_start,
        read_write_paths=(layout.data_dir,),
        working_directory=root,
        credentials=(("admin_password", GRAFANA_ADMIN_PASSWORD_FILE), ("secret_key", GRAFANA_SECRET_KEY_FILE)),
        environment_files=(GRAFANA_ENV_FILE,) if env_lines else (),
    )
    return ComponentPlan(
        "grafana",
        layout,
        tuple(groups),
        unit,
        f"{settings.url('grafana')}{layout.ready_path}",
        extra_dirs=(
            f"{layout.data_dir}/log",
            f"{layout.data_dir}/plugins",
        ),
        generated_secrets=(GRAFANA_ADMIN_PASSWORD_FILE, GRAFANA_SECRET_KEY_FILE),
    )


def otelcol_settings(settings: StackSettings) -> OtelcolSettings:
    """The collector's renderer settings (built and checked with the rest of the settings)."""
    return settings.otelcol


def plan_for(settings: StackSettings, component: str, current_hash: str = "") -> ComponentPlan:
    if component == "prometheus":
        return prometheus_plan(settings, current_hash)
    if component == "alertmanager":
        return alertmanager_plan(settings, current_hash)
    if component == "node_exporter":
        return node_exporter_plan(settings, current_hash)
    return {
        "victoriametrics": victoriametrics_plan,
        "loki": loki_plan,
        "tempo": tempo_plan,
        "otelcol": otelcol_plan,
        "grafana": grafana_plan,
    }[component](settings)
