"""A local store in its own process, for measurements the bench process cannot disturb.

`python bench/storeproc.py DB --latency-ms 20 --rate-limit 100 ...` runs
`provisioner.localstore.running_server` and prints its base URL on the first line of stdout,
then serves until its stdin closes (the parent ended or closed the pipe). In its own process
the store does not compete with the client under measurement for the GIL, as it would in a
thread of the bench process.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from provisioner.localstore import StoreSettings, running_server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("db", type=Path)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--rate-limit", type=float, default=None)
    parser.add_argument("--fail-rate", type=float, default=0.0)
    parser.add_argument("--lost-write-rate", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args(argv)
    settings = StoreSettings(
        latency_ms=args.latency_ms,
        rate_limit=args.rate_limit,
        fail_rate=args.fail_rate,
        lost_write_rate=args.lost_write_rate,
        seed=args.seed,
    )
    with running_server(args.db, settings) as base_url:
        print(base_url, flush=True)
        sys.stdin.read()  # until the parent closes the pipe (or dies)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
