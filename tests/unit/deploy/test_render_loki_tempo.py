"""Loki and Tempo config rendering, parsed back (pure)."""

from __future__ import annotations

import pytest
import yaml

from obsbox.render.loki import LokiSettings, render_loki_config
from obsbox.render.tempo import TempoSettings, render_tempo_config


def test_render_loki_keeps_tenant_id_as_structured_metadata() -> None:
    """tenant.id is structured metadata from log and resource attributes, never an index label."""
    otlp = yaml.safe_load(render_loki_config(LokiSettings()))["limits_config"]["otlp_config"]
    rules = otlp["log_attributes"] + otlp["resource_attributes"]["attributes_config"]
    tenant_actions = {rule["action"] for rule in rules if "tenant.id" in rule["attributes"]}
    assert tenant_actions == {"structured_metadata"}


def test_render_loki_single_binary_on_filesystem_with_retention() -> None:
    """Filesystem storage under the data dir, tsdb v13 schema, compactor retention on."""
    config = yaml.safe_load(render_loki_config(LokiSettings(data_dir="/srv/loki", retention_period="168h")))
    assert config["common"]["storage"]["filesystem"]["chunks_directory"] == "/srv/loki/chunks"
    assert config["schema_config"]["configs"][0]["schema"] == "v13"
    assert config["limits_config"]["retention_period"] == "168h"
    assert config["compactor"]["retention_enabled"] is True
    assert config["common"]["ring"]["kvstore"]["store"] == "inmemory"


def test_render_loki_listens_on_given_address() -> None:
    """HTTP and gRPC bind the configured address."""
    server = yaml.safe_load(render_loki_config(LokiSettings(listen_address="10.0.0.12")))["server"]
    assert (server["http_listen_address"], server["grpc_listen_address"]) == ("10.0.0.12", "10.0.0.12")


def test_render_loki_refuses_bad_retention() -> None:
    """A retention that is not a duration is refused."""
    with pytest.raises(ValueError, match="retention_period"):
        LokiSettings(retention_period="31 days")


def test_render_tempo_monolithic_local_storage_and_retention() -> None:
    """Local trace storage, block retention and an OTLP gRPC receiver on its own port."""
    config = yaml.safe_load(render_tempo_config(TempoSettings(retention="72h", otlp_grpc_port=4417)))
    assert config["storage"]["trace"]["backend"] == "local"
    assert config["compactor"]["compaction"]["block_retention"] == "72h"
    assert config["distributor"]["receivers"]["otlp"]["protocols"]["grpc"]["endpoint"] == "127.0.0.1:4417"


def test_render_tempo_keeps_memberlist_on_listen_address() -> None:
    """memberlist binds the listen address instead of every interface."""
    config = yaml.safe_load(render_tempo_config(TempoSettings(listen_address="10.0.0.12")))
    assert config["memberlist"]["bind_addr"] == ["10.0.0.12"]


def test_render_tempo_refuses_colliding_ports() -> None:
    """Tempo's HTTP, gRPC and OTLP ports must differ."""
    with pytest.raises(ValueError, match="ports collide"):
        TempoSettings(grpc_port=3200)
