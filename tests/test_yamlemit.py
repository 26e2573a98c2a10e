"""The exporter's direct YAML writer gives PyYAML's bytes exactly (issue 16: `yamlemit`).

`exporter.dump` writes the simple parts itself and hands the rest to PyYAML; here generated
documents of the exporter's shape, with strings and numbers chosen around the edges of the
simple subset (quoting, folding at 100 columns, flow indicators, exponents), are written both
ways and compared byte for byte.
"""

from __future__ import annotations

import string
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from provisioner import exporter
from provisioner.exporter import _FlowList, _FlowMap, dump, pyyaml_dump

EDGE_TEXT = [
    "yes", "No", "null", "~", "y", "0123", "123", "1_000", "1e3", "0o17", "2017-12-25", "12:30",
    "a: b", "a:b", "x #y", "#x", "- x", "-x", "? x", "x,y", "[x]", "{x}", "a'b", "'a", "x ",
    " x", "x\ny", "x\n", "caf\u00e9", "tab\there", "---", "...", "=", "<<", "", "Free text",
    "Field 12", "products(book)", "a/b", "a.b", "x" * 95, "word " * 25,
]  # fmt: skip
texts = st.one_of(
    st.sampled_from(EDGE_TEXT),
    st.from_regex(r"[a-z][a-z0-9 ]{0,12}[a-z]", fullmatch=True),
    st.text(string.ascii_letters + string.digits + " _.,'()/-:#", max_size=40),
    st.text(max_size=12),
)
numbers = st.one_of(
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.5, 5.0, -2.25, 1e16, 1e-7, 123456789012.5]),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, texts)
keys = st.one_of(st.sampled_from(["name", "field_type", "to", "from"]), texts)


@st.composite
def rules(draw: st.DrawFn) -> dict[str, Any]:
    rule: dict[str, Any] = {"type": draw(texts)}
    options = draw(
        st.one_of(
            st.lists(scalars, max_size=6).map(_FlowList),
            st.dictionaries(keys, scalars, max_size=3).map(_FlowMap),
            st.lists(scalars, max_size=2),
            st.dictionaries(keys, st.lists(scalars, max_size=2), max_size=2),
            st.none(),
        )
    )
    if options is not None:
        rule["options"] = options
    if draw(st.booleans()):
        rule["to"] = draw(texts)
    return rule


fields = st.fixed_dictionaries(
    {"name": texts, "field_type": texts},
    optional={
        "description": texts,
        "default": st.one_of(scalars, st.lists(scalars, max_size=2)),
        "order": st.integers(min_value=-5, max_value=10**6),
        "validation_rules": st.lists(rules(), max_size=3),
        "renamed_from": st.lists(texts, min_size=1, max_size=2),
        "state": st.just("absent"),
    },
)
flows = st.fixed_dictionaries(
    {"name": texts},
    optional={
        "description": texts,
        "enabled": st.booleans(),
        "prune": st.just(True),
        "fields": st.dictionaries(keys, fields, min_size=1, max_size=3),
    },
)
documents = st.dictionaries(keys, flows, max_size=2).map(lambda f: {"flows": f})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents)
def test_the_direct_writer_gives_pyyaml_bytes(document: dict[str, Any]) -> None:
    assert dump(document) == pyyaml_dump(document)


def test_a_simple_document_is_written_without_pyyaml() -> None:
    document: dict[str, Any] = {
        "flows": {
            "wishlists": {
                "name": "Wishlists",
                "enabled": False,
                "fields": {
                    "size": {
                        "name": "Size",
                        "field_type": "float",
                        "default": 2.5,
                        "validation_rules": [
                            {"type": "enum", "options": _FlowList([1.5, 2.5])},
                            {"type": "between", "options": _FlowMap({"from": 1.0, "to": 3.0})},
                        ],
                    },
                    "owner": {"name": "Owner, of it", "field_type": "relationship"},
                },
            }
        }
    }
    fast = exporter._fast_dump(document)
    assert fast is not None
    assert fast == pyyaml_dump(document)
    assert "options: [1.5, 2.5]" in fast
    assert "options: {from: 1.0, to: 3.0}" in fast
    # One field PyYAML must write (a quoted string) leaves the others to the direct writer.
    document["flows"]["wishlists"]["fields"]["note"] = {"name": "yes", "field_type": "string"}
    fast = exporter._fast_dump(document)
    assert fast is not None
    assert '        name: "yes"' in fast
    assert fast == pyyaml_dump(document)
