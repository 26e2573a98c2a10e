"""`provisioner convert` (issue 14 item 7): a custom flow's Custom API declaration, with every
construct that has no equivalent listed as a located note."""

from __future__ import annotations

from pathlib import Path

import pytest
from support import Cli

from provisioner.config import load_desired, validate_paths
from provisioner.custom_api_convert import api_slug_for, api_type_for, convert
from provisioner.custom_api_rules import regex_matches
from provisioner.epcc import custom_apis as extension_facts
from provisioner.epcc import flows as facts

FLOW = """\
flows:
  Gift-Lists:
    name: Gift lists
    description: Lists to share
    fields:
      title: {name: Title, field_type: string, required: true, unique: true, order: 1}
      due: {name: Due, field_type: date}
      size: {name: Size, field_type: string, validation_rules: [{type: enum, options: [s, "l+"]}]}
      rank: {name: Rank, field_type: integer, default: 3,
             validation_rules: [{type: between, options: {from: 1, to: 5}}]}
      ratio: {name: Ratio, field_type: float, validation_rules: [{type: enum, options: [0.5, 1]}]}
      contact: {name: Contact, field_type: string, validation_rules: [{type: email}]}
      owner: {name: Owner, field_type: relationship,
              validation_rules: [{type: one-to-one, to: customer}]}
      hidden: {name: Hidden, field_type: boolean, enabled: false, omit_null: true}
"""


def test_convert_maps_types_and_rules_and_notes_the_rest(tmp_path: Path) -> None:
    path = tmp_path / "flows.yaml"
    path.write_text(FLOW, encoding="utf-8")
    conversion = convert(load_desired([path]).flows["Gift-Lists"])
    assert conversion.slug == "gift-lists"
    api = conversion.declaration
    assert api["api_type"] == "gift_lists_ext"
    fields = api["fields"]
    assert "owner" not in fields  # a relationship has no equivalent
    assert fields["title"] == {
        "name": "Title",
        "field_type": "string",
        "presentation": {"sort_order": 1},
        "validation": {"string": {"unique": "yes"}},
    }
    # The date's regex is the flows' fact itself (epcc.flows, 4.4), not a copy of it.
    assert fields["due"]["validation"] == {"string": {"regex": facts.DATE_PATTERN}}
    assert regex_matches(facts.DATE_PATTERN, "2026-12-03 08:00:00")
    assert not regex_matches(facts.DATE_PATTERN, "03/12/2026")
    size_regex = fields["size"]["validation"]["string"]["regex"]
    assert [regex_matches(size_regex, v) for v in ("s", "l+", "xl", "ll+")] == [1, 1, 0, 0]
    assert fields["rank"]["validation"] == {"integer": {"min_value": 1, "max_value": 5}}
    assert "validation" not in fields["ratio"]
    notes = [str(note) for note in conversion.notes]
    expected = [
        "flows.Gift-Lists: the Custom API slug is `gift-lists`",
        "flows.Gift-Lists.fields.title.required: no equivalent",
        "flows.Gift-Lists.fields.rank.default: no equivalent",
        "flows.Gift-Lists.fields.owner.field_type: a relationship has no equivalent",
        "flows.Gift-Lists.fields.ratio.validation_rules.0: enum on a float field",
        "flows.Gift-Lists.fields.hidden.enabled: no equivalent",
        "flows.Gift-Lists.fields.hidden.omit_null: no equivalent",
    ]
    for text in expected:
        assert any(text in note for note in notes), text
    # Located: each note names the file, line and column of what it is about.
    owner = next(note for note in notes if ".owner." in note)
    assert owner.startswith(f"{path}:13:7: ")


def test_rule_regexes_are_the_flows_value_patterns(tmp_path: Path) -> None:
    """`email`, `slug` and `uuid` become the flows' own value patterns (epcc.flows, 4.5, 5.1),
    which the Custom API's RE2 judge reads as the flows' rules do."""
    path = tmp_path / "flows.yaml"
    path.write_text(
        "flows:\n  kinds:\n    name: Kinds\n    description: d\n    fields:\n"
        + "".join(
            f"      {kind}: {{name: {kind}, field_type: string, "
            f"validation_rules: [{{type: {kind}}}]}}\n"
            for kind in ("email", "slug", "uuid")
        ),
        encoding="utf-8",
    )
    fields = convert(load_desired([path]).flows["kinds"]).declaration["fields"]
    regexes = {slug: field["validation"]["string"]["regex"] for slug, field in fields.items()}
    assert regexes == {
        "email": facts.EMAIL_PATTERN,
        "slug": facts.SLUG_VALUE_PATTERN,
        "uuid": facts.UUID_PATTERN,
    }
    assert regex_matches(regexes["uuid"], "8f6a0c1e-2b3d-4e5f-8a9b-0c1d2e3f4a5b")
    assert not regex_matches(regexes["uuid"], "{8f6a0c1e-2b3d-4e5f-8a9b-0c1d2e3f4a5b}")
    assert regex_matches(regexes["email"], "a@b.co")
    assert not regex_matches(regexes["slug"], "a b")


