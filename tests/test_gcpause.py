"""The collector pause of issue 16 always ends, and nests (provisioner.gcpause)."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from provisioner.config import load_desired
from provisioner.errors import ConfigError
from provisioner.gcpause import paused_gc, without_gc

ROOT = Path(__file__).resolve().parents[1]


def test_the_pause_ends_after_a_load_and_after_an_error(tmp_path: Path) -> None:
    assert gc.isenabled()
    load_desired([ROOT / "examples"])
    assert gc.isenabled()
    bad = tmp_path / "bad.yaml"
    bad.write_text("flows: [\n", encoding="utf-8")
    with pytest.raises(ConfigError):
        load_desired([bad])
    assert gc.isenabled()


def test_nested_pauses_resume_only_at_the_outermost() -> None:
    @without_gc
    def inner() -> bool:
        return gc.isenabled()

    with paused_gc():
        assert not inner()
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with paused_gc():
            pass
        assert not gc.isenabled()  # it was off before: left off
    finally:
        gc.enable()


def test_what_a_large_pause_leaves_alive_is_frozen(monkeypatch: pytest.MonkeyPatch) -> None:
    import provisioner.gcpause as gcpause

    monkeypatch.setattr(gcpause, "FREEZE_ABOVE", 5_000)
    gc.collect()
    before = gc.get_freeze_count()
    try:
        with paused_gc():
            small = [[index] for index in range(100)]
        assert gc.get_freeze_count() == before  # a small pause leaves the collector alone
        with paused_gc():
            kept = [[index] for index in range(20_000)]
        assert gc.isenabled()
        assert gc.get_freeze_count() >= before + len(kept)
    finally:
        gc.unfreeze()
    assert len(small) == 100
