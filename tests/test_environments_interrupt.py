"""Ctrl-C during `apply --all` (issue 13, as a single apply does, issue 10.3): exit 130, the
truth per environment and in all, nothing new started, and the next `apply --all` finishes.

A real `provisioner apply --all` process against two local stores over HTTP (staging slowed
by the latency knob, production after staging) gets SIGINT while staging is being applied.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from support import STORE_VARIABLES, Cli, interrupt_after_done
from support.seed import staging_production_project, write

FIELDS = 5
TOTAL = FIELDS + 1  # the flow, then its fields, in each environment
INTERRUPTED = re.compile(
    r"Apply interrupted: (\d+) of (\d+) operations applied; run apply again to finish"
)


def _project(root: Path, staging: Any, production: Any) -> dict[str, str]:
    fields = "".join(f"      f{i}: {{name: F{i}, field_type: string}}\n" for i in range(FIELDS))
    write(root / "flows" / "slow.yaml", f"flows:\n  slow:\n    name: Slow\n    fields:\n{fields}")
    return staging_production_project(root, staging, production)


def test_sigint_during_apply_all_reports_each_environment_and_exits_130(
    cli: Cli,
    local_store_factory: Callable[..., Any],
    tmp_path: Path,
    monkeypatch: Any,
) -> None:
    staging = local_store_factory(latency_ms=100)
    production = local_store_factory()
    root = tmp_path / "repo"
    variables = _project(root, staging, production)
    env = {
        **{k: v for k, v in os.environ.items() if k not in STORE_VARIABLES and k != "CI"},
        **variables,
        "PYTHONUNBUFFERED": "1",
        "NO_COLOR": "1",
    }
    code, output, err = interrupt_after_done(
        ["apply", "--all", "--auto-approve", "--parallelism", "1"], root, env, done=2
    )
    assert code == 130, output
    assert "Traceback" not in output
    assert "Aborted" not in output
    found = INTERRUPTED.search(err)
    assert found is not None, output
    applied, total = int(found.group(1)), int(found.group(2))
    assert total == 2 * TOTAL  # both environments' operations were pending
    assert 2 <= applied < TOTAL  # only staging's, and not all of them
    assert f"staging: interrupted: {applied} of {TOTAL} operations applied" in err
    assert "production: interrupted before it started: nothing applied" in err
    # The operations in flight finished within the grace: staging holds exactly what was
    # reported applied, production nothing.
    assert output.count("[staging]") == output.count("... done") == applied
    assert staging.write_count() == applied
    assert production.write_count() == 0

    monkeypatch.chdir(root)
    again = cli("apply", "--all", "--auto-approve", env=variables)
    assert again.code == 0, again.out + again.err
    assert f"staging: applied {TOTAL - applied} operation(s)" in again.err
    assert f"production: applied {TOTAL} operation(s)" in again.err
    assert cli("plan", "--all", "--detailed-exitcode", env=variables).code == 0
