"""Building the desired `State` from checked files, with the API's defaults (the model's
dataclass defaults) for everything left out. Runs only when no pass found a problem."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from provisioner import rules
from provisioner.config.report import Source
from provisioner.config.semantics import FlowDecl, custom_apis_involved, flow_decls
from provisioner.model import (
    FIELD_ATTRIBUTES,
    FLOW_ATTRIBUTES,
    Field,
    Flow,
    Location,
    State,
    renamed_item,
    renamed_source,
)

if TYPE_CHECKING:
    from provisioner.custom_api_model import CustomApi

# Plain attributes copied as written (and `prune`, ours); validation rules are rebuilt.
_FLOW_KEYS = (*FLOW_ATTRIBUTES, "prune")
_FIELD_KEYS = tuple(name for name in FIELD_ATTRIBUTES if name != "validation_rules")


def build_state(sources: Sequence[Source]) -> State:
    flows: dict[str, Flow] = {}
    for decl in flow_decls(sources):
        document = decl.source.document
        fields = {
            slug: _build_field(decl, slug, raw, document.locate((*decl.path, "fields", slug)))
            for slug, raw in decl.fields()
        }
        attributes = {k: decl.raw[k] for k in _FLOW_KEYS if k in decl.raw}
        flows[decl.slug] = Flow(
            slug=decl.slug,
            fields=fields,
            absent=decl.raw.get("state") == "absent",
            location=_location(decl.source.name, document.locate(decl.path)),
            **attributes,
        )
    documents = [(s.name, s.document) for s in sources]
    custom_apis: dict[str, CustomApi] = {}
    if custom_apis_involved(documents):
        from provisioner import custom_api_config  # only when a file has any (issue 16)

        custom_apis = custom_api_config.build(documents)
    return State(flows=flows, custom_apis=custom_apis)


def _build_field(
    decl: FlowDecl, slug: str, raw: Mapping[str, Any], where: tuple[int, int]
) -> Field:
    attributes: dict[str, Any] = {k: raw[k] for k in _FIELD_KEYS if k in raw}
    float_field = raw.get("field_type") == "float"
    if float_field and rules.is_number(attributes.get("default")):
        # Values of a float field are floats: the API echoes 5.0 for 5, and the planner must
        # not see a difference between the two (4.3).
        attributes["default"] = float(attributes["default"])
    built_rules = tuple(_build_rule(rule, float_field) for rule in raw.get("validation_rules", ()))
    renamed = tuple(
        renamed_item(decl.slug, renamed_source(decl.slug, item))
        for item in raw.get("renamed_from", ())
    )
    return Field(
        slug=slug,
        validation_rules=built_rules,
        absent=raw.get("state") == "absent",
        renamed_from=renamed,
        location=_location(decl.source.name, where),
        **attributes,
    )


def _build_rule(rule: Mapping[str, Any], float_field: bool) -> dict[str, Any]:
    """A rule exactly in the API's shape (4.5), as a fresh dict."""
    built: dict[str, Any] = json.loads(json.dumps(rule))
    if float_field:
        options = built.get("options")
        if isinstance(options, list):
            built["options"] = [float(v) for v in options]
        elif isinstance(options, dict):
            built["options"] = {k: float(v) for k, v in options.items()}
    return built


def _location(file: str, where: tuple[int, int]) -> Location:
    return Location(file, where[0], where[1])
