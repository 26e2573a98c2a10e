"""`export -o one.yaml` never writes what `validate` refuses (issue 16).

`validate` reads files of at most `yamlload.MAX_FILE_BYTES` (1 MiB). A store whose export is
larger is refused as one file, before anything is written, with a pointer to directory output
(one file per flow, each at most 100 fields); the directory export of the same store validates
and plans clean. Real HTTP against the local store, seeded through its storage.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from provisioner.config import validate_paths
from provisioner.localstore.storage import Storage, new_id
from provisioner.model import FIELD_ATTRIBUTES
from provisioner.yamlload import MAX_FILE_BYTES

pytestmark = pytest.mark.slow  # see the `slow` marker in pyproject.toml

if TYPE_CHECKING:
    from support import Cli
    from support.store import LocalStore


FLOWS = 15


def seed_large(store: LocalStore) -> None:
    """FLOWS flows of 100 fields with 1,000-character descriptions: about 1.5 MiB of YAML.

    (Few fields, long texts: the size validate refuses, at a third of the work of 50 flows.)
    """
    storage = Storage(store.db_path)
    attributes = dict.fromkeys(FIELD_ATTRIBUTES)
    attributes.update({"field_type": "string", "required": False, "unique": False})
    attributes.update({"enabled": True, "omit_null": False, "validation_rules": []})
    flows = [
        storage.create_flow(
            {"slug": f"flow-{n:02d}", "name": f"Flow {n}", "description": "", "enabled": True}
        )
        for n in range(FLOWS)
    ]
    with storage.transaction(write=True) as conn:
        for flow in flows:
            for i in range(100):
                attrs = {
                    **attributes,
                    "slug": f"f{i:03d}",
                    "name": f"Field {i}",
                    "description": f"Field {i} of {flow['slug']}: " + "words " * 165,
                }
                storage._write_field(conn, new_id(), flow["id"], attrs)


def test_one_file_too_large_for_validate_is_refused_and_a_directory_works(
    cli: Cli, local_store: LocalStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_large(local_store)
    monkeypatch.chdir(tmp_path)
    env = local_store.env()
    refused = cli("export", "-o", "store.yaml", env=env)
    assert refused.code == 1
    assert f"more than the {MAX_FILE_BYTES} bytes validate reads" in refused.err
    assert f"-o store{os.sep}" in refused.err
    assert "Nothing was written" in refused.err
    assert "Traceback" not in refused.err
    assert not (tmp_path / "store.yaml").exists()

    printed = cli("export", env=env)  # stdout: printed, with a warning on stderr
    assert printed.code == 0
    assert len(printed.out.encode("utf-8")) > MAX_FILE_BYTES
    assert "validate will refuse this YAML" in printed.err
    assert "file is too large" in printed.err
    assert "export with -o DIR/ for one file per flow" in printed.err

    written = cli("export", "-o", f"store{os.sep}", env=env)
    assert written.code == 0
    files = sorted((tmp_path / "store").glob("*.yaml"))
    assert len(files) == FLOWS
    assert all(file.stat().st_size <= MAX_FILE_BYTES for file in files)
    assert validate_paths([tmp_path / "store"]) == []
    assert cli("plan", "store/", "--detailed-exitcode", env=env).code == 0
