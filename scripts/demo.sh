#!/usr/bin/env bash
# `make demo` (up) and `make demo-down` (down): see src/obsbox/demo.py (`obsbox demo up/down`). Needs root.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "$(id -u)" -ne 0 ]; then
  echo "obsbox demo: needs root (network namespaces, veth pairs, debootstrap)" >&2
  exit 1
fi
exec .venv/bin/obsbox demo "${1:-up}"
