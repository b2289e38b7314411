"""A small real deploy for the harness test: a script, a hardened systemd unit, the service started."""

from io import StringIO

from pyinfra.operations import files, systemd

UNIT = """[Unit]
Description=obsbox harness probe

[Service]
ExecStart=/usr/local/bin/obsbox-probe
DynamicUser=yes
ProtectSystem=strict
ProtectHome=yes
PrivateTmp=yes
PrivateDevices=yes
PrivateUsers=yes
PrivateNetwork=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
ProtectProc=invisible
ProcSubset=pid
RestrictAddressFamilies=AF_UNIX
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
MemoryDenyWriteExecute=yes
NoNewPrivileges=yes
CapabilityBoundingSet=
AmbientCapabilities=
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallFilter=~@privileged @resources
DevicePolicy=closed
IPAddressDeny=any
UMask=0077

[Install]
WantedBy=multi-user.target
"""

files.put(
    name="Upload /usr/local/bin/obsbox-probe",
    src=StringIO("#!/bin/sh\nexec sleep infinity\n"),
    dest="/usr/local/bin/obsbox-probe",
    mode="755",
)
unit = files.put(
    name="Upload /etc/systemd/system/obsbox-probe.service",
    src=StringIO(UNIT),
    dest="/etc/systemd/system/obsbox-probe.service",
    mode="644",
)
systemd.daemon_reload(name="Reload systemd for obsbox-probe.service", _if=unit.did_change)
systemd.service(name="Start obsbox-probe.service", service="obsbox-probe.service", running=True, enabled=True)
