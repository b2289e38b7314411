"""One table of default ports: distinct on one host, and what every renderer and the deploy's
inventory defaults start from."""

from __future__ import annotations

import yaml

from obsbox.deploy import settings as deploy_settings
from obsbox.render import ports
from obsbox.render.grafana import DatasourcesSettings, GrafanaSettings
from obsbox.render.listen import host_port
from obsbox.render.loki import LokiSettings
from obsbox.render.otelcol import OtelcolSettings
from obsbox.render.tempo import TempoSettings, render_tempo_config


def test_no_two_components_share_a_default_port() -> None:
    table = ports.all_ports()
    assert len(table) == 18
    assert len(set(table.values())) == len(table), table


def test_inventory_defaults_and_renderer_defaults_agree() -> None:
    merged = {
        **deploy_settings.LOKI_DEFAULTS,
        **deploy_settings.TEMPO_DEFAULTS,
        **deploy_settings.OTELCOL_DEFAULTS,
        **deploy_settings.GRAFANA_DEFAULTS,
    }
    loki, tempo, otelcol, grafana = LokiSettings(), TempoSettings(), OtelcolSettings(), GrafanaSettings()
    assert (merged["loki_port"], merged["loki_grpc_port"]) == (loki.http_port, loki.grpc_port)
    assert (merged["tempo_port"], merged["tempo_grpc_port"], merged["tempo_otlp_grpc_port"]) == (
        tempo.http_port,
        tempo.grpc_port,
        tempo.otlp_grpc_port,
    )
    assert merged["otelcol_otlp_grpc_port"] == otelcol.otlp_grpc_port and merged["grafana_port"] == grafana.http_port
    # The collector's and Grafana's defaults point at this host's Tempo and Loki.
    assert otelcol.tempo_otlp_endpoint == f"127.0.0.1:{tempo.otlp_grpc_port}"
    assert otelcol.loki_otlp_url == f"http://127.0.0.1:{loki.http_port}/otlp"
    sources = DatasourcesSettings()
    assert sources.loki_url.endswith(f":{loki.http_port}") and sources.tempo_url.endswith(f":{tempo.http_port}")


def test_an_ipv6_listen_address_is_bracketed_in_tempo_otlp_endpoint() -> None:
    config = yaml.safe_load(render_tempo_config(TempoSettings(listen_address="fd00::23")))
    endpoint = config["distributor"]["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"]
    assert endpoint == f"[fd00::23]:{ports.TEMPO_OTLP_GRPC}"
    assert host_port("10.0.0.1", 80) == "10.0.0.1:80"
