"""Hosts: CPU, memory, disk and network of every machine, from node_exporter.

Answers "is a machine running out of something?" The disk row projects free space 24 hours
ahead with predict_linear over the last 6 hours, so a filling disk shows up before it is full.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dashboards._lib import GREEN, RATE, RED, YELLOW, dashboard, graph, label_variable, prom, thresholds

UID = Path(__file__).stem
TITLE = "Hosts"

SEL = 'instance=~"$instance"'
# Pseudo and read-only filesystems that never fill up in a way anyone can act on.
FS = f'{SEL}, fstype!~"tmpfs|ramfs|overlay|squashfs|nsfs|fuse.*"'
NIC = f'{SEL}, device!~"lo|veth.*|docker.*|br-.*"'


def build() -> dict[str, Any]:
    """The dashboard's JSON model."""
    used_steps = thresholds((None, GREEN), (0.8, YELLOW), (0.9, RED))
    cpu = [
        graph(
            "CPU busy",
            "Share of CPU time not idle, averaged over each host's cores.",
            "percentunit",
            [prom(f'1 - avg by (instance) (rate(node_cpu_seconds_total{{{SEL}, mode="idle"}}[{RATE}]))', "{{instance}}")],
            span=8,
            steps=used_steps,
        ),
        graph(
            "CPU by mode",
            "Share of CPU time per mode (user, system, iowait, steal...), averaged over the selected hosts' cores.",
            "percentunit",
            [prom(f'avg by (mode) (rate(node_cpu_seconds_total{{{SEL}, mode!="idle"}}[{RATE}]))', "{{mode}}")],
            span=8,
        ),
        graph(
            "Load per core",
            "1-minute load average divided by the number of cores; above 1 work is queueing for CPU.",
            "short",
            [
                prom(
                    f"node_load1{{{SEL}}} / on (instance) "
                    f'count by (instance) (node_cpu_seconds_total{{{SEL}, mode="idle"}})',
                    "{{instance}}",
                )
            ],
            span=8,
        ),
    ]
    memory = [
        graph(
            "Memory used",
            "Share of memory not available to new processes (MemAvailable, which counts reclaimable cache as free).",
            "percentunit",
            [
                prom(
                    f"1 - node_memory_MemAvailable_bytes{{{SEL}}} / node_memory_MemTotal_bytes{{{SEL}}}",
                    "{{instance}}",
                )
            ],
            steps=used_steps,
        ),
        graph(
            "Memory available",
            "Bytes of memory available to new processes without swapping.",
            "bytes",
            [prom(f"node_memory_MemAvailable_bytes{{{SEL}}}", "{{instance}}")],
        ),
    ]
    disk = [
        graph(
            "Disk used",
            "Share of each filesystem's space in use.",
            "percentunit",
            [
                prom(
                    f"1 - node_filesystem_avail_bytes{{{FS}}} / node_filesystem_size_bytes{{{FS}}}",
                    "{{instance}} {{mountpoint}}",
                )
            ],
            span=8,
            steps=used_steps,
        ),
        graph(
            "Free space in 24h (projected)",
            "Free bytes each filesystem will have in 24 hours if the last 6 hours' trend continues; below 0 it fills up.",
            "bytes",
            [
                prom(
                    f"predict_linear(node_filesystem_avail_bytes{{{FS}}}[6h], 24 * 3600)",
                    "{{instance}} {{mountpoint}}",
                )
            ],
            span=8,
            steps=thresholds((None, RED), (0, GREEN)),
            minimum=None,
        ),
        graph(
            "Disk busy",
            "Share of time each block device was busy with I/O; near 100% the disk is the bottleneck.",
            "percentunit",
            [prom(f"rate(node_disk_io_time_seconds_total{{{SEL}}}[{RATE}])", "{{instance}} {{device}}")],
            span=8,
        ),
    ]
    network = [
        graph(
            "Network received and sent",
            "Bytes per second received (positive) and sent (negative) per interface.",
            "Bps",
            [
                prom(f"rate(node_network_receive_bytes_total{{{NIC}}}[{RATE}])", "{{instance}} {{device}} in"),
                prom(f"-rate(node_network_transmit_bytes_total{{{NIC}}}[{RATE}])", "{{instance}} {{device}} out"),
            ],
            minimum=None,
        ),
        graph(
            "Network errors and drops",
            "Packets per second received or sent with errors, or dropped, per interface.",
            "pps",
            [
                prom(
                    f"rate(node_network_receive_errs_total{{{NIC}}}[{RATE}]) + rate(node_network_transmit_errs_total{{{NIC}}}[{RATE}])",
                    "{{instance}} {{device}} errors",
                ),
                prom(
                    f"rate(node_network_receive_drop_total{{{NIC}}}[{RATE}]) + rate(node_network_transmit_drop_total{{{NIC}}}[{RATE}])",
                    "{{instance}} {{device}} drops",
                ),
            ],
        ),
    ]
    return dashboard(
        UID,
        TITLE,
        "CPU, memory, disk (with a 24-hour free-space projection) and network of every host, from node_exporter.",
        [("CPU", cpu), ("Memory", memory), ("Disk", disk), ("Network", network)],
        variables=[label_variable("instance", "Host", "node_uname_info", "instance")],
    )
