"""Property: for any valid State, loading what the exporter writes gives that State back.

Pure (no network): generated States -> `exporter.export_text` / `export_files` -> real files ->
`config.load_desired`, compared on the managed attributes in canonical form (what the planner
compares), plus our `prune`. Every generated document must also pass `config.validate_paths`
with no diagnostic, so export never writes a file `validate` would refuse.
"""

from __future__ import annotations

import string
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support import strategies

from provisioner import rules
from provisioner.config import load_desired, validate_paths
from provisioner.exporter import export_files, export_text
from provisioner.model import (
    CORE_FLOW_SLUGS,
    CORE_RELATIONSHIP_TARGETS,
    CORE_RESOURCE_ATTRIBUTES,
    RESERVED_FIELD_SLUGS,
    RESERVED_FLOW_SLUGS,
    Field,
    Flow,
    State,
)
from provisioner.normalize import field_attributes, flow_attributes

SLUG_CHARS = string.ascii_letters + string.digits + "_-"
# Slugs a YAML reader would misread as keys (booleans, numbers, null, dates): must be quoted.
TRICKY_SLUGS = ["yes", "no", "on", "off", "y", "null", "true", "0123", "123", "1e3", "2017-12-25"]
FORBIDDEN_FIELD_SLUGS = RESERVED_FIELD_SLUGS.union(*CORE_RESOURCE_ATTRIBUTES.values())
TRICKY_TEXT = ["yes", "no", "null", "~", "0123", "1e3", "2017-12-25", "a: b", "#x", "- x", "x\ny"]

plain_slug = st.text(SLUG_CHARS, min_size=1, max_size=10)
field_slugs = st.one_of(plain_slug, st.sampled_from(TRICKY_SLUGS)).filter(
    lambda s: s not in FORBIDDEN_FIELD_SLUGS
)
flow_slugs = st.one_of(
    plain_slug,
    st.sampled_from(sorted(CORE_FLOW_SLUGS)),
    st.sampled_from(TRICKY_SLUGS),
    st.tuples(plain_slug, plain_slug).map(lambda p: f"{p[0]}({p[1]})"),  # PXM templates (3.4)
).filter(lambda s: s not in RESERVED_FLOW_SLUGS)
texts = st.one_of(st.text(max_size=30), st.sampled_from(TRICKY_TEXT))
names = texts.filter(lambda s: not rules.is_blank(s))  # a blank name is no name (2.4)
dates = strategies.dates
ints = strategies.integers
floats = strategies.finite_floats


@st.composite
def rules_and_default(draw: st.DrawFn, field_type: str) -> tuple[tuple[dict[str, Any], ...], Any]:
    """Rules of the shapes the API admits for `field_type` (4.5), and a default they accept."""
    maybe_none = st.none() | st.just("keep")
    if field_type == "boolean":
        return (), draw(st.none() | st.booleans())
    if field_type in ("string", "date", "integer", "float"):
        by_type: dict[str, st.SearchStrategy[Any]] = {
            "string": texts,
            "date": dates,
            "integer": ints,
            "float": floats,
        }
        values = by_type[field_type]
        kinds = ["none", "enum"]
        kinds += {
            "string": ["email", "slug", "uuid"],
            "integer": ["between"],
            "float": ["between"],
        }.get(field_type, [])
        kind = draw(st.sampled_from(kinds))
        if kind == "enum":
            options = draw(st.lists(values, min_size=1, max_size=5, unique=True))
            default = draw(st.sampled_from(options)) if draw(maybe_none) else None
            return ({"type": "enum", "options": options},), default
        if kind == "between":
            low, high = sorted(draw(st.lists(values, min_size=2, max_size=2)))
            default = draw(st.sampled_from([low, high])) if draw(maybe_none) else None
            return ({"type": "between", "options": {"from": low, "to": high}},), default
        if kind == "email":
            return ({"type": "email"},), draw(st.none() | st.just("someone@example.com"))
        if kind == "slug":
            return ({"type": "slug"},), draw(st.none() | plain_slug)
        if kind == "uuid":
            return ({"type": "uuid"},), draw(st.none() | st.uuids().map(str))
        return (), draw(st.none() | values)
    raise AssertionError(field_type)


@st.composite
def fields(draw: st.DrawFn, slug: str, relationship_targets: list[str]) -> Field:
    kinds = ["string", "integer", "boolean", "float", "date"]
    if relationship_targets:
        kinds.append("relationship")
    field_type = draw(st.sampled_from(kinds))
    rules: tuple[dict[str, Any], ...]
    if field_type == "relationship":
        rule: dict[str, Any] = {
            "type": draw(st.sampled_from(["one-to-many", "one-to-one"])),
            "to": draw(st.sampled_from(relationship_targets)),
        }
        rules, default = (rule,), None
    else:
        rules, default = draw(rules_and_default(field_type))
    return Field(
        slug=slug,
        field_type=field_type,
        name=draw(names),
        description=draw(texts),
        required=False if field_type == "relationship" else draw(st.booleans()),
        unique=draw(st.booleans()),
        default=default,
        enabled=draw(st.booleans()),
        order=draw(st.none() | st.integers(min_value=-5, max_value=1000)),
        omit_null=draw(st.booleans()),
        validation_rules=rules,
    )


@st.composite
def states(draw: st.DrawFn) -> State:
    slugs = draw(st.lists(flow_slugs, max_size=4, unique=True))
    # `to` is a singular core resource or a custom flow (a plural core slug is refused, 4.5).
    targets = sorted(CORE_RELATIONSHIP_TARGETS) + [s for s in slugs if s not in CORE_FLOW_SLUGS]
    flows = {}
    for flow_slug in slugs:
        template = "(" in flow_slug  # no relationships in PXM templates (4.5)
        field_keys = draw(st.lists(field_slugs, max_size=5, unique=True))
        flows[flow_slug] = Flow(
            slug=flow_slug,
            name=draw(names),
            description=draw(texts),
            enabled=draw(st.booleans()),
            prune=draw(st.booleans()),
            fields={key: draw(fields(key, [] if template else targets)) for key in field_keys},
        )
    return State(flows=flows)


def assert_same_state(loaded: State, expected: State) -> None:
    assert sorted(loaded.flows) == sorted(expected.flows)
    for slug, flow in expected.flows.items():
        got = loaded.flows[slug]
        assert flow_attributes(got) == flow_attributes(flow), slug
        assert got.prune == flow.prune
        assert sorted(got.fields) == sorted(flow.fields), slug
        for field_slug, field in flow.fields.items():
            assert field_attributes(got.fields[field_slug]) == field_attributes(field), (
                slug,
                field_slug,
            )


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(states())
def test_loading_the_export_gives_the_state_back(state: State) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        one_file = Path(tmp) / "all.yaml"
        one_file.write_text(export_text(state, "schema.json"), encoding="utf-8")
        assert validate_paths([one_file]) == []
        assert_same_state(load_desired([one_file]), state)

        if not state.flows:
            return  # a directory with no YAML file is not a desired state; export says so
        directory = Path(tmp) / "flows"
        directory.mkdir()
        for name, text in export_files(state, "../schema.json").items():
            (directory / name).write_text(text, encoding="utf-8")
        assert validate_paths([directory]) == []
        assert_same_state(load_desired([directory]), state)
