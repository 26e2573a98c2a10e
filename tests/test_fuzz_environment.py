"""The environment bad-input cases of `bench/badinput.py` (issue 10 item 5), in the unit suite.

Every fixed case (bad URLs and ports, embedded database paths, output paths, variables) and a
few generated ports and rate limits run the CLI in-process against a local store over real
HTTP: one `Error:` line naming the value, exit 1, no traceback, no write, nothing created.
`bench/run.py --suite fuzz` runs the same cases with hundreds of generated values.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.badinput import (
    EnvCase,
    FuzzStats,
    bad_ports,
    bad_rates,
    check_environment_case,
    environment_cases,
    generated_case,
)

pytestmark = pytest.mark.slow  # see the `slow` marker in pyproject.toml

if TYPE_CHECKING:
    from support.store import LocalStore

# The TLS case garbles a TLS hello into this process's own local store, whose server thread
# then logs a warning into the captured output; the bench runs it against a store process.
CASES = [
    case
    for case in environment_cases()
    if not case.env.get("EPCC_API_BASE_URL", "").startswith("https://")
]
CASES = [case for case in CASES if "https://{store_host}" not in case.argv]


PICKS = st.one_of(bad_ports.map(lambda v: ("port", v)), bad_rates.map(lambda v: ("rate", v)))


def _id(case: EnvCase) -> str:
    return (
        f"{case.family}:{' '.join(case.argv)}:{','.join(f'{k}={v}' for k, v in case.env.items())}"
    )


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_environment_case(case: EnvCase, local_store: LocalStore, tmp_path: Path) -> None:
    problems = check_environment_case(case, tmp_path, local_store.env(), local_store.write_count)
    assert problems == []


def test_the_cases_cover_every_family() -> None:
    families = {case.family for case in environment_cases()}
    assert families == {"store URLs", "ports", "database paths", "output paths", "variables"}


def test_generated_ports_and_rate_limits(local_store: LocalStore, tmp_path: Path) -> None:
    stats = FuzzStats()
    counter = iter(range(10**6))

    @settings(
        max_examples=25,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(
        pick=st.one_of(bad_ports.map(lambda v: ("port", v)), bad_rates.map(lambda v: ("rate", v)))
    )
    def check(pick: tuple[str, str]) -> None:
        where = tmp_path / str(next(counter))
        case = generated_case(*pick)
        assert (
            check_environment_case(case, where, local_store.env(), local_store.write_count, stats)
            == []
        )

    check()
    assert stats.cli_runs == stats.inputs > 0
