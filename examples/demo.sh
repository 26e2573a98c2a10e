#!/usr/bin/env bash
# `make demo`: the main job end to end on the embedded local store.
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== provisioner validate examples/ (offline)"
provisioner validate examples/
