#!/usr/bin/env bash
# `make demo-environments`: one schema rolled out through three stores, in order.
#
#   validate --all -> apply dev -> plan --all (staging and production pending) -> apply
#   production refused (staging is behind) -> apply staging -> apply production -> plan --all
#   (everything in sync) -> a change made by hand in production -> plan --all reports drift.
#
# The project is examples/environments/ (provisioner.toml, shared flows/, a dev overlay), copied
# into a temporary directory; its three environments are embedded local stores there. Needs
# `provisioner` and its `python` on PATH (make puts .venv/bin first); DEMO_DIR keeps the files.
set -euo pipefail
cd "$(dirname "$0")/.."
source_dir="$PWD/examples/environments"

if [[ -n "${DEMO_DIR:-}" ]]; then
    mkdir -p "$DEMO_DIR"
    workdir="$DEMO_DIR"
else
    workdir="$(mktemp -d)"
    trap 'rm -rf "$workdir"' EXIT
fi
rm -rf "$workdir/project"
cp -R "$source_dir" "$workdir/project"
cd "$workdir/project"
# The demo's environments are embedded stores on purpose: with CI set, --all would skip them.
unset CI EPCC_API_BASE_URL EPCC_CLIENT_ID EPCC_CLIENT_SECRET EPCC_RATE_LIMIT

step() { printf '\n== %s\n' "$*"; }
expect() {  # expect CODE command...: run it, fail the demo unless it exits with CODE
    local want=$1 code
    shift
    set +e
    "$@"
    code=$?
    set -e
    if [[ $code -ne $want ]]; then
        echo "demo failed: \`$*\` exited $code, expected $want" >&2
        exit 1
    fi
}

step "provisioner validate --all   (offline: every environment's merged files)"
provisioner validate --all

step "provisioner apply --env dev --auto-approve   (the shared files + dev's overlay)"
provisioner apply --env dev --auto-approve

step "provisioner plan --all --detailed-exitcode   (staging and production pending: exit 2)"
expect 2 provisioner plan --all --detailed-exitcode

step "provisioner apply --env production --auto-approve   (refused: staging is behind, exit 3)"
expect 3 provisioner apply --env production --auto-approve

step "provisioner apply --env staging --auto-approve"
provisioner apply --env staging --auto-approve

step "provisioner apply --env production --auto-approve   (staging matches now)"
provisioner apply --env production --auto-approve

step "provisioner plan --all --detailed-exitcode   (everything in sync: exit 0)"
expect 0 provisioner plan --all --detailed-exitcode

step "a change made by hand in production (the Loyalty tier field renamed through the API)"
python - .provisioner/production.sqlite <<'PY'
import asyncio
import sys
from pathlib import Path

from provisioner.commands._target import Target, open_client


async def main(db: Path) -> None:
    async with open_client(Target(local=True, db=db), announce=False) as client:
        for field in await client.list_fields():
            if field["slug"] == "loyalty_tier":
                await client.update_field(field["id"], {"name": "Tier (edited by hand)"})
                print(f"PUT /v2/fields/{field['id']} name: 'Tier (edited by hand)'")


asyncio.run(main(Path(sys.argv[1])))
PY

step "provisioner plan --all --detailed-exitcode   (production drifted: exit 2)"
expect 2 provisioner plan --all --detailed-exitcode
