"""Bad input for `validate`, `plan` and `apply`: hypothesis strategies and the oracle.

Issue 7: whatever the file holds, the CLI never shows a traceback, exits 1 with a message
located at `file:line:col`, and sends no request that writes (`plan` and `apply` check the
files before opening a client, so a bad file costs no request at all). Two input families:

- `yaml_documents`: YAML dumped from generated data shaped like our format (flows, fields,
  validation rules) with plausible and wrong values mixed, plus arbitrary nested data;
- `raw_bytes`: arbitrary bytes, and byte-level mutations of valid files (truncation, flips,
  inserted YAML syntax, invalid UTF-8, NULs, BOMs, tabs).

Some generated documents are valid by chance; `check_input` asks `config.validate_paths` first
and, for a valid file, only checks that `validate` exits 0 (it never applies it). Both the unit
suite (tests/test_fuzz_*.py, bounded) and `bench/run.py --suite fuzz` (thousands of examples)
use this module.
"""

from __future__ import annotations

import io
import os
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st

from provisioner.cli import main
from provisioner.config import validate_paths
from provisioner.model import FIELD_ATTRIBUTES, FIELD_TYPES

# Variables that select a store or change output; unset around every CLI run, then set.
CLI_VARIABLES = (
    "EPCC_API_BASE_URL",
    "EPCC_CLIENT_ID",
    "EPCC_CLIENT_SECRET",
    "EPCC_RATE_LIMIT",
    "CI",
    "NO_COLOR",
)
COMMANDS: tuple[tuple[str, ...], ...] = (
    ("validate",),
    ("plan",),
    ("apply", "--auto-approve"),
)

# Strings the loader, the schema and the semantic checks treat specially.
INTERESTING_STRINGS = (
    "",
    " ",
    "customers",
    "products(book)",
    "products(",
    "flow",
    "field",
    "customer",
    "product",
    "id",
    "type",
    "email",
    "absent",
    "present",
    "enum",
    "between",
    "email",
    "slug",
    "uuid",
    "one-to-many",
    "one-to-one",
    "2024-02-30",
    "2024-01-01 10:00:00",
    "not-an-email",
    "a@b.co",
    "other_flow.old",
    "a.b.c",
    "yes",
    "no",
    "on",
    "~",
    "null",
    "0x1F",
    "1e400",
    ".nan",
    "x" * 300,
    "é",
    "\u202e",
    "\ud7ff",
)
# Every key a field may carry: the API attributes, then ours.
FIELD_KEYS = (*FIELD_ATTRIBUTES, "state", "renamed_from")
JUNK_KEYS = ("type", "id", "slug", "bogus", "Name", "fields ", "validation_rule")
RULE_TYPES = ("enum", "email", "slug", "uuid", "between", "one-to-many", "one-to-one", "regex")

_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    _text,
    st.sampled_from(INTERESTING_STRINGS),
    st.dates(),
    st.datetimes(),
)
anything = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.one_of(_text, st.integers(), st.booleans()), inner, max_size=4)
    ),
    max_leaves=12,
)
slugs = st.one_of(
    st.from_regex(r"[A-Za-z0-9_-]{1,12}", fullmatch=True),
    st.sampled_from(INTERESTING_STRINGS),
    _text,
)
flow_slugs = slugs | st.from_regex(r"[a-z]{1,8}\([a-z]{1,8}\)", fullmatch=True)
rules = st.fixed_dictionaries(
    {"type": st.sampled_from(RULE_TYPES) | scalars},
    optional={
        "options": st.one_of(
            st.lists(scalars, max_size=4),
            st.fixed_dictionaries({}, optional={"from": scalars, "to": scalars}),
            scalars,
        ),
        "to": slugs,
        "bogus": scalars,
    },
)
_FIELD_VALUES: Mapping[str, st.SearchStrategy[Any]] = {
    "name": _text | scalars,
    "description": _text | scalars,
    "field_type": st.sampled_from(FIELD_TYPES) | scalars,
    "required": st.booleans() | scalars,
    "unique": st.booleans() | scalars,
    "default": scalars,
    "enabled": st.booleans() | scalars,
    "order": st.integers(-5, 200) | scalars,
    "omit_null": st.booleans() | scalars,
    "validation_rules": st.lists(rules | scalars, max_size=3) | scalars,
    "state": st.sampled_from(("present", "absent")) | scalars,
    "renamed_from": st.lists(slugs, max_size=3) | scalars,
}
fields = st.fixed_dictionaries(
    {},
    optional={
        **{key: _FIELD_VALUES[key] for key in FIELD_KEYS},
        **dict.fromkeys(JUNK_KEYS[:2], anything),
    },
)
flows = st.fixed_dictionaries(
    {},
    optional={
        "name": _text | scalars,
        "description": _text | scalars,
        "enabled": st.booleans() | scalars,
        "prune": st.booleans() | scalars,
        "state": st.sampled_from(("present", "absent")) | scalars,
        "fields": st.dictionaries(slugs, fields | scalars, max_size=4) | scalars,
        "bogus": anything,
    },
)
documents = st.one_of(
    st.fixed_dictionaries(
        {"flows": st.dictionaries(flow_slugs, flows | scalars, max_size=3) | scalars},
        optional={"version": scalars, "bogus": anything},
    ),
    anything,
)


