"""The planner's part for Custom APIs (issue 14): operations, safety classes, fingerprints.

`plan_custom_apis(desired, live)` is called by `planner.plan` when the files declare Custom
APIs; flows are planned as before. Custom APIs match by slug, compared in canonical form
(`custom_api_model`). Decisions:

- an API not live is created with all its fields;
- a change of `api_type` (set at creation only, 10) is a replace: delete + create,
  destructive (the API's entries are lost);
- `renamed_from` naming a live slug the files no longer declare renames the API: one PUT
  keeps its ID, fields and entries;
- `state: absent` deletes (an API with its fields and entries; the command adds the number
  of entries it holds to the reason).

Pure: no I/O. Split by job: the checks that refuse a plan before anything is written are
`custom_api_planchecks.py`; the fields' operations `custom_api_field_planner.py`.
"""

from __future__ import annotations

from provisioner.attrdiff import attribute_changes  # the flows' diff, one implementation
from provisioner.custom_api_field_planner import create_field, plan_fields
from provisioner.custom_api_fingerprints import api_fingerprint, fields_fingerprint
from provisioner.custom_api_model import (
    API_ATTRIBUTES,
    CustomApi,
    api_attributes,
    continued_slugs,
    renamed_view,
)
from provisioner.custom_api_planchecks import (
    check_api_types,
    check_parent_graph,
    check_parents,
    check_rename_targets,
    check_renames,
    children_kept,
    children_listed,
    located,
)
from provisioner.errors import PlanError
from provisioner.keys import custom_api_key, custom_fields_key
from provisioner.model import State
from provisioner.plan import AttributeChange, Operation, OpKind, PlanParts, Safety

__all__ = ["plan_custom_apis"]


# -- planning ---------------------------------------------------------------------------------


def plan_custom_apis(desired: State, live: State) -> PlanParts:
    """The operations for the declared Custom APIs (unordered: the planner orders them)."""
    check_rename_targets(desired, live)
    renames = continued_slugs(desired.custom_apis, live.custom_apis)
    check_renames(desired, live, renames)
    # Compared as the plan leaves them: a renamed API under its new slug (parents too).
    live = State(flows=live.flows, custom_apis=renamed_view(live.custom_apis, renames))
    check_parents(desired, live, renames)
    check_parent_graph(desired, live)
    check_api_types(desired, live)
    out = PlanParts()
    for slug, api in sorted(desired.custom_apis.items()):
        live_api = live.custom_apis.get(slug)
        if api.absent:
            if live_api is not None:
                _delete_api(out, live_api, desired, live)
        elif live_api is None:
            _create_api(out, api, live, OpKind.CREATE_CUSTOM_API)
        elif api.api_type != live_api.api_type:
            _replace_api(out, api, live_api, desired, live)
        else:
            _update_api(out, api, live_api, live, renames.get(slug))
            plan_fields(out, api, live_api)
    return out


def _parent_ids(api: CustomApi, live: State) -> dict[str, str]:
    ids = {}
    for parent in api.parent_apis:
        found = live.custom_apis.get(parent)
        if found is not None and found.id is not None:
            ids[parent] = found.id
    return ids


def _create_api(out: PlanParts, api: CustomApi, live: State, kind: OpKind) -> None:
    if kind is OpKind.CREATE_CUSTOM_API:
        out.add(
            Operation(kind, api.slug, after=api_attributes(api), parent_ids=_parent_ids(api, live)),
            absent=[custom_api_key(api.slug)],
        )
    for custom_field in sorted(api.fields.values(), key=lambda f: f.slug):
        if not custom_field.absent:
            create_field(out, api.slug, custom_field, None, new_api=True)


def _delete_api(out: PlanParts, live_api: CustomApi, desired: State, live: State) -> None:
    children = children_kept(live_api.slug, desired, live)
    if children:
        declared = desired.custom_apis[live_api.slug]
        raise PlanError(
            f"{located(declared, 'state')}: Custom API {live_api.slug} is marked `state: "
            "absent`, but it is the parent of "
            + ", ".join(children)
            + " (the store refuses to delete a parent). Remove it from their parent_apis "
            "first, or delete them too:" + children_listed(children, desired)
        )
    count = len(live_api.fields)
    out.add(
        Operation(
            OpKind.DELETE_CUSTOM_API,
            live_api.slug,
            id=live_api.id,
            before=api_attributes(live_api),
            safety=Safety.DESTRUCTIVE,
            reasons=(
                f"the Custom API, its {count} field{'s' if count != 1 else ''} and its entries "
                "are deleted (state: absent)",
            ),
        ),
        touched={
            custom_api_key(live_api.slug): api_fingerprint(live_api),
            custom_fields_key(live_api.slug): fields_fingerprint(live_api),
        },
    )


def _replace_api(
    out: PlanParts, api: CustomApi, live_api: CustomApi, desired: State, live: State
) -> None:
    children = children_kept(api.slug, desired, live)
    if children:
        raise PlanError(
            f"{located(api, 'api_type')}: Custom API {api.slug}: api_type changes "
            f"{live_api.api_type} -> {api.api_type}, which replaces it (set at creation only), "
            "but it is the parent of "
            + ", ".join(children)
            + ". Remove it from their parent_apis first, or keep its api_type:"
            + children_listed(children, desired)
        )
    before, after = api_attributes(live_api), api_attributes(api)
    out.add(
        Operation(
            OpKind.REPLACE_CUSTOM_API,
            api.slug,
            id=live_api.id,
            before=before,
            after=after,
            changes=attribute_changes(before, after, API_ATTRIBUTES),
            safety=Safety.DESTRUCTIVE,
            reasons=(
                f"api_type changes {live_api.api_type} -> {api.api_type} (set at creation "
                "only): the Custom API is deleted and created again with its fields, its "
                "entries are lost",
            ),
            parent_ids=_parent_ids(api, live),
        ),
        touched={
            custom_api_key(api.slug): api_fingerprint(live_api),
            custom_fields_key(api.slug): fields_fingerprint(live_api),
        },
    )
    _create_api(out, api, live, OpKind.REPLACE_CUSTOM_API)


def _update_api(
    out: PlanParts, api: CustomApi, live_api: CustomApi, live: State, renamed_from: str | None
) -> None:
    before, after = api_attributes(live_api), api_attributes(api)
    changes = attribute_changes(before, after, API_ATTRIBUTES)
    if renamed_from is not None:
        changes = (AttributeChange("slug", renamed_from, api.slug), *changes)
    if not changes:
        return
    reasons = []
    if renamed_from is not None:
        reasons.append(
            f"renamed from {renamed_from}: its entries move to /v2/extensions/{api.slug} "
            f"(clients using /v2/extensions/{renamed_from} lose them); its fields and entries "
            "are kept"
        )
    if before["allow_upserts"] and not after["allow_upserts"]:
        reasons.append("allow_upserts turns off: a PUT of an entry that does not exist fails")
    if before["parent_apis"] != after["parent_apis"]:
        reasons.append("parent_apis change: the places the API's entries are reached from")
    out.add(
        Operation(
            OpKind.RENAME_CUSTOM_API if renamed_from is not None else OpKind.UPDATE_CUSTOM_API,
            api.slug,
            id=live_api.id,
            before=before,
            after=after,
            changes=changes,
            safety=Safety.RISKY if reasons else Safety.SAFE,
            reasons=tuple(reasons),
            parent_ids=_parent_ids(api, live),
            from_slug=renamed_from,
        ),
        touched={custom_api_key(api.slug): api_fingerprint(live_api)},
    )
