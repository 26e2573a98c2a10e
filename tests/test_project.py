"""The project file `provisioner.toml`: every key checked, every problem located (issue 13.1)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from provisioner.project import (
    PROJECT_FILE,
    ProjectError,
    check_project,
    find_project,
    key_positions,
    load_project,
    schema_text,
)

ISSUE_EXAMPLE = """\
paths = ["flows/"]                      # the schema every environment shares

[environments.dev]                      # no base_url: an embedded local store,
                                        # .provisioner/dev.sqlite
[environments.staging]
base_url = "https://useast.api.elasticpath.com"
client_id_env = "STAGING_EPCC_CLIENT_ID"          # names of variables, never secrets
client_secret_env = "STAGING_EPCC_CLIENT_SECRET"
rate_limit = 25
overlays = ["envs/staging/"]            # per-environment differences (item 2)

[environments.production]
base_url = "https://useast.api.elasticpath.com"
client_id_env = "PROD_EPCC_CLIENT_ID"
client_secret_env = "PROD_EPCC_CLIENT_SECRET"
after = ["staging"]                     # promotion order (item 4)
"""


@pytest.fixture
def root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "flows").mkdir()
    (tmp_path / "flows" / "a.yaml").write_text("flows: {}\n")
    (tmp_path / "envs" / "staging").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def problems(root: Path, text: str) -> list[str]:
    (root / PROJECT_FILE).write_text(text, encoding="utf-8")
    project, diagnostics = check_project(root / PROJECT_FILE)
    assert (project is None) == bool(diagnostics)
    return [str(d) for d in diagnostics]


def test_the_issue_example_loads(root: Path) -> None:
    (root / PROJECT_FILE).write_text(ISSUE_EXAMPLE)
    project = load_project(root / PROJECT_FILE)
    assert project.paths == (Path("flows"),)
    assert list(project.environments) == ["dev", "staging", "production"]
    dev, staging, production = project.environments.values()
    assert dev.embedded
    assert dev.db == Path(".provisioner/dev.sqlite")
    assert staging.base_url == "https://useast.api.elasticpath.com"
    assert staging.client_id_env == "STAGING_EPCC_CLIENT_ID"
    assert staging.rate_limit == 25.0
    assert staging.overlays == (Path("envs/staging"),)
    assert production.after == ("staging",)
    assert project.order() == ["dev", "staging", "production"]


def test_paths_are_relative_to_the_project_file(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (root / PROJECT_FILE).write_text('paths = ["flows/"]\n[environments.dev]\n')
    (root / "sub").mkdir()
    monkeypatch.chdir(root / "sub")
    found = find_project()
    assert found == root / PROJECT_FILE
    project = load_project(found)
    assert project.paths[0].resolve() == (root / "flows").resolve()
    assert project.environments["dev"].db.resolve() == (root / ".provisioner/dev.sqlite").resolve()


def test_no_project_file_anywhere_up(tmp_path: Path) -> None:
    (tmp_path / "deep" / "er").mkdir(parents=True)
    assert find_project(tmp_path / "deep" / "er") is None


def test_unknown_keys_are_located_with_a_suggestion(root: Path) -> None:
    found = problems(
        root,
        'paths = ["flows/"]\npath = "x"\n\n[environments.dev]\nbase_ulr = "https://x.example"\n',
    )
    assert found == [
        "provisioner.toml:2:1: path: unknown key `path`; did you mean `paths`? "
        "(expected one of environments, paths)",
        "provisioner.toml:5:1: environments.dev.base_ulr: unknown key `base_ulr`; did you mean "
        "`base_url`? (expected one of after, base_url, client_id_env, client_secret_env, db, "
        "overlays, rate_limit)",
    ]


def test_wrong_types(root: Path) -> None:
    found = problems(
        root,
        'paths = "flows/"\n'
        "[environments.staging]\n"
        'base_url = "https://x.example"\n'
        'rate_limit = "25"\n'
        'after = "dev"\n'
        "overlays = [1]\n"
        "[environments.dev]\n"
        "db = 1979-05-27\n",
    )
    assert found == [
        "provisioner.toml:1:1: paths: got a string (expected an array)",
        "provisioner.toml:4:1: environments.staging.rate_limit: got a string (expected a number)",
        "provisioner.toml:5:1: environments.staging.after: got a string (expected an array)",
        "provisioner.toml:6:13: environments.staging.overlays.0: got a number (expected a string)",
        "provisioner.toml:8:1: environments.dev.db: got a date (expected a string)",
    ]


def test_an_environment_that_is_not_a_table(root: Path) -> None:
    found = problems(root, 'paths = ["flows/"]\nenvironments = { dev = 1 }\n')
    assert found == ["provisioner.toml:2:18: environments.dev: got a number (expected a table)"]


def test_after_naming_no_environment(root: Path) -> None:
    found = problems(
        root,
        '[environments.staging]\n[environments.production]\nafter = ["stagin"]\n',
    )
    assert found == [
        "provisioner.toml:3:10: environments.production.after.0: `stagin` names no environment; "
        "did you mean `staging`? (expected one of staging, production)"
    ]


def test_after_making_a_cycle(root: Path) -> None:
    found = problems(
        root,
        "[environments.a]\n"
        'after = ["c"]\n'
        "[environments.b]\n"
        'after = ["a"]\n'
        "[environments.c]\n"
        'after = ["dev", "b"]\n'
        "[environments.dev]\n",
    )
    assert len(found) == 1
    assert ": the promotion order has a cycle: " in found[0]
    assert found[0].startswith("provisioner.toml:")
    cycle = found[0].split("cycle: ")[1].split(" (")[0].split(" -> ")
    assert set(cycle) == {"a", "b", "c"}
    assert cycle[0] == cycle[-1]


def test_after_naming_itself_is_a_cycle(root: Path) -> None:
    assert problems(root, '[environments.a]\nafter = ["a"]\n') == [
        "provisioner.toml:2:10: environments.a.after.0: the promotion order has a cycle: a -> a "
        "(expected environments that can be applied one after another)"
    ]


def test_after_twice_the_same(root: Path) -> None:
    found = problems(root, '[environments.a]\n[environments.b]\nafter = ["a", "a"]\n')
    assert found == [
        "provisioner.toml:3:1: environments.b.after: names an environment twice "
        "(expected each environment once)"
    ]


SECRET = "9f8e7d6c5b4a39281706f5e4d3c2b1a0"


@pytest.mark.parametrize(
    ("line", "expected_start"),
    [
        (
            f'client_secret_env = "{SECRET}"',
            "provisioner.toml:4:1: environments.p.client_secret_env",
        ),
        (f'client_secret = "{SECRET}"', "provisioner.toml:4:1: environments.p.client_secret"),
        (f'client_id_env = "a{SECRET}"', "provisioner.toml:4:1: environments.p.client_id_env"),
        (
            f'base_url = "https://u:{SECRET}@x.example"',
            "provisioner.toml:3:1: environments.p.base_url",
        ),
    ],
)
def test_a_secret_in_the_file_is_refused_and_never_shown(
    root: Path, line: str, expected_start: str
) -> None:
    base = "" if line.startswith("base_url") else 'base_url = "https://x.example"\n'
    text = f"\n[environments.p]\n{base}{line}\n"
    if line.startswith("base_url"):
        text = f"\n[environments.p]\n{line}\n"
    found = problems(root, text)
    assert any(problem.startswith(expected_start) for problem in found), found
    assert all(SECRET not in problem for problem in found)


def test_credentials_need_a_base_url_and_db_needs_none(root: Path) -> None:
    found = problems(
        root,
        "[environments.dev]\n"
        'client_id_env = "DEV_ID"\n'
        "[environments.prod]\n"
        'base_url = "https://x.example"\n'
        'db = "prod.sqlite"\n'
        'client_secret_env = "PROD_SECRET"\n',
    )
    assert [f.split(": ")[0] for f in found] == [
        "provisioner.toml:2:1",
        "provisioner.toml:5:1",
        "provisioner.toml:6:1",
    ]
    assert "without `base_url`" in found[0]
    assert "embedded local store only" in found[1]
    assert "needs a client id" in found[2]


def test_paths_and_overlays_must_exist(root: Path) -> None:
    found = problems(
        root,
        'paths = ["flows/", "flowz/"]\n[environments.dev]\noverlays = ["envs/dev/"]\n',
    )
    assert found == [
        "provisioner.toml:1:20: paths.1: no such file or directory `flowz/` (relative to the "
        "project file) (expected a file or directory of flows YAML)",
        "provisioner.toml:3:13: environments.dev.overlays.0: no such file or directory "
        "`envs/dev/` (relative to the project file) (expected a file or directory of flows YAML)",
    ]


def test_bad_values(root: Path) -> None:
    found = problems(
        root,
        "paths = []\n"
        '[environments."not ok"]\n'
        "[environments.p]\n"
        'base_url = "ftp://x.example"\n'
        "rate_limit = 0\n"
        'after = ["bad name"]\n',
    )
    assert found == [
        "provisioner.toml:1:1: paths: is empty (expected at least one path)",
        "provisioner.toml:2:1: environments.not ok: `not ok` is not a valid environment name "
        "(expected letters, digits, `_` and `-`)",
        "provisioner.toml:4:1: environments.p.base_url: invalid store URL 'ftp://x.example' "
        "(base_url): expected http(s)://host[:port], e.g. https://euwest.api.elasticpath.com",
        "provisioner.toml:5:1: environments.p.rate_limit: got 0 (expected a number of requests "
        "per second from 0.1 to 10,000)",
        "provisioner.toml:6:10: environments.p.after.0: `bad name` is not a valid environment "
        "name (expected letters, digits, `_` and `-`)",
    ]


def test_toml_syntax_errors_are_located(root: Path) -> None:
    assert problems(root, 'paths = ["flows/"]\n[environments.dev\n') == [
        "provisioner.toml:2:18: invalid TOML: expected ']' at the end of a table declaration"
    ]
    assert problems(root, "paths = [\n") == ["provisioner.toml:2:1: invalid TOML: invalid value"]
    (root / PROJECT_FILE).write_bytes(b'paths = ["\xff"]\n')
    _, diagnostics = check_project(root / PROJECT_FILE)
    assert [str(d) for d in diagnostics] == [
        "provisioner.toml:1:11: not UTF-8 text (expected a UTF-8 TOML file)"
    ]


def test_a_missing_project_file_is_named_without_a_position(root: Path) -> None:
    # Issue 13 acceptance follow-up: no fake `nope.toml:0:0:` (the file has no line to point at).
    with pytest.raises(ProjectError) as raised:
        load_project(root / "nope.toml")
    assert str(raised.value) == "nope.toml: cannot read the project file: No such file or directory"


def test_unknown_environment_names_the_known_ones(root: Path) -> None:
    (root / PROJECT_FILE).write_text(ISSUE_EXAMPLE)
    project = load_project(root / PROJECT_FILE)
    with pytest.raises(ProjectError) as raised:
        project.environment("prod")
    assert str(raised.value) == (
        "provisioner.toml: no environment `prod`; did you mean `production`? "
        "(environments: dev, staging, production)"
    )


def test_key_positions_survive_every_toml_form() -> None:
    text = (
        "# a = 1\n"
        'title = """\n[environments.fake]\nkey = "not a key" # nor this\n"""\n'
        "literal = '''\n[x]\n'''\n"
        'quoted = "a # [b] = c"\n'
        "[environments]\n"
        'dev = { db = "x.sqlite", after = [\n  "a",  # first\n  "b",\n] }\n'
        '"staging".base_url = "https://x.example"\n'
        "[ environments . 'prod' ]\n"
        'overlays = ["o1", """o2"""]\n'
        "[[extra.list]]\n"
        "a = 1\n"
        "[[extra.list]]\n"
        "a = 2\n"
    )
    import tomllib

    tomllib.loads(text)  # valid TOML
    positions = key_positions(text)
    assert ("environments", "fake") not in positions
    assert ("key",) not in positions
    assert ("x",) not in positions
    assert positions[("title",)] == (2, 1)
    assert positions[("quoted",)] == (9, 1)
    assert positions[("environments",)] == (10, 1)
    assert positions[("environments", "dev")] == (11, 1)
    assert positions[("environments", "dev", "db")] == (11, 9)
    assert positions[("environments", "dev", "after", 0)] == (12, 3)
    assert positions[("environments", "dev", "after", 1)] == (13, 3)
    assert positions[("environments", "staging", "base_url")] == (15, 11)
    assert positions[("environments", "prod")] == (16, 1)
    assert positions[("environments", "prod", "overlays", 1)] == (17, 19)
    assert positions[("extra", "list", 0, "a")] == (19, 1)
    assert positions[("extra", "list", 1, "a")] == (21, 1)


