"""Plan refusals that name the real conflict and where it is declared (issue 14 acceptance
follow-up 2): a rename onto a slug another live Custom API holds, a parent deleted or replaced
while a live child names it, a parent the files name by the slug it is renamed from, parents
that exist nowhere. Over real HTTP against the local store; nothing is written."""

from __future__ import annotations

from pathlib import Path

from support import Cli
from support.store import LocalStore

CHAIN = """custom_apis:
  top: {name: Top, api_type: top_ext}
  middle: {name: Middle, api_type: middle_ext, parent_apis: [top]}
  lower: {name: Lower, api_type: lower_ext, parent_apis: [middle]}
"""


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def _refused(cli: Cli, store: LocalStore, path: Path) -> str:
    writes = store.write_count()
    refused = cli("plan", path, env=store.env())
    assert refused.code == 1, refused.out + refused.err
    assert "Traceback" not in refused.err
    assert store.write_count() == writes
    return refused.err


def test_a_rename_onto_a_slug_another_live_api_holds_names_that_api(
    cli: Cli, local_store: LocalStore, tmp_path: Path
) -> None:
    start = _write(
        tmp_path / "start.yaml",
        "custom_apis:\n  top2: {name: T, api_type: top_ext}\n"
        "  top3: {name: S, api_type: squat_ext}\n  rr: {name: R, api_type: rr_ext}\n",
    )
    assert cli("apply", start, "--auto-approve", env=local_store.env()).code == 0
    onto = _write(
        tmp_path / "onto.yaml",
        "custom_apis:\n  top3: {name: T, api_type: top_ext, renamed_from: [top2]}\n",
    )
    err = _refused(cli, local_store, onto)
    assert (
        f"{onto}:2:3: custom_apis.top3.renamed_from: cannot rename `top2` to `top3`: the slug "
        "`top3` is taken by the live Custom API `top3` (api_type `squat_ext`)" in err
    )
    assert "say `renamed_from" not in err  # the file already says it
    same_type = _write(
        tmp_path / "same.yaml",
        "custom_apis:\n  top3: {name: S, api_type: squat_ext, renamed_from: [rr]}\n",
    )
    err = _refused(cli, local_store, same_type)
    assert "cannot rename `rr` to `top3`: the slug `top3` is taken" in err


def test_parent_refusals_are_located(cli: Cli, local_store: LocalStore, tmp_path: Path) -> None:
    assert cli("apply", _write(tmp_path / "chain.yaml", CHAIN), "--auto-approve",
               env=local_store.env()).code == 0  # fmt: skip
    gone = _write(tmp_path / "gone.yaml", "custom_apis:\n  middle: {state: absent}\n")
    err = _refused(cli, local_store, gone)
    assert f"{gone}:2:3: custom_apis.middle.state: Custom API middle is marked" in err
    assert "Custom API lower (live, not in the files) names it as a parent" in err
    retyped = _write(
        tmp_path / "retyped.yaml",
        CHAIN.replace("api_type: middle_ext", "api_type: center_ext"),
    )
    err = _refused(cli, local_store, retyped)
    assert f"{retyped}:3:3: custom_apis.middle.api_type: Custom API middle: api_type" in err
    assert f"{retyped}:4:3: custom_apis.lower.parent_apis: names it as a parent" in err
    nowhere = _write(
        tmp_path / "nowhere.yaml",
        "custom_apis:\n  two: {name: Two, api_type: two_ext, parent_apis: [nonexist]}\n",
    )
    err = _refused(cli, local_store, nowhere)
    assert (
        f"{nowhere}:2:3: custom_apis.two.parent_apis: `nonexist` is neither declared in the "
        "files nor a Custom API in the store" in err
    )


def test_a_parent_named_by_the_slug_it_is_renamed_from_says_the_new_slug(
    cli: Cli, local_store: LocalStore, tmp_path: Path
) -> None:
    start = _write(
        tmp_path / "start.yaml",
        "custom_apis:\n  top: {name: Top, api_type: top_ext}\n"
        "  shapes: {name: Shapes, api_type: shape_ext, parent_apis: [top]}\n",
    )
    assert cli("apply", start, "--auto-approve", env=local_store.env()).code == 0
    renamed = _write(
        tmp_path / "renamed.yaml",
        "custom_apis:\n  top2: {name: Top, api_type: top_ext, renamed_from: [top]}\n"
        "  shapes: {name: Shapes, api_type: shape_ext, parent_apis: [top]}\n",
    )
    err = _refused(cli, local_store, renamed)
    assert (
        f"{renamed}:3:3: custom_apis.shapes.parent_apis: `top` is being renamed to `top2` "
        "(custom_apis.top2.renamed_from); name `top2` here" in err
    )
    assert "neither declared" not in err
    fixed = _write(
        tmp_path / "fixed.yaml",
        renamed.read_text(encoding="utf-8").replace("parent_apis: [top]", "parent_apis: [top2]"),
    )
    assert cli("apply", fixed, "--auto-approve", env=local_store.env()).code == 0
    assert cli("plan", fixed, "--detailed-exitcode", env=local_store.env()).code == 0


def test_what_the_spec_allows_converges(cli: Cli, local_store: LocalStore, tmp_path: Path) -> None:
    """A field slug with `.` (SPEC: recommended against, not refused) and a parent named twice
    (SPEC: no uniqueness stated) are accepted, applied and re-planned empty."""
    path = _write(
        tmp_path / "a.yaml",
        "custom_apis:\n  top: {name: T, api_type: top_ext}\n"
        "  kid: {name: K, api_type: kid_ext, parent_apis: [top, top]}\n"
        "  f: {name: F, api_type: f_ext, fields: {a.b: {name: AB, field_type: string}}}\n",
    )
    applied = cli("apply", path, "--auto-approve", env=local_store.env())
    assert applied.code == 0, applied.out + applied.err
    again = cli("plan", path, "--detailed-exitcode", env=local_store.env())
    assert again.code == 0, again.out + again.err
