"""Pinned versions for every host (pyinfra group data for the group "all").

Each key has a default in obsbox.deploy.settings; they are repeated here so an upgrade is a
reviewed one-line change in the repository, not a silent change of the kit's defaults.
"""

node_exporter_version = "1.9.1"
prometheus_version = "3.5.0"
alertmanager_version = "0.28.1"
loki_version = "3.5.3"
tempo_version = "2.8.2"
otelcol_version = "0.161.0"
grafana_version = "12.1.1"
victoriametrics_version = "1.151.0"
