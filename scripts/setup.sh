#!/usr/bin/env bash
# Installs everything obsbox's verbs need on a fresh Debian/Ubuntu machine (as root) and builds
# .venv at the repository root. Safe to run again: it installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  prometheus                 # prometheus + promtool: the rule tester's engine, tier-2/3 tests
  prometheus-alertmanager    # alertmanager + amtool
  prometheus-node-exporter   # host metrics; packaged for the local mirror of tier-4 hosts
  redis-server               # the demo's job queue
  debootstrap                # throwaway systemd hosts (tier 4, make demo)
  systemd                    # systemd-analyze for unit hardening scores
  iproute2                   # veth pairs and the bridge of the throwaway hosts
  nftables                   # network partitions inside a throwaway host (HA fault tests)
  openssh-client             # pyinfra reaches the hosts over SSH
  chromium                   # the HTML report opened in a real browser
  python3-venv
  curl
  openssl                    # certificates for the TLS tests
  unzip                      # the deploy unpacks Loki's release zip; tested locally
  ca-certificates
)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "obsbox setup: missing Debian packages (${missing[*]}); run as root or install them" >&2
    exit 1
  fi
  echo "obsbox setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# The Debian packages start their services on install; obsbox's tests run their own instances
# on free loopback ports, so the system ones are not needed and would only hold ports.
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl disable --now prometheus prometheus-alertmanager prometheus-node-exporter redis-server >/dev/null 2>&1 || true
fi

PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/pip install -q --upgrade pip
.venv/bin/pip install -q -e ./instrumentation[flask,requests,redis] -e '.[dev]'

# Prometheus + promtool, Alertmanager + amtool, node_exporter, VictoriaMetrics (the HA layout's
# long-term store) and obsbox's collector distribution, built from their Go modules at the deploy's pinned versions (a cold build takes minutes; later
# runs reuse the cache in ${OBSBOX_CACHE_DIR:-~/.cache/obsbox}). The tests, the rule tester and
# the demo use these builds. The Makefile's setup runs `obsbox binaries build` every time: it is a
# no-op while the cached builds are current, and rebuilds one whose pin or sources changed.
if ! command -v go >/dev/null 2>&1; then
  echo "obsbox setup: Go (>= 1.24) is needed to build the pinned Prometheus, Alertmanager, node_exporter, VictoriaMetrics and collector" >&2
  exit 1
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "obsbox setup: Node.js and npm are needed to build Prometheus's web UI from its module, as its release does" >&2
  exit 1
fi
echo "obsbox setup: ready (.venv/bin/obsbox); the Makefile builds the pinned binaries next"
