"""Bad input never breaks the CLI: hypothesis over YAML documents and raw bytes (issue 7).

For every generated file, `validate`, `plan` and `apply --auto-approve` (run through
`provisioner.cli.main` in-process, against a local store over a real socket) must exit 1 with
a message located at `file:line:col`, show no traceback, and send the store no request at all
(so certainly no write: the files are checked before a client is opened). Valid files, which
the generators produce now and then, must pass `validate`. The strategies and the oracle live
in `bench/badinput.py`; `bench/run.py --suite fuzz` runs them with thousands of examples.
Bounded here (100 examples each, a fixed database of examples off) to keep the suite fast.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, given, settings

from bench.badinput import FuzzStats, check_input, raw_bytes, yaml_documents
from provisioner.localstore import STATS_ROUTE

pytestmark = pytest.mark.slow  # see the `slow` marker in pyproject.toml

if TYPE_CHECKING:
    from support.store import LocalStore

FUZZ_SETTINGS = settings(
    max_examples=100,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


def served(store: LocalStore) -> int:
    """Requests the store answered, its stats route aside."""
    return sum(item["count"] for item in store.stats()["requests"] if item["route"] != STATS_ROUTE)


def run(raw: bytes, store: LocalStore, stats: FuzzStats) -> None:
    with tempfile.TemporaryDirectory() as directory:
        problems = check_input(raw, Path(directory), store.env(), lambda: served(store), stats)
    assert problems == [], raw


def test_yaml_documents_never_break_the_cli(local_store: LocalStore) -> None:
    stats = FuzzStats()

    @FUZZ_SETTINGS
    @given(raw=yaml_documents())
    def check(raw: bytes) -> None:
        run(raw, local_store, stats)

    check()
    assert stats.invalid > stats.inputs // 2  # the generator mostly makes bad files
    assert local_store.write_count() == 0


def test_raw_bytes_never_break_the_cli(local_store: LocalStore) -> None:
    stats = FuzzStats()

    @FUZZ_SETTINGS
    @given(raw=raw_bytes)
    def check(raw: bytes) -> None:
        run(raw, local_store, stats)

    check()
    assert stats.invalid > stats.inputs // 2
    assert local_store.write_count() == 0
