"""Turn a `State` into YAML text in our format (issue 2), as a person would have written it.

`provisioner export` reads a live store and hands the snapshot here; this module only formats.
It writes flows sorted by slug and fields by `order` (unordered fields last) then slug, and
only the attributes that differ from the API's defaults (the defaults of `model.Field` and
`model.Flow`, which are the API's own, `epcc-api.md` 4.3 and section 0, compared in the
canonical form of `normalize`, as the planner compares), except `name` and `field_type`, which
a reader always wants to see. Validation rules are written exactly as the API holds them (4.5),
key for key. Our desired-only keys (`prune`, `state: absent`, `renamed_from`) are written when
set, so any `State` round-trips, though a live store never sets them.

Emitting is PyYAML's: we never build YAML by hand. What we add is a string representer that
double-quotes every string some YAML reader would take for something else: PyYAML's own YAML
1.1 resolver (`yes`, `on`, `0123`, `null`, `~`, `2017-12-25`, `12:30`, `=`, `<<`), the YAML 1.2
core schema that editors and other tools use (`1e3`, `0o17`), and the YAML 1.1 one-letter
booleans that PyYAML does not resolve but other readers do (`y`, `n`). Syntax-level quoting
(`a: b`, `x #y`, leading `-`, control characters) is the emitter's own analysis.

Pure: no I/O; files are returned as a mapping of file name to text for the caller to write.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from provisioner.custom_api_exporter import custom_apis_document
from provisioner.custom_api_exporter import file_name as custom_api_file_name
from provisioner.gcpause import without_gc
from provisioner.model import (
    FIELD_ATTRIBUTES,
    Field,
    Flow,
    State,
    desired_only_keys,
    ordered,
    plain,
)
from provisioner.normalize import (
    RANGE_KEY_ORDER,
    RULE_KEY_ORDER,
    field_attributes,
    flow_attributes,
)
from provisioner.yamlemit import Emitter

MODELINE_PREFIX = "# yaml-language-server: $schema="
# Where `provisioner schema` output is expected to live in a user's repository (README,
# "export: adopting an existing store"); the command makes it relative to each written file.
DEFAULT_SCHEMA_LOCATION = "schemas/provisioner.schema.json"

# Field attributes in the order a person writes them (the seed's example: name, field_type,
# description, ...), then the rest in `model.FIELD_ATTRIBUTES` order.
_ALWAYS_WRITTEN_FIRST = ("name", "field_type")
_FIELD_KEYS: tuple[str, ...] = (
    *_ALWAYS_WRITTEN_FIRST,
    *(key for key in FIELD_ATTRIBUTES if key not in _ALWAYS_WRITTEN_FIRST),
)
_ALWAYS_WRITTEN: frozenset[str] = frozenset(_ALWAYS_WRITTEN_FIRST)

_STR_TAG = "tag:yaml.org,2002:str"
_RESOLVER = yaml.resolver.Resolver()  # the one `SafeDumper` and `SafeLoader` use
# Line breaks other than "\n": PyYAML's single-quoted and block styles mangle them (a NEL
# comes back as spaces), so such strings go double-quoted, where they are escaped.
_UNSAFE_BREAKS: frozenset[str] = frozenset({"\r", "\x85", "\u2028", "\u2029"})
_YAML_1_1_BOOLS: frozenset[str] = frozenset(
    {"y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO"}
    | {"true", "True", "TRUE", "false", "False", "FALSE", "on", "On", "ON", "off", "Off", "OFF"}
)
# YAML 1.2 core schema (10.3.2): plain scalars that resolve to null, bool, int or float.
_YAML_1_2_NON_STRING = re.compile(
    r"""^(?:
        ~|null|Null|NULL
      | true|True|TRUE|false|False|FALSE
      | [-+]?[0-9]+ | 0o[0-7]+ | 0x[0-9a-fA-F]+
      | [-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?
      | [-+]?\.(?:inf|Inf|INF) | \.nan|\.NaN|\.NAN
    )$""",
    re.VERBOSE,
)


def is_ambiguous(text: str) -> bool:
    """True when some YAML reader would read `text`, written plain, as something but a string."""
    if text == "" or text in _YAML_1_1_BOOLS or _YAML_1_2_NON_STRING.match(text):
        return True
    resolved: str = _RESOLVER.resolve(yaml.ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
    return resolved != _STR_TAG


class _Dumper(yaml.SafeDumper):
    """PyYAML's safe dumper with indented block sequences (`  - item`, as people write them)."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


class _FlowList(list[Any]):
    """A list written in flow style (`[fast, slow]`): enum options read best on one line."""


class _FlowMap(dict[str, Any]):
    """A mapping written in flow style (`{from: 1, to: 5}`): between options."""


def _represent_str(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    if is_ambiguous(text) or _UNSAFE_BREAKS.intersection(text):
        return dumper.represent_scalar(_STR_TAG, text, style='"')
    if "\n" in text:
        # A literal block keeps multi-line descriptions readable; the emitter falls back to a
        # quoted style by itself when the text cannot be a block (trailing spaces, tabs...).
        return dumper.represent_scalar(_STR_TAG, text, style="|")
    return dumper.represent_scalar(_STR_TAG, text)


def _represent_flow_list(dumper: yaml.SafeDumper, items: _FlowList) -> yaml.SequenceNode:
    return dumper.represent_sequence("tag:yaml.org,2002:seq", items, flow_style=True)


def _represent_flow_map(dumper: yaml.SafeDumper, mapping: _FlowMap) -> yaml.MappingNode:
    return dumper.represent_mapping("tag:yaml.org,2002:map", mapping.items(), flow_style=True)


_Dumper.add_representer(str, _represent_str)
_Dumper.add_representer(_FlowList, _represent_flow_list)
_Dumper.add_representer(_FlowMap, _represent_flow_map)


def sorted_fields(fields: Iterable[Field]) -> list[Field]:
    """Fields by `order` (fields without one last), then slug: the order the API returns them."""
    return sorted(fields, key=lambda f: (f.order is None, f.order or 0, f.slug))


def field_document(field: Field) -> dict[str, Any]:
    """The YAML mapping of one field: `name`, `field_type`, and what differs from the default.

    "Differs" is decided on the canonical form (`normalize.field_attributes`), so what the
    planner would call equal to the default is left out (a `default: ""` the API returns is
    null, 4.3 REC); what is written is the value as the store holds it, rules key for key.
    """
    canonical = field_attributes(field)
    baseline = field_attributes(Field(slug=field.slug, field_type=field.field_type))
    values = field.attributes()
    document: dict[str, Any] = {}
    for key in _FIELD_KEYS:
        if key not in _ALWAYS_WRITTEN and _identical(canonical[key], baseline[key]):
            continue
        if key == "validation_rules":
            document[key] = [_rule_document(rule) for rule in values[key]]
        else:
            document[key] = plain(values[key])
    document.update(desired_only_keys(field.renamed_from, field.absent))
    return document


def flow_document(flow: Flow) -> dict[str, Any]:
    """The YAML mapping of one flow: `name`, what differs from the default, then its fields."""
    canonical = flow_attributes(flow)
    baseline = flow_attributes(Flow(slug=flow.slug))
    document: dict[str, Any] = {"name": flow.name}
    for key in ("description", "enabled"):
        if not _identical(canonical[key], baseline[key]):
            document[key] = getattr(flow, key)
    if flow.prune:
        document["prune"] = True
    if flow.absent:
        document["state"] = "absent"
    if flow.fields:
        document["fields"] = {
            field.slug: field_document(field) for field in sorted_fields(flow.fields.values())
        }
    return document


def state_document(state: State) -> dict[str, Any]:
    """The whole YAML document of a state: `{"flows": {...}}`, flows sorted by slug."""
    document: dict[str, Any] = {}
    if state.flows or not state.custom_apis:
        document["flows"] = {slug: flow_document(state.flows[slug]) for slug in sorted(state.flows)}
    if state.custom_apis:  # issue 14
        document["custom_apis"] = custom_apis_document(dict(state.custom_apis))
    return document


def modeline(schema_ref: str) -> str:
    """The editor's schema comment (yaml-language-server) that makes files self-checking."""
    return f"{MODELINE_PREFIX}{schema_ref}\n"


def dump(document: Mapping[str, Any]) -> str:
    """YAML text of a document built by this module: PyYAML's output, our string quoting.

    The simple parts are written by `yamlemit` (the same bytes, a fraction of the CPU); a
    field it cannot write is written by PyYAML in the same place, and a document whose flows
    it cannot write, by PyYAML whole."""
    fast = _fast_dump(document)
    return fast if fast is not None else pyyaml_dump(document)


def pyyaml_dump(document: Mapping[str, Any]) -> str:
    """`dump` through PyYAML's emitter alone (the reference `yamlemit` is tested against)."""
    return yaml.dump(
        document,
        Dumper=_Dumper,
        sort_keys=False,  # our order is deliberate: sorted slugs, attributes as people write them
        allow_unicode=True,
        default_flow_style=False,
        indent=2,
        width=100,
    )


_EMITTER = Emitter(_FlowList, _FlowMap, is_ambiguous)


def _fast_dump(document: Mapping[str, Any]) -> str | None:
    """`{"flows": {...}}` written by `yamlemit`, or None when PyYAML must write it all."""
    flows = document.get("flows")
    if list(document) != ["flows"] or not isinstance(flows, dict) or not flows:
        return None
    lines = ["flows:"]
    for slug, flow in flows.items():
        if not isinstance(flow, dict):
            return None
        head = _EMITTER.entry(slug, {k: v for k, v in flow.items() if k != "fields"}, 2)
        fields = flow.get("fields")
        if head is None or (fields is not None and list(flow)[-1] != "fields"):
            return None
        lines += head
        if fields is None:
            continue
        if not isinstance(fields, dict) or not fields:
            return None
        lines.append("    fields:")
        for field_slug, field in fields.items():
            entry = _EMITTER.entry(field_slug, field, 6) if isinstance(field, dict) else None
            entry = entry or _pyyaml_entry(slug, field_slug, field)
            if entry is None:
                return None
            lines += entry
    return "\n".join(lines) + "\n"


def _pyyaml_entry(flow_slug: str, field_slug: str, field: Any) -> list[str] | None:
    """The lines PyYAML writes for one field of `flow_slug`, in place (6 columns in)."""
    text = pyyaml_dump({"flows": {flow_slug: {"fields": {field_slug: field}}}})
    lines = text.split("\n")
    if lines[:3] != ["flows:", f"  {flow_slug}:", "    fields:"] or lines[-1] != "":
        return None
    if text.endswith("\n...\n"):
        return None  # an open-ended scalar: the document's end marker depends on what follows
    return lines[3:-1]


@without_gc
def export_text(state: State, schema_ref: str | None = None) -> str:
    """One YAML file holding every flow of `state`, with the modeline when `schema_ref` is set."""
    header = modeline(schema_ref) if schema_ref else ""
    return header + dump(state_document(state))


def file_names(flow_slugs: Iterable[str]) -> dict[str, str]:
    """A file name per flow slug (`<slug>.yaml`), unique even on case-insensitive file systems.

    Slugs are `[A-Za-z0-9_-]` plus PXM parentheses (issue 2), all safe in file names; but
    `Customers` and `customers` are two flows and would be one file on macOS or Windows.
    """
    names: dict[str, str] = {}
    taken: set[str] = set()
    for slug in sorted(flow_slugs):
        name = f"{slug}.yaml"
        counter = 2
        while name.casefold() in taken:
            name = f"{slug}-{counter}.yaml"
            counter += 1
        taken.add(name.casefold())
        names[slug] = name
    return names


@without_gc
def export_files(state: State, schema_ref: str | None = None) -> dict[str, str]:
    """One YAML text per flow, keyed by file name (see `file_names`), in slug order."""
    names = file_names(state.flows)
    files = {
        names[slug]: export_text(State(flows={slug: state.flows[slug]}), schema_ref)
        for slug in sorted(state.flows)
    }
    for slug in sorted(state.custom_apis):  # issue 14: one file per Custom API
        only = State(custom_apis={slug: state.custom_apis[slug]})
        files[custom_api_file_name(slug)] = export_text(only, schema_ref)
    return files


def _rule_document(rule: Mapping[str, Any]) -> dict[str, Any]:
    """A validation rule, key for key (4.5), with its options in flow style."""
    document = ordered(plain(rule), RULE_KEY_ORDER)
    options = document.get("options")
    if isinstance(options, list) and _all_scalars(options):
        document["options"] = _FlowList(options)
    elif isinstance(options, dict) and _all_scalars(options.values()):
        document["options"] = _FlowMap(ordered(options, RANGE_KEY_ORDER))
    return document


def _all_scalars(values: Iterable[Any]) -> bool:
    return all(v is None or isinstance(v, str | int | float | bool) for v in values)


def _identical(value: Any, default: Any) -> bool:
    """Equal and of the same type: `0`, `0.0` and `False` are three different defaults."""
    return type(value) is type(default) and bool(value == default)