@st.composite
def yaml_documents(draw: st.DrawFn) -> bytes:
    """A generated document dumped as YAML (block or flow style), as bytes."""
    data = draw(documents)
    flow_style = draw(st.sampled_from([False, True, None]))
    text = yaml.safe_dump(data, default_flow_style=flow_style, sort_keys=False, allow_unicode=True)
    return text.encode("utf-8")


VALID_SEED = b"""\
flows:
  customers:
    name: Customers
    description: Extends the default customer object
    fields:
      delivery_details:
        name: Delivery Details
        field_type: string
        description: customers delivery details
        order: 1
  wishlists:
    name: Wishlists
    description: Saved products
    fields:
      rating:
        name: Rating
        field_type: integer
        default: 3
        validation_rules:
          - type: between
            options: {from: 1, to: 5}
      items:
        name: Items
        field_type: relationship
        validation_rules:
          - type: one-to-many
            to: product
"""
# Bytes that YAML, UTF-8 or our loader treat specially.
SPLICES = (
    b":",
    b": ",
    b"-",
    b"- ",
    b"{",
    b"}",
    b"[",
    b"]",
    b"\t",
    b"\n",
    b"\n  ",
    b"#",
    b"&a ",
    b"*a",
    b"!!python/object:os.system ",
    b"!!binary ",
    b"<<: ",
    b"'",
    b'"',
    b"|",
    b">",
    b"%YAML 1.1\n",
    b"---\n",
    b"...\n",
    b"\x00",
    b"\xff",
    b"\xc3",
    b"\xef\xbb\xbf",
    b"\r",
    b"?",
    b"@",
    b"`",
    b"state: absent",
    b"field_type: date",
    b"default: 2024-02-30",
)


@st.composite
def mutated(draw: st.DrawFn, seed: bytes = VALID_SEED) -> bytes:
    """`seed` with a few byte-level edits: splices, deletions, flips, a truncation."""
    data = bytearray(seed)
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(data)))
        edit = draw(st.sampled_from(("splice", "delete", "flip", "truncate")))
        if edit == "splice":
            data[position:position] = draw(st.sampled_from(SPLICES))
        elif edit == "delete":
            del data[position : position + draw(st.integers(1, 16))]
        elif edit == "flip" and position < len(data):
            data[position] = draw(st.integers(0, 255))
        elif edit == "truncate":
            del data[position:]
    return bytes(data)


raw_bytes = st.one_of(
    st.binary(max_size=600),
    mutated(),
    _text.map(lambda text: text.encode("utf-16")),
    st.sampled_from([b"", b"\n", b"\xef\xbb\xbf", b"flows:", b"flows: []", b"~", b"\x00" * 8]),
)


# ------------------------------------------------------------------------------ the oracle


@dataclass
class CliRun:
    """One CLI invocation in-process: exit code, combined output, an escaped exception."""

    argv: list[str]
    code: int | None
    output: str
    escaped: BaseException | None = None


@dataclass
class FuzzStats:
    """What a fuzz run tried and found."""

    inputs: int = 0
    invalid: int = 0
    valid: int = 0
    cli_runs: int = 0
    problems: list[str] = field(default_factory=list)