def test_the_project_schema_ships_beside_the_flows_schema() -> None:
    repo = Path(__file__).resolve().parent.parent
    shipped = repo / "schemas" / "provisioner-project.schema.json"
    assert shipped.read_text(encoding="utf-8") == schema_text()
    schema = json.loads(schema_text())
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    pyproject = (repo / "pyproject.toml").read_text(encoding="utf-8")
    assert (
        '"schemas/provisioner-project.schema.json" = '
        '"provisioner/schemas/provisioner-project.schema.json"' in pyproject
    )


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "0.001", "1e9", "0", "10001"])
def test_rate_limit_has_the_bounds_of_the_command_line(root: Path, value: str) -> None:
    # Issue 13 acceptance follow-up: one bound for `rate_limit` and `--rate-limit`.
    found = problems(
        root, f'[environments.p]\nbase_url = "https://x.example"\nrate_limit = {value}\n'
    )
    assert len(found) == 1, found
    assert found[0].startswith("provisioner.toml:3:1: environments.p.rate_limit: got ")
    assert found[0].endswith("(expected a number of requests per second from 0.1 to 10,000)")


def test_rate_limit_bounds_are_stated_once_and_in_the_schema(root: Path) -> None:
    from provisioner.storeurl import MAX_RATE_LIMIT, MIN_RATE_LIMIT

    rate = json.loads(schema_text())["$defs"]["environment"]["properties"]["rate_limit"]
    assert (rate["minimum"], rate["maximum"]) == (MIN_RATE_LIMIT, MAX_RATE_LIMIT)
    for edge in ("0.1", "10000"):
        assert (
            problems(root, f'[environments.p]\nbase_url = "https://x"\nrate_limit = {edge}\n') == []
        )


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://127.0.0.1:99999", "the port '99999' is not a number from 1 to 65535"),
        ("http://[::1", "invalid store URL 'http://[::1' (base_url)"),
        ("https://x.example/v2", "should be the API root, https://x.example, without a path"),
    ],
)
def test_base_url_goes_through_the_rule_of_epcc_api_base_url(
    root: Path, url: str, words: str
) -> None:
    found = problems(root, f'[environments.p]\nbase_url = "{url}"\n')
    assert len(found) == 1, found
    assert found[0].startswith("provisioner.toml:2:1: environments.p.base_url: ")
    assert words in found[0]


@pytest.mark.parametrize(
    "url",
    [
        f"https://x.example?client_secret={SECRET}",
        f"https://x.example/?client_secret={SECRET}",
        f"https://x.example#{SECRET}",
        f"https://user:{SECRET}@x.example",
    ],
)
def test_a_secret_in_the_base_url_query_is_refused_and_never_shown(root: Path, url: str) -> None:
    found = problems(root, f'[environments.p]\nbase_url = "{url}"\n')
    assert len(found) == 1, found
    assert found[0].startswith("provisioner.toml:2:1: environments.p.base_url: holds a user name")
    assert "the value is not shown" in found[0]
    assert SECRET not in found[0]
