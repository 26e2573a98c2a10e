"""Overlays: per-environment YAML that changes the shared schema attribute by attribute.

An overlay is a flows file like any other (README "Environments"). For one environment the
shared files and its overlays are merged:

- a flow the shared files declare, declared again in an overlay, keeps every shared attribute
  the overlay does not write; its `fields` merge the same way: a field declared in both keeps
  the shared attributes the overlay does not write (a value, a list of validation rules, is
  replaced whole: an enum with more options in dev is the whole rule list written again);
- a flow or field only the overlay declares is added (a debug flow that exists in dev only);
- a flow declared in two overlays of one environment is an error, like one declared in two
  shared files.

The merged result is checked as a whole by `config` (the JSON Schema and every API rule), and
each diagnostic names the file and position the offending value came from: the positions of
every file are kept through the merge, each file's lines lifted into their own band
(`_STRIDE`), so whatever position a check picks tells which file it is in.

Pure: reads files, nothing else.
"""

from __future__ import annotations

import copy
import dataclasses
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from provisioner.config import check_documents, find_yaml_files, load_desired
from provisioner.errors import ConfigError, Diagnostic
from provisioner.model import Location, State
from provisioner.yamlload import LoadedDocument, PathKey, load_file

# Lines of file i are moved to (i + 1) * _STRIDE + line while merged (files hold at most
# 1 MiB, so far fewer lines than this); lines below it are a file's own (its load problems).
_STRIDE = 10_000_000


@dataclass(frozen=True)
class Checked:
    """The outcome of checking one environment's files."""

    files: tuple[Path, ...]
    state: State | None
    diagnostics: tuple[Diagnostic, ...]


def load_environment(shared: Sequence[Path], overlays: Sequence[Path]) -> State:
    """The desired `State` of an environment: the shared files with its overlays merged in.

    Raises `ConfigError` with every problem, each naming the file its value came from.
    """
    if not overlays:
        return load_desired(shared)
    checked = check_environment(shared, overlays)
    if checked.state is None:
        raise ConfigError(checked.diagnostics)
    return checked.state


def check_environment(
    shared: Sequence[Path],
    overlays: Sequence[Path],
    cache: dict[Path, LoadedDocument] | None = None,
) -> Checked:
    """Every problem of an environment's merged files, and its `State` when there is none.

    `cache` keeps the loaded files between calls: several environments share their files,
    and each is read and parsed once (the merge never changes a loaded document)."""
    shared_files, shared_missing = find_yaml_files(shared)
    overlay_files, overlay_missing = find_yaml_files(overlays)
    files = tuple(shared_files + overlay_files)
    loaded = {} if cache is None else cache

    def load(file: Path) -> LoadedDocument:
        key = file.resolve()
        if key not in loaded:
            loaded[key] = load_file(file)
        return loaded[key]

    if not overlays:
        state, found = check_documents([(str(f), load(f)) for f in shared_files])
        diagnostics = sorted(set(found) | set(shared_missing))
        return Checked(files, None if diagnostics else state, tuple(diagnostics))
    merge = _Merge([str(f) for f in shared_files], [str(f) for f in overlay_files])
    for index, file in enumerate(files):
        merge.load(index, load(file))
    documents = merge.run()
    state, found = check_documents(documents)
    diagnostics = sorted(
        {merge.decode(d) for d in found}
        | set(merge.problems)
        | set(shared_missing)
        | set(overlay_missing)
    )
    if diagnostics:
        return Checked(files, None, tuple(diagnostics))
    assert state is not None
    return Checked(files, merge.decode_state(state), ())


