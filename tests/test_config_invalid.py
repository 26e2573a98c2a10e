"""The invalid-input corpus: each case under tests/invalid/ yields exactly the diagnostics in
its `.expected` file (location, path, message and expectation, one per line, sorted).

A case is `<name>.yaml` or a directory `<name>/` next to `<name>.expected`. File names in the
expected output are relative to tests/invalid/.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from provisioner.config import load_desired, validate_paths
from provisioner.errors import ConfigError
from provisioner.yamlload import MAX_FILE_BYTES

INVALID = Path(__file__).parent / "invalid"
CASES = sorted(path.stem for path in INVALID.glob("*.expected"))


def _target(name: str) -> Path:
    for candidate in (INVALID / f"{name}.yaml", INVALID / f"{name}.yml", INVALID / name):
        if candidate.exists():
            return candidate
    raise AssertionError(f"no input for case {name}")


def _rendered(target: Path) -> list[str]:
    return [str(d).replace(f"{INVALID}/", "") for d in validate_paths([target])]


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 30
    inputs = {p.stem for p in INVALID.iterdir() if p.suffix != ".expected"}
    assert inputs == set(CASES), "every input has an .expected file and vice versa"


@pytest.mark.parametrize("name", CASES)
def test_invalid_case_reports_exactly_the_expected_diagnostics(name: str) -> None:
    expected = (INVALID / f"{name}.expected").read_text(encoding="utf-8").splitlines()
    assert expected, "an invalid case must expect at least one diagnostic"
    assert _rendered(_target(name)) == expected


@pytest.mark.parametrize("name", CASES)
def test_load_desired_raises_with_the_same_diagnostics(name: str) -> None:
    target = _target(name)
    with pytest.raises(ConfigError) as caught:
        load_desired([target])
    assert list(caught.value.diagnostics) == validate_paths([target])
    assert str(caught.value).endswith("found.")


def test_every_case_reports_in_the_documented_shape() -> None:
    for name in CASES:
        for line in (INVALID / f"{name}.expected").read_text(encoding="utf-8").splitlines():
            file, line_no, column, rest = line.split(":", 3)
            assert file.endswith((".yaml", ".yml")), line
            assert int(line_no) >= 1, line
            assert int(column) >= 1, line
            assert rest.startswith(" "), line


def test_file_over_the_size_limit(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    comment = b"# padding\n"
    big.write_bytes(b"flows: {}\n" + comment * (MAX_FILE_BYTES // len(comment) + 1))
    assert [str(d) for d in validate_paths([big])] == [
        f"{big}:1:1: file is too large ({big.stat().st_size} bytes)"
        f" (expected at most {MAX_FILE_BYTES} bytes)"
    ]


def test_a_file_just_under_the_limit_is_read(tmp_path: Path) -> None:
    file = tmp_path / "padded.yaml"
    body = b"flows: {}\n"
    file.write_bytes(body + b"#" * (MAX_FILE_BYTES - len(body)))
    assert validate_paths([file]) == []


def test_all_problems_of_several_files_are_reported_together(tmp_path: Path) -> None:
    names = ["relationship_unknown_target", "reserved_flow_slug", "duplicate_field_key"]
    for name in names:
        (tmp_path / f"{name}.yaml").write_bytes((INVALID / f"{name}.yaml").read_bytes())
    lines = [str(d).replace(f"{tmp_path}/", "") for d in validate_paths([tmp_path])]
    expected: list[str] = []
    for name in sorted(names):
        expected += (INVALID / f"{name}.expected").read_text(encoding="utf-8").splitlines()
    assert lines == expected