@contextmanager
def environment(env: Mapping[str, str]) -> Iterator[None]:
    """`os.environ` with the CLI variables unset, then `env` set; restored afterwards."""
    saved = {name: os.environ.get(name) for name in (*CLI_VARIABLES, *env)}
    try:
        for name in CLI_VARIABLES:
            os.environ.pop(name, None)
        os.environ.update(env)
        os.environ["NO_COLOR"] = "1"
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run_cli(argv: list[str], env: Mapping[str, str]) -> CliRun:
    """`provisioner ARGV` through `provisioner.cli.main`, as the console script runs it."""
    out = io.StringIO()
    code: int | None = None
    escaped: BaseException | None = None
    with environment(env), redirect_stdout(out), redirect_stderr(out):
        try:
            main(argv)
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
        except BaseException as error:  # a traceback a user would see
            escaped = error
    return CliRun(argv, code, out.getvalue(), escaped)


def located(path: Path, output: str) -> bool:
    """True when the output names `path:line:col` (line and column from 1)."""
    return re.search(re.escape(str(path)) + r":[1-9]\d*:[1-9]\d*:", output) is not None


def check_input(
    raw: bytes,
    directory: Path,
    env: Mapping[str, str],
    requests_served: Callable[[], int],
    stats: FuzzStats | None = None,
) -> list[str]:
    """Run `validate`, `plan` and `apply` on `raw`; return what broke the contract (or [])."""
    stats = stats if stats is not None else FuzzStats()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "input.yaml"
    path.write_bytes(raw)
    stats.inputs += 1
    problems: list[str] = []
    try:
        diagnostics = validate_paths([path])
    except Exception as error:  # the library itself must not raise either
        diagnostics = []
        problems.append(f"validate_paths raised {type(error).__name__}: {error}")
    if not diagnostics and not problems:
        stats.valid += 1
        result = run_cli(["validate", str(path)], env)
        stats.cli_runs += 1
        if result.escaped is not None or result.code != 0:
            problems.append(f"valid input: validate gave {result.code}: {result.output[-300:]}")
        return _record(stats, raw, problems)
    stats.invalid += 1
    before = requests_served()
    for command in COMMANDS:
        result = run_cli([*command, str(path)], env)
        stats.cli_runs += 1
        name = command[0]
        if result.escaped is not None:
            kind = type(result.escaped).__name__
            problems.append(f"{name}: escaped {kind}: {result.escaped}")
        elif result.code != 1:
            problems.append(f"{name}: exit {result.code}, expected 1: {result.output[-300:]}")
        if "Traceback" in result.output:
            problems.append(f"{name}: traceback in the output")
        if not located(path, result.output):
            problems.append(f"{name}: no file:line:col in {result.output[-300:]!r}")
    served = requests_served() - before
    if served:
        problems.append(f"{served} request(s) sent for an invalid file")
    return _record(stats, raw, problems)


def _record(stats: FuzzStats, raw: bytes, problems: list[str]) -> list[str]:
    if problems:
        stats.problems.append(f"input {raw[:200]!r}: " + "; ".join(problems))
    return problems


# ------------------------------------------------------------------- the environment (issue 10)
#
# The same contract for what surrounds the files: the store's URL and port, the embedded
# database, the output paths, the variables. Every case is one `Error:` line naming the bad
# value (`expect`), exit 1, no traceback, no request that writes, and no file where the output
# was meant to go. `environment_cases` lists the fixed cases; `bad_ports` and `bad_rates`
# generate more of the two open-ended kinds.

STORE_COMMANDS: tuple[tuple[str, ...], ...] = (
    ("plan", "{flows}"),
    ("apply", "{flows}", "--auto-approve"),
    ("export",),
)


@dataclass(frozen=True)
class EnvCase:
    """One bad environment: `argv` and `env` may hold `{flows}`, `{dir}`, `{store}`."""

    family: str
    argv: tuple[str, ...]
    env: Mapping[str, str]
    expect: str  # a fragment of the one `Error:` line
    store: bool = True  # False: the store's variables are not set for this case
    must_not_exist: tuple[str, ...] = ()  # paths (with placeholders) nothing may create


def _with_commands(
    family: str,
    extra: tuple[str, ...],
    env: Mapping[str, str],
    expect: str,
    *,
    store: bool = True,
    must_not_exist: tuple[str, ...] = (),
) -> list[EnvCase]:
    return [
        EnvCase(family, (*command, *extra), env, expect, store, must_not_exist)
        for command in STORE_COMMANDS
    ]