class _Merge:
    def __init__(self, shared: list[str], overlays: list[str]) -> None:
        self.names = shared + overlays
        self.shared_count = len(shared)
        self.documents: list[LoadedDocument] = []
        self.problems: list[Diagnostic] = []
        self.overrides: list[dict[PathKey, int]] = []
        self._name_patterns = [
            re.compile(re.escape(name) + r":(\d+):(\d+)") for name in sorted(set(self.names))
        ]

    def load(self, index: int, document: LoadedDocument) -> None:
        self.documents.append(document)

    # --- positions ----------------------------------------------------------------------

    def _lift(self, index: int, marks: Mapping[PathKey, tuple[int, int]]) -> dict[PathKey, Any]:
        offset = (index + 1) * _STRIDE
        return {path: (line + offset, column) for path, (line, column) in marks.items()}

    def _decode_position(self, name: str, line: int, column: int) -> tuple[str, int, int]:
        if line >= _STRIDE:
            return self.names[line // _STRIDE - 1], line % _STRIDE, column
        return name, line, column

    def decode(self, diagnostic: Diagnostic) -> Diagnostic:
        name, line, column = self._decode_position(
            diagnostic.file, diagnostic.line, diagnostic.column
        )
        message = diagnostic.message
        for pattern in self._name_patterns:
            message = pattern.sub(self._decode_match, message)
        message += self._overlay_note(name, diagnostic.path)
        return dataclasses.replace(diagnostic, file=name, line=line, column=column, message=message)

    def _overlay_note(self, name: str, dotted: str) -> str:
        """For a problem in a shared file about a flow or field an overlay changed: which
        overlay, and what it sets (the problem may only exist with it applied)."""
        if name not in self.names[: self.shared_count] or not dotted.startswith("flows."):
            return ""
        parts = dotted.split(".")
        scope = tuple(parts[:4] if len(parts) >= 4 and parts[2] == "fields" else parts[:2])
        changed: dict[int, list[str]] = {}
        for path, o in self.overrides[self.names.index(name)].items():
            if tuple(str(p) for p in path[: len(scope)]) == scope:
                changed.setdefault(o, []).append(".".join(str(p) for p in path[len(scope) :]))
        if not changed:
            return ""
        notes = [
            f"{self.names[o]} sets {', '.join(sorted(a or 'all of it' for a in attrs))}"
            for o, attrs in sorted(changed.items())
        ]
        return f" (with the overlay applied: {'; '.join(notes)})"

    def _decode_match(self, match: re.Match[str]) -> str:
        line = int(match[1])
        if line < _STRIDE:
            return match[0]
        name, line, column = self._decode_position("", line, int(match[2]))
        return f"{name}:{line}:{column}"

    def _location(self, location: Location | None) -> Location | None:
        if location is None:
            return None
        name, line, column = self._decode_position(location.file, location.line, location.column)
        return Location(name, line, column)

    def decode_state(self, state: State) -> State:
        flows = {}
        for slug, flow in state.flows.items():
            fields = {
                field_slug: dataclasses.replace(field, location=self._location(field.location))
                for field_slug, field in flow.fields.items()
            }
            flows[slug] = dataclasses.replace(
                flow, fields=fields, location=self._location(flow.location)
            )
        # Issue 14: Custom APIs go through as declared (an overlay may add one; one declared
        # in a shared file and an overlay both is reported as declared twice).
        apis = {
            slug: dataclasses.replace(
                api,
                location=self._location(api.location),
                fields={
                    field_slug: dataclasses.replace(f, location=self._location(f.location))
                    for field_slug, f in api.fields.items()
                },
            )
            for slug, api in state.custom_apis.items()
        }
        return State(flows=flows, custom_apis=apis)

    # --- merging ------------------------------------------------------------------------

    def run(self) -> list[tuple[str, LoadedDocument]]:
        shared = range(self.shared_count)
        data = [copy.deepcopy(self.documents[i].data) for i in shared]
        overrides: list[dict[PathKey, int]] = [{} for _ in shared]  # path -> overlay index
        owner: dict[str, int] = {}  # flow slug -> the shared file declaring it
        for i in shared:
            flows = data[i].get("flows") if isinstance(data[i], dict) else None
            if isinstance(flows, dict):
                for slug in flows:
                    owner.setdefault(slug, i)
        changed_by: dict[str, tuple[int, PathKey]] = {}  # flow slug -> overlay that changed it
        residual: list[tuple[str, LoadedDocument]] = []
        for o in range(self.shared_count, len(self.names)):
            document = self.documents[o]
            if document.problems or document.data is None:
                # Reported as they are; a broken overlay is never merged.
                residual.append(
                    (self.names[o], LoadedDocument(data=None, problems=document.problems))
                )
                continue
            rest = self._overlay(o, document, data, overrides, owner, changed_by)
            if rest is not None:
                residual.append(
                    (
                        self.names[o],
                        LoadedDocument(
                            data=rest,
                            value_marks=self._lift(o, document.value_marks),
                            key_marks=self._lift(o, document.key_marks),
                        ),
                    )
                )
        self.overrides = overrides
        merged = [(self.names[i], self._merged_document(i, data[i], overrides[i])) for i in shared]
        return merged + residual

    def _overlay(
        self,
        o: int,
        document: LoadedDocument,
        data: list[Any],
        overrides: list[dict[PathKey, int]],
        owner: dict[str, int],
        changed_by: dict[str, tuple[int, PathKey]],
    ) -> Any:
        """Merge overlay `o` into the shared data; return what is left for it to declare
        itself (new flows, and anything malformed, which its own checks then report)."""
        raw = document.data
        flows = raw.get("flows") if isinstance(raw, dict) else None
        if not isinstance(flows, dict):
            return raw
        rest: dict[str, Any] = {key: value for key, value in raw.items() if key != "flows"}
        new_flows: dict[str, Any] = {}
        for slug, flow in flows.items():
            path: PathKey = ("flows", slug)
            earlier = changed_by.get(slug)
            if earlier is not None:
                line, column = document.locate(path)
                first_line, first_column = self.documents[earlier[0]].locate(path)
                self.problems.append(
                    Diagnostic(
                        self.names[o],
                        line,
                        column,
                        ".".join(map(str, path)),
                        f"flow `{slug}` is also declared in the overlay "
                        f"{self.names[earlier[0]]}:{first_line}:{first_column}",
                        "each flow in at most one overlay of an environment",
                    )
                )
                continue
            changed_by[slug] = (o, path)
            if slug not in owner:
                new_flows[slug] = flow
                continue
            i = owner[slug]
            target = data[i]["flows"]
            if isinstance(target[slug], dict) and isinstance(flow, dict):
                self._merge_flow(target[slug], flow, path, o, overrides[i])
            else:
                target[slug] = copy.deepcopy(flow)
                overrides[i][path] = o
        if new_flows or rest or not flows:
            rest["flows"] = new_flows
            return rest
        return None

    def _merge_flow(
        self,
        shared: dict[str, Any],
        overlay: dict[str, Any],
        path: PathKey,
        o: int,
        overrides: dict[PathKey, int],
    ) -> None:
        for key, value in overlay.items():
            shared_fields = shared.get("fields")
            if key == "fields" and isinstance(value, dict) and isinstance(shared_fields, dict):
                for slug, field in value.items():
                    field_path: PathKey = (*path, "fields", slug)
                    current = shared_fields.get(slug)
                    if isinstance(current, dict) and isinstance(field, dict):
                        for attribute, attribute_value in field.items():
                            current[attribute] = copy.deepcopy(attribute_value)
                            overrides[(*field_path, attribute)] = o
                    else:
                        shared_fields[slug] = copy.deepcopy(field)
                        overrides[field_path] = o
            else:
                shared[key] = copy.deepcopy(value)
                overrides[(*path, key)] = o

    def _merged_document(self, i: int, data: Any, overrides: dict[PathKey, int]) -> LoadedDocument:
        original = self.documents[i]
        if not overrides:
            return dataclasses.replace(
                original,
                data=data,
                value_marks=self._lift(i, original.value_marks),
                key_marks=self._lift(i, original.key_marks),
            )

        def overridden(path: PathKey) -> int | None:
            for depth in range(len(path), 1, -1):
                found = overrides.get(path[:depth])
                if found is not None:
                    return found
            return None

        marks: list[dict[PathKey, Any]] = []
        for kind in ("value_marks", "key_marks"):
            kept = {
                path: mark
                for path, mark in self._lift(i, getattr(original, kind)).items()
                if overridden(path) is None
            }
            for o in set(overrides.values()):
                lifted = self._lift(o, getattr(self.documents[o], kind))
                kept.update((path, mark) for path, mark in lifted.items() if overridden(path) == o)
            marks.append(kept)
        return dataclasses.replace(original, data=data, value_marks=marks[0], key_marks=marks[1])