def test_the_cli_writes_a_file_that_validates(cli: Cli, tmp_path: Path) -> None:
    flows = tmp_path / "flows.yaml"
    flows.write_text(FLOW, encoding="utf-8")
    out = tmp_path / "gift-lists.yaml"
    result = cli("convert", "Gift-Lists", flows, "-o", out)
    assert result.code == 0, result.err
    assert "note: " in result.err
    assert validate_paths([out]) == []
    assert set(load_desired([out]).custom_apis) == {"gift-lists"}
    again = cli("convert", "Gift-Lists", flows, "-o", out)
    assert again.code == 1  # never over an existing file without --force
    core = cli("convert", "customers", Path(__file__).parent.parent / "examples")
    assert core.code == 1
    assert "core flow" in core.err


def test_a_long_hyphenated_slug_converts_to_a_slug_and_type_validate_accepts(
    cli: Cli, tmp_path: Path
) -> None:
    """A flow slug longer than a Custom API slug may be (10) is cut to the facts' lengths: the
    slug keeps its hyphens, the api_type turns them into `_`; `validate` accepts the file."""
    long_slug = "Gift-Lists-" * 7  # 77 characters, upper case and hyphens
    flows = tmp_path / "flows.yaml"
    flows.write_text(FLOW.replace("Gift-Lists:", f"{long_slug}:"), encoding="utf-8")
    out = tmp_path / "long.yaml"
    result = cli("convert", long_slug, flows, "-o", out)
    assert result.code == 0, result.err
    assert validate_paths([out]) == []
    [(slug, api)] = load_desired([out]).custom_apis.items()
    assert slug == long_slug.lower()[: extension_facts.API_SLUG_LENGTH[1]]
    assert len(slug) == extension_facts.API_SLUG_LENGTH[1]
    assert "-" in slug
    stem = extension_facts.API_TYPE_STEM_LENGTH[1]
    assert api.api_type == slug.replace("-", "_")[:stem] + extension_facts.API_TYPE_SUFFIX


def test_convert_follows_the_facts(monkeypatch: pytest.MonkeyPatch) -> None:
    """The alphabets and lengths are read from `epcc.custom_apis`: a fact changed is a
    conversion changed."""
    assert api_slug_for("Gift-Lists.2024") == "gift-lists_2024"
    assert api_type_for("gift-lists_2024") == "gift_lists_2024_ext"
    monkeypatch.setattr(extension_facts, "API_SLUG_CHARACTERS", "a-z")
    monkeypatch.setattr(extension_facts, "API_SLUG_LENGTH", (1, 8))
    monkeypatch.setattr(extension_facts, "API_TYPE_STEM_LENGTH", (1, 4))
    monkeypatch.setattr(extension_facts, "API_TYPE_SUFFIX", "_x")
    assert api_slug_for("Gift-Lists.2024") == "gift_lis"
    assert api_type_for("gift-lists") == "gift_x"


def test_the_cli_writes_through_the_shared_writer(cli: Cli, tmp_path: Path) -> None:
    """A missing directory is made (as `export -o` and `plan --out` do); a path that cannot be
    written is one line naming it, exit 1, no traceback."""
    flows = tmp_path / "flows.yaml"
    flows.write_text(FLOW, encoding="utf-8")
    nested = tmp_path / "missingdir" / "ev.yaml"
    made = cli("convert", "Gift-Lists", flows, "-o", nested)
    assert made.code == 0, made.err
    assert set(load_desired([nested]).custom_apis) == {"gift-lists"}
    blocker = tmp_path / "plain-file"
    blocker.write_text("", encoding="utf-8")
    refused = cli("convert", "Gift-Lists", flows, "-o", blocker / "ev.yaml")
    assert refused.code == 1
    assert "Traceback" not in refused.err
    assert f"{blocker / 'ev.yaml'}: {blocker} is not a directory" in refused.err
    assert not (blocker / "ev.yaml").exists()
    kept = cli("convert", "Gift-Lists", flows, "-o", nested)
    assert kept.code == 1
    assert "--force" in kept.err
