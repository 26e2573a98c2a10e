"""The checks around a Custom API plan (issue 14 and its follow-ups): what `validate` cannot
know, since it needs the store's Custom APIs, refused before anything is written.

- `renamed_from` needs a free slug (`check_rename_targets`) and keeps the api_type
  (`check_renames`);
- parents are declared or in the store, and named by their new slug through a rename
  (`check_parents`); once the declared parents meet the live ones, depth at most 2 and no
  cycle (`check_parent_graph`);
- an `api_type` a plan creates is not another live Custom API's (`check_api_types`);
- a parent is not deleted or replaced while a child still names it (`children_kept`);
- `use_as_url_slug` only while a Custom API holds no entries (`check_url_slug_entries`, run
  by the command once it has read the counts).

Each raises one `PlanError` listing every problem, located in the files (`located`). Pure: no
I/O.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from provisioner.custom_api_model import CustomApi
from provisioner.epcc import custom_apis as facts
from provisioner.errors import PlanError
from provisioner.model import State
from provisioner.plan import Plan

__all__ = [
    "check_api_types",
    "check_parent_graph",
    "check_parents",
    "check_rename_targets",
    "check_renames",
    "check_url_slug_entries",
    "children_kept",
    "children_listed",
    "located",
]


def located(api: CustomApi, *path: str) -> str:
    """`FILE:LINE: custom_apis.SLUG.PATH`, where the files declare it (the path alone when the
    API has no location)."""
    dotted = ".".join(("custom_apis", api.slug, *path))
    return f"{api.location}: {dotted}" if api.location is not None else dotted


def check_rename_targets(desired: State, live: State) -> None:
    """`renamed_from` naming a live Custom API the files no longer declare, while the new slug
    is held by another live Custom API: the rename cannot happen (a slug is unique), so say
    that, instead of planning the declared API as if `renamed_from` were not there."""
    problems = []
    for slug, api in sorted(desired.custom_apis.items()):
        holder = live.custom_apis.get(slug)
        if api.absent or holder is None:
            continue
        for old in api.renamed_from:
            declared = desired.custom_apis.get(old)
            if old in live.custom_apis and (declared is None or declared.absent):
                problems.append(
                    f"{located(api, 'renamed_from')}: cannot rename `{old}` to `{slug}`: the slug "
                    f"`{slug}` is taken by the live Custom API `{slug}` (api_type "
                    f"`{holder.api_type}`); rename or delete that one first (declare it under "
                    f"another slug, or `state: absent`), or drop `{old}` from renamed_from"
                )
    if problems:
        raise PlanError(
            "a rename needs a free slug, nothing was written:\n  " + "\n  ".join(problems)
        )


def check_renames(desired: State, live: State, renames: Mapping[str, str]) -> None:
    """A renamed Custom API keeps its api_type (set at creation only)."""
    problems = [
        f"{located(desired.custom_apis[new], 'renamed_from')}: `{old}` has api_type "
        f"`{live.custom_apis[old].api_type}`, not `{desired.custom_apis[new].api_type}`"
        for new, old in sorted(renames.items())
        if live.custom_apis[old].api_type != desired.custom_apis[new].api_type
    ]
    if problems:
        raise PlanError(
            "a Custom API keeps its api_type through a rename (set at creation only); rename "
            "it first, then change the api_type (a replace):\n  " + "\n  ".join(problems)
        )


def check_parents(desired: State, live: State, renames: Mapping[str, str]) -> None:
    """Refuse parents that neither the files nor the store hold (validate could not know),
    located at the child's `parent_apis`. A parent named by the slug it is being renamed from
    is refused with the new slug to name: the store links a child to its parent by ID
    (section 10), so the link survives the rename, but the files would name a slug that no
    longer exists."""
    renamed_to = {old: new for new, old in renames.items()}
    missing, renamed = [], []
    for _slug, api in sorted(desired.custom_apis.items()):
        if api.absent:
            continue
        for parent in api.parent_apis:
            if (
                parent == facts.API_LOCATION_ID
                or parent in desired.custom_apis
                or parent in live.custom_apis
            ):
                continue
            if parent in renamed_to:
                new = renamed_to[parent]
                renamed.append(
                    f"{located(api, 'parent_apis')}: `{parent}` is being renamed to `{new}` "
                    f"(custom_apis.{new}.renamed_from); name `{new}` here (the store links "
                    "parents by ID, so the link is kept through the rename)"
                )
            else:
                missing.append(
                    f"{located(api, 'parent_apis')}: `{parent}` is neither declared in the files "
                    "nor a Custom API in the store"
                )
    if renamed:
        raise PlanError(
            "parent_apis name a Custom API by the slug it is renamed from, nothing was "
            "written:\n  " + "\n  ".join(renamed + missing)
        )
    if missing:
        raise PlanError(
            "parent Custom APIs that are neither declared in the files nor in the store, "
            "nothing was written:\n  "
            + "\n  ".join(missing)
            + "\nDeclare them, or name a Custom API that exists."
        )


def _final_parents(desired: State, live: State) -> dict[str, list[str]]:
    """Every Custom API after the plan (declared ones as declared, live ones the files do not
    declare as they are; absent ones gone) -> its parent Custom APIs."""
    graph: dict[str, list[str]] = {
        slug: [p for p in api.parent_apis if p != facts.API_LOCATION_ID]
        for slug, api in live.custom_apis.items()
        if slug not in desired.custom_apis
    }
    for slug, api in desired.custom_apis.items():
        if not api.absent:
            graph[slug] = [p for p in api.parent_apis if p != facts.API_LOCATION_ID]
    return graph


def check_parent_graph(desired: State, live: State) -> None:
    """Depth at most 2 and no cycle once the declared parents meet the live ones (SPEC
    CustomAPIRelationships): validate checks the files alone; the store would refuse the
    write half-way through an apply (issue 14 follow-up B)."""
    from provisioner import custom_api_rules as rules

    graph = _final_parents(desired, live)
    before = {
        (slug, violation.code)
        for slug, violation in rules.parent_graph_violations(
            {
                s: [p for p in a.parent_apis if p != facts.API_LOCATION_ID]
                for s, a in live.custom_apis.items()
            }
        )
    }
    problems = []
    for slug, violation in rules.parent_graph_violations(graph):
        if violation.code == "parent_missing" or (slug, violation.code) in before:
            continue  # missing parents: check_parents; a live graph as it was: not ours
        chain = " -> ".join(_chain(graph, slug))
        declared = desired.custom_apis.get(slug)
        if declared is not None:
            where = located(declared, "parent_apis")
        else:
            where = f"Custom API {slug} (live, not in the files)"
        problems.append(
            f"{where}: {violation.what} with the store's Custom APIs ({chain}; expected "
            f"{violation.expected})"
        )
    if problems:
        raise PlanError(
            "parent_apis would break the store's rules (depth at most "
            f"{facts.MAX_PARENT_DEPTH}, no cycle), nothing was written:\n  " + "\n  ".join(problems)
        )


def _chain(graph: Mapping[str, Sequence[str]], slug: str) -> list[str]:
    """`slug` and its deepest line of parents (a cycle shown once round)."""
    chain, seen = [slug], {slug}
    current = slug
    while True:
        parents = [p for p in graph.get(current, ()) if p in graph]
        if not parents:
            return chain
        nxt = max(parents, key=lambda p: (p in seen, _height(graph, p, frozenset({current}))))
        chain.append(nxt)
        if nxt in seen:
            return chain
        seen.add(nxt)
        current = nxt


def _height(graph: Mapping[str, Sequence[str]], slug: str, trail: frozenset[str]) -> int:
    if slug in trail:
        return 99
    return 1 + max(
        (_height(graph, p, trail | {slug}) for p in graph.get(slug, ()) if p in graph),
        default=0,
    )


def check_api_types(desired: State, live: State) -> None:
    """An `api_type` a plan creates must not belong to another live Custom API (unique in a
    store, 409), unless this plan deletes or replaces that API first (issue 14 follow-up C)."""
    freed = {
        slug
        for slug, api in desired.custom_apis.items()
        if slug in live.custom_apis
        and (api.absent or api.api_type != live.custom_apis[slug].api_type)
    }
    holders = {api.api_type: slug for slug, api in live.custom_apis.items()}
    problems = []
    for slug, api in sorted(desired.custom_apis.items()):
        live_api = live.custom_apis.get(slug)
        if api.absent or (live_api is not None and live_api.api_type == api.api_type):
            continue
        holder = holders.get(api.api_type)
        if holder is None or holder == slug or holder in freed:
            continue
        if holder in desired.custom_apis:
            how = "declared in these files with it too"
        else:
            how = (
                "not in these files; if this is that API under a new slug, say "
                f"`renamed_from: [{holder}]` (a rename keeps its entries)"
            )
        problems.append(
            f"{located(api, 'api_type')}: `{api.api_type}` is already the api_type of the live "
            f"Custom API `{holder}` ({how})"
        )
    if problems:
        raise PlanError(
            "api_type must be unique in a store, nothing was written:\n  " + "\n  ".join(problems)
        )


def children_kept(slug: str, desired: State, live: State) -> list[str]:
    """The Custom APIs that still name `slug` as a parent after the plan: the store refuses
    to delete a parent (409)."""
    return sorted(
        child
        for child, parents in _final_parents(desired, live).items()
        if child != slug and slug in parents
    )


def children_listed(children: Sequence[str], desired: State) -> str:
    """Each child where it names the parent: its `parent_apis` in the files, else live."""
    lines = []
    for child in children:
        declared = desired.custom_apis.get(child)
        if declared is not None:
            lines.append(f"{located(declared, 'parent_apis')}: names it as a parent")
        else:
            lines.append(f"Custom API {child} (live, not in the files) names it as a parent")
    return "\n  " + "\n  ".join(lines)


def check_url_slug_entries(
    plan: Plan, counts: Mapping[str, int], desired: State | None = None
) -> None:
    """SPEC use_as_url_slug: "no entries have been created yet". Creating (or re-creating) a
    field with it in a Custom API that holds entries fails in the store, after a replace has
    deleted the old field: refused while planning (issue 14 follow-up A)."""
    problems = []
    for op in plan.operations:
        if op.flow_slug not in plan.url_slug_custom_apis or op.field_slug is None:
            continue
        if not (op.after or {}).get("use_as_url_slug") or not counts.get(op.flow_slug):
            continue
        count = counts[op.flow_slug]
        api = None if desired is None else desired.custom_apis.get(op.flow_slug)
        declared = None if api is None else api.fields.get(op.field_slug)
        path = f"custom_apis.{op.flow_slug}.fields.{op.field_slug}.use_as_url_slug"
        where = (
            path
            if declared is None or declared.location is None
            else (f"{declared.location}: {path}")
        )
        problems.append(
            f"{where}: Custom API {op.flow_slug} holds {count} entr"
            f"{'y' if count == 1 else 'ies'} ({op.describe()})"
        )
    if problems:
        raise PlanError(
            "use_as_url_slug can be set only while a Custom API holds no entries (section "
            "10), so the store would refuse this field after the plan started; nothing was "
            "written:\n  "
            + "\n  ".join(problems)
            + "\nDeclare the field without use_as_url_slug, or delete the entries first."
        )
