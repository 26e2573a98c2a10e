"""The libyaml fast path of the loader answers exactly as the pure-Python path (issue 16).

`yamlload.load_bytes` tries libyaml's event parser first and falls back to PyYAML's
pure-Python pipeline for anything it cannot answer for alone. The contract: whenever the fast
path answers, the file has no problem and the data (types included) and every key and value
mark equal the pure-Python loader's. Checked over the repository's files, generated documents
and byte mutations of a valid file; and the fast path must really be taken for valid files
(or the speed-up would silently be gone).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.badinput import VALID_SEED, raw_bytes, yaml_documents
from provisioner import yamlload
from provisioner.yamlload import fast as fast_path
from provisioner.yamlload import pure

ROOT = Path(__file__).resolve().parents[1]
CORPUS = sorted(
    [*ROOT.glob("examples/**/*.yaml"), *ROOT.glob("tests/**/*.yaml"), *ROOT.glob("tests/**/*.yml")]
)
SETTINGS = settings(
    max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


def same_as_slow(raw: bytes) -> bool:
    """Asserts the fast answer (if any) equals the slow one; True when the fast path answered."""
    try:
        text = raw.removeprefix(b"\xef\xbb\xbf").decode("utf-8")
    except UnicodeDecodeError:
        return False
    fast = fast_path.fast_load(text)
    if fast is None:
        return False
    slow = pure.slow_load(text)
    assert slow.problems == ()
    assert fast.problems == ()
    assert repr(fast.data) == repr(slow.data)  # repr: 1 and 1.0 and True differ
    assert fast.value_marks == slow.value_marks
    assert fast.key_marks == slow.key_marks
    return True


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: str(p.relative_to(ROOT)))
def test_repository_files(path: Path) -> None:
    raw = path.read_bytes()
    answered = same_as_slow(raw)
    if not yamlload.load_bytes(raw).problems:
        assert answered, "a valid file did not take the fast path"


def test_valid_seed_takes_the_fast_path() -> None:
    assert same_as_slow(VALID_SEED)
    assert yamlload.load_bytes(VALID_SEED) == pure.slow_load(VALID_SEED.decode())


@pytest.mark.parametrize(
    "text",
    [
        "a: !!str 1\n",  # explicit tag: only the slow path reports it
        "a: ! x\n",  # the non-specific tag
        "a: &x 1\nb: *x\n",  # aliases are counted and expanded by the slow path
        "a: 1\na: 2\n",  # duplicate key
        "<<: {a: 1}\n",  # merge key
        "? [a]\n: 1\n",  # non-scalar key
        "a: .inf\n",  # not a finite number
        "a: 1\n---\nb: 2\n",  # two documents
        "a: [\n",  # a syntax error
        "a: b\u2028c\n",  # a line break libyaml and PyYAML may count differently
        "a: " + "[" * 70 + "]" * 70 + "\n",  # deeper than MAX_DEPTH
        "a: [" + "1, " * yamlload.MAX_NODES + "1]\n",  # more values than MAX_NODES
        "# nothing\n",
    ],
)
def test_what_the_fast_path_leaves_to_the_slow_one(text: str) -> None:
    assert fast_path.fast_load(text) is None


def test_quoted_and_plain_scalars_resolve_as_before() -> None:
    text = (
        'a: yes\nb: "yes"\nc: 0x1f\nd: 1_000\ne: 1.5\nf: 2024-01-01\ng: ~\nh: "1"\n'
        "i: 1:30\nj: =\nk: -.5e3\nl: 'null'\nm: |\n  two\n  lines\n"
        "\u00e9t\u00e9: {x: [1, \u00e9]}\n"
    )
    assert same_as_slow(text.encode())


@pytest.mark.slow
@SETTINGS
@given(raw=yaml_documents())
def test_generated_documents(raw: bytes) -> None:
    same_as_slow(raw)


@SETTINGS
@given(raw=raw_bytes)
def test_mutated_bytes(raw: bytes) -> None:
    same_as_slow(raw)


@pytest.mark.slow
@SETTINGS
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(st.text(max_size=6), children, max_size=4)
        ),
        max_leaves=20,
    ),
    st.sampled_from([False, True, None]),
)
def test_any_dumped_data(data: object, flow: bool | None) -> None:
    import yaml

    text = yaml.safe_dump({"x": data}, default_flow_style=flow, allow_unicode=True)
    same_as_slow(text.encode())
