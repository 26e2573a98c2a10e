"""Plan views: text (colour only on request), JSON, Markdown (a pull-request comment)."""

from __future__ import annotations

import json
import re

from provisioner.plan import AttributeChange, Operation, OpKind, Plan, Safety
from provisioner.views.json import render_json
from provisioner.views.markdown import render_markdown
from provisioner.views.text import render_text

ANSI = re.compile(r"\033\[[0-9;]*m")


def sample_plan() -> Plan:
    return Plan(
        operations=(
            Operation(
                OpKind.CREATE_FLOW,
                "wishlists",
                after={"name": "Wishlists", "description": "", "enabled": True},
            ),
            Operation(
                OpKind.CREATE_FIELD,
                "wishlists",
                "title",
                after={
                    "name": "Title",
                    "description": "",
                    "field_type": "string",
                    "required": True,
                    "unique": False,
                    "default": None,
                    "enabled": True,
                    "order": None,
                    "omit_null": False,
                    "validation_rules": [],
                },
            ),
            Operation(
                OpKind.UPDATE_FIELD,
                "customers",
                "speed",
                id="f1",
                flow_id="c1",
                before={"validation_rules": [{"type": "enum", "options": ["fast", "slow"]}]},
                after={"validation_rules": [{"type": "enum", "options": ["fast"]}]},
                changes=(
                    AttributeChange("validation_rules[0].options", ["fast", "slow"], ["fast"]),
                ),
                safety=Safety.RISKY,
                reasons=("enum loses options: slow",),
            ),
            Operation(
                OpKind.RENAME_FIELD,
                "customers",
                "notes",
                id="f2",
                before={"name": "Notes"},
                after={"name": "Notes"},
                changes=(AttributeChange("slug", "note", "notes"),),
                safety=Safety.RISKY,
                reasons=("renamed from note: clients reading the old key lose it",),
                from_slug="note",
            ),
            Operation(
                OpKind.REPLACE_FIELD,
                "customers",
                "age",
                id="f3",
                flow_id="c1",
                before={"name": "Age", "field_type": "string"},
                after={"name": "Age", "field_type": "integer"},
                changes=(AttributeChange("field_type", "string", "integer"),),
                safety=Safety.DESTRUCTIVE,
                reasons=("field_type changes string -> integer",),
            ),
            Operation(
                OpKind.DELETE_FIELD,
                "customers",
                "pipe",
                id="f4",
                safety=Safety.DESTRUCTIVE,
                reasons=("the field and its data are deleted (a|b `quoted`)",),
            ),
        ),
        unmanaged=("field:customers.legacy",),
    )


def test_text_shows_symbols_changes_reasons_unmanaged_and_summary() -> None:
    text = render_text(sample_plan())
    assert not ANSI.search(text)
    assert text.endswith("Plan: 2 to create, 2 to update, 1 to replace, 1 to delete.\n")
    blocks = text.split("\n\n")
    assert blocks[0].startswith("flow customers (core):\n")
    assert blocks[1].startswith("flow wishlists:\n")
    assert (
        "  ~ update field customers.speed  [risky]\n"
        '      validation_rules[0].options: ["fast", "slow"] -> ["fast"]\n'
        "      # enum loses options: slow\n"
    ) in text
    assert "  ~> rename field customers.note -> customers.notes  [risky]" in text
    assert (
        '  -/+ replace field customers.age  [destructive]\n      field_type: "string" -> "integer"'
        in text
    )
    assert "  - delete field customers.pipe  [destructive]" in text
    assert "  unmanaged customers.legacy (not in the configuration, left alone)" in text
    # a create shows name and type always, other attributes only when not the API default
    assert (
        "  + create field wishlists.title  [safe]\n"
        '      name: "Title"\n'
        '      field_type: "string"\n'
        "      required: true\n"
    ) in text
    assert "unique" not in text


def test_text_colours_only_when_asked() -> None:
    coloured = render_text(sample_plan(), color=True)
    assert "\033[32m  + create flow wishlists\033[0m" in coloured
    assert "\033[1;31m[destructive]\033[0m" in coloured
    assert ANSI.sub("", coloured) == render_text(sample_plan())


def test_empty_plan() -> None:
    assert render_text(Plan()) == "No changes. The store matches the configuration.\n"
    only_unmanaged = Plan(unmanaged=("field:customers.x",))
    assert render_text(only_unmanaged).startswith("flow customers (core):\n  unmanaged customers.x")
    markdown = render_markdown(Plan())
    assert "No changes" in markdown
    assert "[!CAUTION]" not in markdown
    assert "[!WARNING]" not in markdown