def url_cases(url: str, expect: str) -> list[EnvCase]:
    """A bad base URL, from the variable and from the option."""
    return _with_commands("store URLs", (), {"EPCC_API_BASE_URL": url}, expect) + _with_commands(
        "store URLs", ("--base-url", url), {}, expect
    )


def environment_cases() -> list[EnvCase]:
    """Every fixed case: URLs, ports, database paths, output paths, variables."""
    cases: list[EnvCase] = []
    for url, expect in (
        ("http://127.0.0.1:18701:", "'18701:' is not a number from 1 to 65535"),
        ("http://127.0.0.1:abc", "'abc' is not a number from 1 to 65535"),
        ("http://127.0.0.1:99999", "'99999' is not a number from 1 to 65535"),
        ("http://127.0.0.1:0", "'0' is not a number from 1 to 65535"),
        ("http://127.0.0.1:-1", "is not a number from 1 to 65535"),
        ("{store}/v2", "should be the API root"),
        ("{store}/v2/flows?x=1", "should be the API root"),
        ("http://admin:hunter2@127.0.0.1:1", "user name or password"),
        ("ftp://127.0.0.1", "expected http(s)://host[:port]"),
        ("127.0.0.1:8710", "expected http(s)://host[:port]"),
        ("http://", "expected http(s)://host[:port]"),
        ("http://a b", "expected http(s)://host[:port]"),
        ("http://[::1", "invalid store URL"),
        ("http://no-such-store.invalid", "name resolution failed for no-such-store.invalid"),
        ("https://{store_host}", "TLS handshake failed with"),
    ):
        cases += url_cases(url, expect)
    for port in ("70000", "-1", "abc", "65536"):
        cases.append(
            EnvCase(
                "ports",
                ("serve", "--port", port, "--db", "{dir}/serve.sqlite"),
                {},
                "--port",
                store=False,
                must_not_exist=("{dir}/serve.sqlite",),
            )
        )
    for db, expect in (
        ("{dir}/notes.txt", "is not a SQLite database"),
        ("{dir}/notes.txt/store.sqlite", "notes.txt is not a directory"),
        ("/proc/x.sqlite", "/proc/x.sqlite"),
        ("/proc/new/store.sqlite", "/proc/new/store.sqlite"),
    ):
        cases += _with_commands("database paths", ("--db", db), {}, expect, store=False)
    for out, expect in (
        ("{dir}/notes.txt/plan.json", "notes.txt is not a directory"),
        ("/proc/plan.json", "cannot write the plan to /proc/plan.json"),
        ("/proc/new/plan.json", "cannot write the plan to /proc/new/plan.json"),
    ):
        cases.append(
            EnvCase("output paths", ("plan", "{flows}", "--out", out), {}, expect, True, (out,))
        )
    for out, expect in (
        ("{dir}/notes.txt/flows.yaml", "notes.txt is not a directory"),
        ("{dir}/notes.txt/flows/", "notes.txt is not a directory"),
        ("/proc/flows.yaml", "cannot write /proc/flows.yaml"),
        ("/proc/new/flows/", "cannot write /proc/new/flows"),
    ):
        cases.append(EnvCase("output paths", ("export", "-o", out), {}, expect, True, (out,)))
    for rate in ("1e-9", "0", "-1", "nan", "inf", "1e9", "fast", "0x10"):
        cases.append(
            EnvCase(
                "variables",
                ("plan", "{flows}"),
                {"EPCC_RATE_LIMIT": rate},
                "EPCC_RATE_LIMIT must be a number of requests per second from 0.1 to 10,000",
            )
        )
        cases.append(
            EnvCase("variables", ("plan", "{flows}", "--rate-limit", rate), {}, "'--rate-limit'")
        )
    cases += _with_commands(
        "variables",
        ("--db", "{dir}/embedded.sqlite"),
        {"EPCC_CLIENT_ID": "id", "EPCC_CLIENT_SECRET": "secret"},
        "EPCC_CLIENT_ID and EPCC_CLIENT_SECRET are set but EPCC_API_BASE_URL is not",
        store=False,
        must_not_exist=("{dir}/embedded.sqlite",),
    )
    cases += _with_commands(
        "variables",
        ("--db", "{dir}/embedded.sqlite"),
        {},
        "names the embedded local store, but a store is configured",
        must_not_exist=("{dir}/embedded.sqlite",),
    )
    cases += _with_commands(
        "variables",
        ("--db", "{dir}/embedded.sqlite"),
        {"CI": "true"},
        "CI is set and no store is configured",
        store=False,
        must_not_exist=("{dir}/embedded.sqlite",),
    )
    return cases


