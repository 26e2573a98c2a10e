"""The local store names its own failures (issue 17.5): a full disk, a read-only database.

Faithful conditions, not knobs: the database lives on a small tmpfs mounted for the test (as
root), which is then filled to the last byte or remounted read-only, exactly what happens to a
real store's disk. Without root, the read-only case uses permissions (a directory and file
without write permission, which root would ignore) and the full-disk case is skipped.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support import Cli, store_env

from provisioner.client import Client, ClientConfig
from provisioner.errors import ApiError
from provisioner.localstore import StoreSettings, local_credentials, running_server

STORAGE_LOGGER = "provisioner.localstore.storage"
FILES = """\
flows:
  teams:
    name: Teams
    fields:
      lead:
        name: Lead
        field_type: string
"""


def _run(*command: str) -> bool:
    return subprocess.run(command, capture_output=True, check=False).returncode == 0


@pytest.fixture
def disk(tmp_path: Path) -> Iterator[Path]:
    """A directory on its own 4 MiB tmpfs when we may mount one, else a plain directory."""
    path = tmp_path / "disk"
    path.mkdir()
    mounted = os.geteuid() == 0 and _run(
        "mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(path)
    )
    try:
        yield path
    finally:
        if mounted:
            _run("umount", "-l", str(path))
        else:
            path.chmod(0o755)
            for child in path.iterdir():
                child.chmod(0o644)


def _mounted(path: Path) -> bool:
    return os.path.ismount(path)


def _read_only(path: Path) -> None:
    if _mounted(path):
        assert _run("mount", "-o", "remount,ro", str(path))
    else:
        for child in path.iterdir():
            child.chmod(0o444)
        path.chmod(0o555)


def _writable(path: Path) -> None:
    if _mounted(path):
        assert _run("mount", "-o", "remount,rw", str(path))
    else:
        path.chmod(0o755)
        for child in path.iterdir():
            child.chmod(0o644)


async def _create(base_url: str, client_id: str, secret: str, slug: str) -> Any:
    # Two quick attempts: the 503 is retried like any other, and the message must say why.
    config = ClientConfig(
        base_url=base_url,
        client_id=client_id,
        client_secret=secret,
        rate_limit=1000,
        max_attempts=2,
        backoff_base=0.01,
    )
    async with Client(config) as client:
        try:
            return await client.create_flow(
                {"slug": slug, "name": slug, "description": "", "enabled": True}
            )
        except ApiError as error:
            return error


def _store_errors(caplog: pytest.LogCaptureFixture, word: str) -> list[str]:
    return [
        record.getMessage()
        for record in caplog.records
        if record.name == STORAGE_LOGGER and word in record.getMessage()
    ]


def _teams_files(disk: Path, tmp_path: Path) -> tuple[Path, Path, str, str]:
    """The store's database on `disk` with its credentials, and the files to apply to it."""
    if not _mounted(disk) and os.geteuid() == 0:
        pytest.skip("root ignores permissions and no tmpfs could be mounted")
    db = disk / "store.sqlite"
    files = tmp_path / "teams.yaml"
    files.write_text(FILES)
    client_id, secret = local_credentials(db)
    return db, files, client_id, secret


def test_a_read_only_database_says_so_and_still_serves_plan_and_export(
    cli: Cli, disk: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db, files, client_id, secret = _teams_files(disk, tmp_path)
    with running_server(db, StoreSettings()) as base_url:
        env = store_env(base_url, client_id, secret)
        assert cli("apply", files, "--auto-approve", env=env).code == 0
        _read_only(disk)
        try:
            caplog.set_level(logging.ERROR, logger=STORAGE_LOGGER)
            # A token (no write), then the reads: plan and export work.
            planned = cli("plan", files, "--detailed-exitcode", env=env)
            assert planned.code == 0, planned.out + planned.err
            assert "No changes." in planned.out
            exported = cli("export", "-o", f"{tmp_path / 'out'}/", env=env)
            assert exported.code == 0, exported.err
            assert "lead:" in (tmp_path / "out" / "teams.yaml").read_text()
            # Writes are refused with an answer that names the cause, logged once.
            for slug in ("one", "two"):
                error = asyncio.run(_create(base_url, client_id, secret, slug))
                assert isinstance(error, ApiError)
                assert error.status == 503
                assert "The local store's database is read-only" in error.detail
                assert "Nothing was written; reads still work." in error.detail
            assert len(_store_errors(caplog, "read-only")) == 1
            files.write_text(FILES.replace("name: Teams", "name: Squads"))
            refused = cli("apply", files, "--auto-approve", env=env)
            assert refused.code == 1
            assert "The local store's database is read-only" in refused.out
        finally:
            _writable(disk)
        created = asyncio.run(_create(base_url, client_id, secret, "three"))
        assert not isinstance(created, ApiError), str(created)


def test_a_full_disk_says_so(disk: Path, caplog: pytest.LogCaptureFixture) -> None:
    if not _mounted(disk):
        pytest.skip("needs a small file system of its own (root, mount)")
    db = disk / "store.sqlite"
    client_id, secret = local_credentials(db)
    with running_server(db, StoreSettings()) as base_url:
        caplog.set_level(logging.ERROR, logger=STORAGE_LOGGER)
        assert not isinstance(asyncio.run(_create(base_url, client_id, secret, "before")), ApiError)
        filler = disk / "filler"
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
        try:
            while True:
                os.write(fd, b"\0" * 65536)
        except OSError:
            pass
        finally:
            os.close(fd)
        try:
            for slug in ("one", "two", "three"):
                error = asyncio.run(_create(base_url, client_id, secret, slug))
                assert isinstance(error, ApiError)
                assert error.status == 507
                assert error.title == "Insufficient Storage"
                assert "The local store's disk is full" in error.detail
                assert "Nothing was written" in error.detail
            assert len(_store_errors(caplog, "disk is full")) == 1
        finally:
            filler.unlink()
        assert not isinstance(asyncio.run(_create(base_url, client_id, secret, "after")), ApiError)


def test_serve_on_a_database_already_read_only_serves_plan_and_export(
    cli: Cli, disk: Path, tmp_path: Path
) -> None:
    # `serve` keeps the address it serves on in the database; on a database that is read-only
    # before it starts, it serves without keeping it (it refused to start).
    db, files, client_id, secret = _teams_files(disk, tmp_path)
    with running_server(db, StoreSettings()) as base_url:
        env = store_env(base_url, client_id, secret)
        assert cli("apply", files, "--auto-approve", env=env).code == 0
    _read_only(disk)
    command = [sys.executable, "-m", "provisioner", "serve", "--port", "0", "--db", str(db)]
    server = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path
    )
    try:
        assert server.stdout is not None
        first = server.stdout.readline()  # "Local store on URL (database: ...)"
        assert first.startswith("Local store on "), first + server.communicate(timeout=30)[1]
        served = first.split()[3]
        planned = cli(
            "plan", files, "--detailed-exitcode", env=store_env(served, client_id, secret)
        )
        assert planned.code == 0, planned.out + planned.err
        assert "No changes." in planned.out
    finally:
        server.terminate()
        _, err = server.communicate(timeout=30)
        _writable(disk)
    assert "is read-only: serving reads only" in err
    assert "Traceback" not in err