def test_json_view_is_the_plan_format() -> None:
    plan = sample_plan()
    text = render_json(plan)
    data = json.loads(text)
    assert data["format_version"] == 1
    assert data["summary"] == {"create": 2, "update": 2, "replace": 1, "delete": 1}
    assert Plan.from_json(text) == plan


def test_markdown_calls_out_destructive_changes_first() -> None:
    markdown = render_markdown(sample_plan())
    lines = markdown.splitlines()
    assert lines[0] == "### provisioner plan"
    assert lines[2] == "**Plan: 2 to create, 2 to update, 1 to replace, 1 to delete.**"
    caution = markdown.index("> [!CAUTION]")
    warning = markdown.index("> [!WARNING]")
    first_section = markdown.index("#### flow")
    assert caution < warning < first_section
    assert "> **2 destructive operations: data is lost.**" in markdown
    assert (
        "> - `-/+` replace field `customers.age`: field_type changes string -> integer" in markdown
    )
    assert "> **2 risky operations:**" in markdown


def test_markdown_tables_escape_pipes_and_backticks() -> None:
    markdown = render_markdown(sample_plan())
    row = next(line for line in markdown.splitlines() if line.startswith("| `-` |"))
    assert row.count(" | ") == 4  # five cells, the `|` inside the reason is escaped
    assert "*the field and its data are deleted (a\\|b `quoted`)*" in row
    assert "#### flow `customers` (core)" in markdown
    assert "Unmanaged (not in the configuration, left alone): `customers.legacy`" in markdown
    assert '`validation_rules[0].options`: `["fast", "slow"]` → `["fast"]`' in markdown


def test_markdown_code_spans_survive_backticks_in_values() -> None:
    plan = Plan(
        operations=(
            Operation(
                OpKind.UPDATE_FLOW,
                "wishlists",
                id="w1",
                changes=(AttributeChange("name", "a`b", "c"),),
            ),
        )
    )
    assert '`name`: ``"a`b"`` → `"c"`' in render_markdown(plan)


def test_markdown_reasons_cannot_inject_markup() -> None:
    # Reasons quote values from the YAML (enum options); a pull-request comment must show them
    # as text: no new lines (a fake alert or heading), no HTML, links or emphasis.
    reason = "enum loses options: a\n> [!NOTE]\n> all safe, *x*, <b>, [y](http://z), \\"
    plan = Plan(
        operations=(
            Operation(OpKind.UPDATE_FIELD, "notes", "t", safety=Safety.RISKY, reasons=(reason,)),
        )
    )
    markdown = render_markdown(plan)
    assert "[!NOTE]" not in markdown.replace("\\[!NOTE\\]", "")
    escaped = (
        "enum loses options: a > \\[!NOTE\\] > all safe, \\*x\\*, &lt;b>, \\[y\\](http://z), \\\\"
    )
    assert f"> - `~` update field `notes.t`: {escaped}" in markdown.splitlines()
    assert f"*{escaped}*" in markdown


def test_text_reasons_stay_on_their_line_and_hold_no_control_characters() -> None:
    # A YAML value quoted in a reason must not fake a line of output or drive the terminal.
    reason = (
        "enum loses options: a\nPlan: 0 to create, 0 to update, 0 to replace, 0 to delete.\x1b[2J"
    )
    plan = Plan(
        operations=(
            Operation(OpKind.UPDATE_FIELD, "notes", "t", safety=Safety.RISKY, reasons=(reason,)),
        )
    )
    text = render_text(plan)
    assert "\x1b" not in text
    assert (
        "      # enum loses options: a\\nPlan: 0 to create, 0 to update, 0 to replace, "
        "0 to delete.\\x1b[2J\n"
    ) in text


def test_many_unmanaged_fields_take_one_line() -> None:
    few = Plan(unmanaged=tuple(f"field:things.f{n}" for n in range(5)))
    assert render_text(few).count("unmanaged things.") == 5
    many = Plan(unmanaged=tuple(f"field:things.f{n:03}" for n in range(100)))
    text = render_text(many)
    assert (
        "  unmanaged: 100 fields not in the configuration, left alone: things.f000, "
        "things.f001, things.f002, things.f003, things.f004 and 95 more\n"
    ) in text
    markdown = render_markdown(many)
    assert "`things.f019` and 80 more" in markdown
    assert "things.f020" not in markdown