# Generated: ports that are not 1-65535, rate limits outside 0.1-10,000 (or not numbers).
bad_ports = st.one_of(
    st.integers(min_value=65536, max_value=10**12).map(str),
    st.integers(min_value=-(10**6), max_value=0).map(str),
    st.text(st.characters(categories=["L", "P", "S"], exclude_characters="/?#@[]"), min_size=1),
).map(lambda port: f"http://127.0.0.1:{port}")
bad_rates = st.one_of(
    st.floats(min_value=0, max_value=0.0999, exclude_max=False).map(repr),
    st.floats(min_value=10_000.001, allow_infinity=True).map(repr),
    st.floats(max_value=-0.0).map(repr),
    st.just("nan"),
    st.text(st.characters(categories=["L", "P"]), min_size=1).filter(
        lambda text: text.strip() != "" and not _is_number(text)
    ),
)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def generated_case(kind: str, value: str) -> EnvCase:
    """A case from a generated port (as a URL) or rate limit."""
    if kind == "port":
        return EnvCase("generated", ("plan", "{flows}"), {"EPCC_API_BASE_URL": value}, "")
    return EnvCase("generated", ("plan", "{flows}"), {"EPCC_RATE_LIMIT": value}, "EPCC_RATE_LIMIT")


def _output_problems(result: CliRun, expect: str) -> list[str]:
    """What a refused CLI run's exit code and output break: exit 1, no traceback, one error
    line holding `expect`, no password echoed."""
    problems: list[str] = []
    if result.escaped is not None:
        problems.append(f"escaped {type(result.escaped).__name__}: {result.escaped}")
    elif result.code != 1:
        problems.append(f"exit {result.code}, expected 1: {result.output[-300:]}")
    if "Traceback" in result.output:
        problems.append("traceback in the output")
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    if len(errors) != 1:
        problems.append(f"{len(errors)} error lines, expected 1: {result.output[-300:]!r}")
    elif expect not in errors[0]:
        problems.append(f"expected {expect!r} in {errors[0]!r}")
    if "hunter2" in result.output:
        problems.append("the URL's password was echoed")
    return problems


def check_environment_case(
    case: EnvCase,
    directory: Path,
    store_env: Mapping[str, str],
    writes_served: Callable[[], int],
    stats: FuzzStats | None = None,
) -> list[str]:
    """Run one case in `directory`; return what broke the contract (or [])."""
    stats = stats if stats is not None else FuzzStats()
    directory.mkdir(parents=True, exist_ok=True)
    flows = directory / "flows.yaml"
    flows.write_text("flows:\n  customers:\n    name: Customers\n", encoding="utf-8")
    notes = directory / "notes.txt"
    notes.write_text("not SQLite\n" * 10, encoding="utf-8")
    store = store_env.get("EPCC_API_BASE_URL", "")
    values = {
        "flows": str(flows),
        "dir": str(directory),
        "store": store,
        "store_host": store.removeprefix("http://"),
    }

    def fill(text: str) -> str:
        for key, value in values.items():
            text = text.replace("{" + key + "}", value)
        return text

    argv = [fill(arg) for arg in case.argv]
    env = {**(store_env if case.store else {}), **{k: fill(v) for k, v in case.env.items()}}
    stats.inputs += 1
    stats.invalid += 1
    before = writes_served()
    result = run_cli(argv, env)
    stats.cli_runs += 1
    label = f"{case.family}: {' '.join(argv)} {dict(case.env)}"
    problems = _output_problems(result, fill(case.expect))
    if notes.read_text(encoding="utf-8") != "not SQLite\n" * 10:
        problems.append("notes.txt was changed")
    for path in case.must_not_exist:
        if Path(fill(path).rstrip("/")).exists():
            problems.append(f"{fill(path)} was created")
    written = writes_served() - before
    if written:
        problems.append(f"{written} write request(s) reached the store")
    if problems:
        stats.problems.append(f"{label}: " + "; ".join(problems))
    return problems
