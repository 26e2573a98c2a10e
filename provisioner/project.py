"""The project file, `provisioner.toml`: the shared schema and the environments it goes to.

```toml
paths = ["flows/"]                      # the schema every environment shares

[environments.dev]                      # no base_url: an embedded local store
[environments.staging]
base_url = "https://useast.api.elasticpath.com"
client_id_env = "STAGING_EPCC_CLIENT_ID"          # names of variables, never secrets
client_secret_env = "STAGING_EPCC_CLIENT_SECRET"
overlays = ["envs/staging/"]
[environments.production]
after = ["staging"]                     # promotion order
```

The file is read with the standard library's `tomllib`, checked against
`schemas/provisioner-project.schema.json` and then by the rules a schema cannot say (an
`after` naming no environment or making a cycle, credentials for an embedded store, a secret
written where a variable name belongs, paths that do not exist). Every problem is a located
`Diagnostic` (`provisioner.toml:7:1: environments.production.after.0: ...`); `tomllib` gives no
positions, so `key_positions` finds the line and column of every key in the text itself.
Values that could be secrets are never quoted back.

This module is pure: it reads files, nothing else (no network, no CLI libraries).
"""

from __future__ import annotations

import bisect
import difflib
import functools
import graphlib
import importlib.resources
import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from provisioner.errors import ConfigError, Diagnostic, ProvisionerError

PROJECT_FILE = "provisioner.toml"
SCHEMA_FILE = "provisioner-project.schema.json"
STATE_DIR = ".provisioner"

Key = tuple[str | int, ...]

_VARIABLE = re.compile(r"^[A-Z_][A-Z0-9_]*$")
_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_TOML_END = re.compile(r"\s*\(at end of document\)\s*$")
# Keys people write when they put the credential itself in the file.
_SECRET_KEYS = frozenset(
    {"client_secret", "client_id", "secret", "password", "token", "api_key", "access_token"}
)
_TYPE_WORDS = {
    "string": "a string",
    "number": "a number",
    "integer": "an integer",
    "boolean": "true or false",
    "object": "a table",
    "array": "an array",
}


@dataclass(frozen=True)
class Environment:
    """One store the schema is rolled out to (paths are as the commands open them)."""

    name: str
    base_url: str | None = None
    client_id_env: str | None = None
    client_secret_env: str | None = None
    rate_limit: float | None = None
    overlays: tuple[Path, ...] = ()
    after: tuple[str, ...] = ()
    db: Path = Path(STATE_DIR) / "local-store.sqlite"

    @property
    def embedded(self) -> bool:
        """True for an embedded local store (no `base_url`)."""
        return self.base_url is None


@dataclass(frozen=True)
class Project:
    """A checked project file."""

    file: Path
    paths: tuple[Path, ...] = ()
    environments: Mapping[str, Environment] = field(default_factory=dict)

    def environment(self, name: str) -> Environment:
        """The environment called `name`, or a clear error naming the ones there are."""
        if name in self.environments:
            return self.environments[name]
        names = list(self.environments)
        hint = _did_you_mean(name, names)
        known = ", ".join(names) if names else "none"
        raise ProjectError(f"{self.file}: no environment `{name}`{hint} (environments: {known})")

    def order(self) -> list[str]:
        """Every environment, each after those in its `after` (file order among equals)."""
        sorter = graphlib.TopologicalSorter({n: e.after for n, e in self.environments.items()})
        position = {name: index for index, name in enumerate(self.environments)}
        sorter.prepare()
        ordered: list[str] = []
        while sorter.is_active():
            ready = sorted(sorter.get_ready(), key=position.__getitem__)
            ordered.extend(ready)
            sorter.done(*ready)
        return ordered


class ProjectError(ProvisionerError):
    """A project-level mistake that is not about one position (an unknown `--env`)."""


# ---------------------------------------------------------------------------------------------
# Finding and loading


def find_project(start: Path | None = None) -> Path | None:
    """The nearest `provisioner.toml` in `start` (default: the working directory) or above."""
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        candidate = directory / PROJECT_FILE
        if candidate.is_file():
            return candidate
    return None


def display_path(path: Path) -> Path:
    """`path` as people read it: relative to the working directory when it lies below it."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve())
    except ValueError:
        return path


def load_project(file: Path) -> Project:
    """The checked project in `file`; `ConfigError` with every problem otherwise."""
    project, diagnostics = check_project(file)
    if diagnostics or project is None:
        raise ConfigError(diagnostics)
    return project


def check_project(file: Path) -> tuple[Project | None, list[Diagnostic]]:
    """The project and every problem in `file` (the project is None when there are any)."""
    name = str(display_path(file))
    try:
        raw = file.read_bytes()
    except OSError as error:
        reason = error.strerror or type(error).__name__
        return None, [Diagnostic(name, 0, 0, "", f"cannot read the project file: {reason}")]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        column = error.start - (raw.rfind(b"\n", 0, error.start) + 1) + 1
        return None, [Diagnostic(name, line, column, "", "not UTF-8 text", "a UTF-8 TOML file")]
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        message = str(error)
        match = _TOML_POSITION.search(message)
        if match:
            line, column = int(match[1]), int(match[2])
        else:  # "(at end of document)"
            line, column = text.count("\n") + 1, 1
        message = _TOML_POSITION.sub("", _TOML_END.sub("", message))
        message = message[:1].lower() + message[1:]
        return None, [Diagnostic(name, line, column, "", f"invalid TOML: {message}")]
    checker = _Checker(name, data, key_positions(text), file.parent)
    checker.run()
    if checker.diagnostics:
        return None, sorted(set(checker.diagnostics))
    return checker.build(file), []


# ---------------------------------------------------------------------------------------------
# Checking


@functools.cache
def schema_text() -> str:
    """The JSON Schema of the project file, as shipped."""
    packaged = importlib.resources.files("provisioner") / "schemas" / SCHEMA_FILE
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    source = Path(__file__).resolve().parent.parent / "schemas" / SCHEMA_FILE
    return source.read_text(encoding="utf-8")


@functools.cache
def _validator() -> Any:
    from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

    return Draft202012Validator(json.loads(schema_text()))


def _did_you_mean(word: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    if not close:
        close = [c for c in candidates if c.startswith(word) or word.startswith(c)][:1]
    return f"; did you mean `{close[0]}`?" if close else ""


def _dotted(path: Key) -> str:
    return ".".join(str(part) for part in path)


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "an array"
    return f"a {type(value).__name__}"  # dates and times


class _Checker:
    def __init__(
        self, name: str, data: dict[str, Any], positions: Mapping[Key, tuple[int, int]], root: Path
    ) -> None:
        self.name = name
        self.data = data
        self.positions = positions
        self.root = root
        self.diagnostics: list[Diagnostic] = []
        self.bad: set[Key] = set()  # paths with a schema problem: later rules skip them

    def locate(self, path: Key) -> tuple[int, int]:
        for depth in range(len(path), -1, -1):
            if path[:depth] in self.positions:
                return self.positions[path[:depth]]
        return (1, 1)

    def add(self, path: Key, message: str, expected: str = "") -> None:
        line, column = self.locate(path)
        self.diagnostics.append(
            Diagnostic(self.name, line, column, _dotted(path), message, expected)
        )
        self.bad.add(path)

    def run(self) -> None:
        for error in _validator().iter_errors(self.data):
            self.schema_error(error)
        environments = self.data.get("environments")
        if not isinstance(environments, dict):
            environments = {}
        for path in self._paths(("paths",)):
            self.exists(path)
        for env_name, env in environments.items():
            if isinstance(env, dict):
                self.environment(env_name, env, environments)
        self.cycles(environments)

    def schema_error(self, error: Any) -> None:
        path: Key = tuple(error.absolute_path)
        kind = error.validator
        instance = error.instance
        if kind == "additionalProperties":
            allowed = sorted(error.schema.get("properties", {}))
            for key in instance:
                if key in allowed:
                    continue
                if key in _SECRET_KEYS:
                    self.add(
                        (*path, key),
                        f"`{key}` holds a credential: secrets never go in this file",
                        "client_id_env / client_secret_env naming the variables that hold them",
                    )
                    continue
                close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
                hint = f"; did you mean `{close[0]}`?" if close else ""
                self.add((*path, key), f"unknown key `{key}`{hint}", "one of " + ", ".join(allowed))
            return
        if "propertyNames" in error.absolute_schema_path:
            self.add(
                (*path, str(instance)),
                f"`{instance}` is not a valid environment name",
                "letters, digits, `_` and `-`",
            )
            return
        last = path[-1] if path else None
        if kind == "type":
            types = error.validator_value
            words = [types] if isinstance(types, str) else types
            expected = " or ".join(_TYPE_WORDS.get(t, t) for t in words)
            self.add(path, f"got {_describe(instance)}", expected)
        elif kind == "pattern" and last in ("client_id_env", "client_secret_env"):
            self.add(
                path,
                "this is not the name of an environment variable (a secret written into the "
                "file?); the value is not shown",
                "the NAME of a variable: upper-case letters, digits and `_`, e.g. "
                "STAGING_EPCC_CLIENT_SECRET",
            )
        elif kind == "pattern" and last == "base_url":
            self.add(
                path,
                "not an http(s) base URL without credentials in it; the value is not shown",
                "e.g. https://useast.api.elasticpath.com",
            )
        elif kind == "pattern":
            self.add(
                path,
                f"`{instance}` is not a valid environment name",
                "letters, digits, `_` and `-`",
            )
        elif kind == "minItems":
            self.add(path, "is empty", "at least one path")
        elif kind == "minLength":
            self.add(path, "is empty", "a path")
        elif kind == "exclusiveMinimum":
            self.add(path, f"got {instance}", "a number of requests per second above 0")
        elif kind == "uniqueItems":
            self.add(path, "names an environment twice", "each environment once")
        else:  # pragma: no cover - every keyword of our schema is handled above
            self.add(path, error.message)

    def _paths(self, path: Key) -> list[Key]:
        value: Any = self.data
        for part in path:
            if not isinstance(value, dict) or part not in value:
                return []
            value = value[part]
        if not isinstance(value, list) or path in self.bad:
            return []
        return [
            (*path, index) for index, item in enumerate(value) if isinstance(item, str) and item
        ]

    def _value(self, path: Key) -> Any:
        value: Any = self.data
        for part in path:
            value = value[part]
        return value

    def exists(self, path: Key) -> None:
        if path in self.bad:
            return
        relative = self._value(path)
        if not (self.root / relative).exists():
            self.add(
                path,
                f"no such file or directory `{relative}` (relative to the project file)",
                "a file or directory of flows YAML",
            )

    def environment(self, name: str, env: dict[str, Any], environments: dict[str, Any]) -> None:
        base: Key = ("environments", name)
        if "base_url" not in env:
            for key in ("client_id_env", "client_secret_env"):
                if key in env:
                    self.add(
                        (*base, key),
                        f"`{key}` without `base_url`: an embedded local store has its own "
                        "credentials",
                        "base_url set, or no credential variables",
                    )
        else:
            if "db" in env:
                self.add(
                    (*base, "db"),
                    "`db` with `base_url`: the database is for an embedded local store only",
                    "either base_url or db",
                )
            if "client_secret_env" in env and "client_id_env" not in env:
                self.add(
                    (*base, "client_secret_env"),
                    "a client secret needs a client id",
                    "client_id_env set too",
                )
        for path in self._paths((*base, "overlays")):
            self.exists(path)
        after = env.get("after")
        if isinstance(after, list) and (*base, "after") not in self.bad:
            for index, other in enumerate(after):
                if (
                    not isinstance(other, str)
                    or other in environments
                    or (*base, "after", index) in self.bad
                ):
                    continue
                hint = _did_you_mean(other, list(environments))
                self.add(
                    (*base, "after", index),
                    f"`{other}` names no environment{hint}",
                    "one of " + ", ".join(environments),
                )

    def cycles(self, environments: dict[str, Any]) -> None:
        graph: dict[str, list[str]] = {}
        for name, env in environments.items():
            after = env.get("after") if isinstance(env, dict) else None
            if isinstance(after, list):
                graph[name] = [a for a in after if isinstance(a, str) and a in environments]
        try:
            graphlib.TopologicalSorter(graph).prepare()
        except graphlib.CycleError as error:
            # Each node of the cycle comes before the next: the next names it in `after`.
            cycle: list[str] = list(error.args[1])
            before, env_name = cycle[0], cycle[1]
            index = environments[env_name]["after"].index(before)
            shown = " -> ".join(cycle)
            self.add(
                ("environments", env_name, "after", index),
                f"the promotion order has a cycle: {shown}",
                "environments that can be applied one after another",
            )

    def build(self, file: Path) -> Project:
        root = file.parent

        def resolve(relative: str) -> Path:
            return display_path(root / relative)

        environments: dict[str, Environment] = {}
        for name, env in self.data.get("environments", {}).items():
            db = env.get("db")
            environments[name] = Environment(
                name=name,
                base_url=env.get("base_url"),
                client_id_env=env.get("client_id_env"),
                client_secret_env=env.get("client_secret_env"),
                rate_limit=float(env["rate_limit"]) if "rate_limit" in env else None,
                overlays=tuple(resolve(item) for item in env.get("overlays", ())),
                after=tuple(env.get("after", ())),
                db=resolve(db) if db else display_path(root / STATE_DIR / f"{name}.sqlite"),
            )
        return Project(
            file=display_path(file),
            paths=tuple(resolve(item) for item in self.data.get("paths", ())),
            environments=environments,
        )


def variable_name_ok(name: str) -> bool:
    """True when `name` looks like an environment variable's name (not a secret)."""
    return _VARIABLE.match(name) is not None


# ---------------------------------------------------------------------------------------------
# Where keys are written


class _Scanner:
    """Positions of the keys of a TOML text that `tomllib` accepted.

    A small tokenizer, only as careful as valid TOML needs: comments, table headers, arrays
    of tables, dotted and quoted keys, inline tables, arrays (each element's position under
    its index) and every string form (multi-line ones may hold `=`, `[` and `#`).
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.i = 0
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.positions: dict[Key, tuple[int, int]] = {}
        self.array_tables: dict[Key, int] = {}

    def where(self, offset: int) -> tuple[int, int]:
        line = bisect.bisect_right(self.line_starts, offset) - 1
        return line + 1, offset - self.line_starts[line] + 1

    def peek(self, n: int = 1) -> str:
        return self.text[self.i : self.i + n]

    def record(self, path: Key, offset: int) -> None:
        self.positions.setdefault(path, self.where(offset))

    def skip_blank(self, newlines: bool) -> None:
        text = self.text
        while self.i < len(text):
            char = text[self.i]
            if char in " \t" or (newlines and char in "\r\n"):
                self.i += 1
            elif char == "#":
                end = text.find("\n", self.i)
                self.i = len(text) if end < 0 else end
            else:
                return

    def string(self) -> str:
        """Read one string starting at `self.i`; return its value."""
        text = self.text
        start = self.i
        for quote in ('"""', "'''"):
            if text.startswith(quote, self.i):
                end = self.i + 3
                while True:
                    end = text.find(quote, end)
                    if end < 0:
                        self.i = len(text)
                        return ""
                    if quote == "'''" or not _escaped(text, end):
                        break
                    end += 1
                # The closing delimiter is the last three of a run of up to five quotes.
                run = 0
                while end + run < len(text) and text[end + run] == quote[0] and run < 5:
                    run += 1
                self.i = end + run
                return ""
        quote = text[self.i]
        end = self.i + 1
        while end < len(text) and text[end] != quote:
            end += 2 if quote == '"' and text[end] == "\\" else 1
        self.i = end + 1
        raw = text[start : self.i]
        try:
            return str(tomllib.loads(f"k = {raw}")["k"])
        except tomllib.TOMLDecodeError:  # pragma: no cover - tomllib accepted the file
            return raw[1:-1]

    def key(self) -> list[tuple[str, int]]:
        """A dotted key: its parts with their offsets."""
        parts: list[tuple[str, int]] = []
        while True:
            self.skip_blank(newlines=False)
            start = self.i
            if self.peek() in ('"', "'"):
                parts.append((self.string(), start))
            else:
                match = re.compile(r"[A-Za-z0-9_-]+").match(self.text, self.i)
                if match is None:
                    return parts
                parts.append((match.group(), start))
                self.i = match.end()
            self.skip_blank(newlines=False)
            if self.peek() != ".":
                return parts
            self.i += 1

    def value(self, path: Key) -> None:
        text = self.text
        char = self.peek()
        if char in ('"', "'"):
            self.string()
        elif char == "[":
            self.i += 1
            index = 0
            while self.i < len(text):
                self.skip_blank(newlines=True)
                if self.peek() == "]":
                    self.i += 1
                    return
                self.record((*path, index), self.i)
                self.value((*path, index))
                index += 1
                self.skip_blank(newlines=True)
                if self.peek() == ",":
                    self.i += 1
        elif char == "{":
            self.i += 1
            while self.i < len(text):
                self.skip_blank(newlines=False)
                if self.peek() == "}":
                    self.i += 1
                    return
                if self.peek() == ",":
                    self.i += 1
                    continue
                self.pair(path)
        else:
            match = re.compile(r"[^,\]}\n#]*").match(text, self.i)
            self.i = match.end() if match else len(text)

    def pair(self, table: Key) -> None:
        parts = self.key()
        if not parts:
            self.i += 1  # pragma: no cover - tomllib accepted the file
            return
        path = table
        for name, offset in parts:
            path = (*path, name)
            self.record(path, offset)
        self.skip_blank(newlines=False)
        if self.peek() == "=":
            self.i += 1
        self.skip_blank(newlines=False)
        self.value(path)

    def run(self) -> dict[Key, tuple[int, int]]:
        table: Key = ()
        while True:
            self.skip_blank(newlines=True)
            if self.i >= len(self.text):
                return self.positions
            if self.peek(2) == "[[":
                bracket = self.i
                self.i += 2
                parts = self.key()
                base = tuple(name for name, _ in parts)
                index = self.array_tables.get(base, 0)
                self.array_tables[base] = index + 1
                self.record(base, bracket)
                self.record((*base, index), bracket)
                path: Key = ()
                for name, offset in parts:
                    path = (*path, name)
                    self.record(path, offset)
                table = (*base, index)
                self.i = self.text.find("]]", self.i) + 2
            elif self.peek() == "[":
                bracket = self.i
                self.i += 1
                parts = self.key()
                self.record(tuple(name for name, _ in parts), bracket)
                path = ()
                for name, offset in parts:
                    path = (*path, name)
                    self.record(path, offset)
                table = path
                self.i = self.text.find("]", self.i) + 1
            else:
                self.pair(table)


def _escaped(text: str, index: int) -> bool:
    backslashes = 0
    while index - backslashes - 1 >= 0 and text[index - backslashes - 1] == "\\":
        backslashes += 1
    return backslashes % 2 == 1


def key_positions(text: str) -> dict[Key, tuple[int, int]]:
    """The 1-based (line, column) of every key of a valid TOML text, by path.

    Table headers count as the position of their table; keys inside an array of tables get
    the index of their table (`("environments", 0, "base_url")`); array elements are found
    under their index. The first place a path is written wins.
    """
    return _Scanner(text).run()


__all__ = [
    "PROJECT_FILE",
    "Environment",
    "Project",
    "ProjectError",
    "check_project",
    "display_path",
    "find_project",
    "key_positions",
    "load_project",
    "schema_text",
    "variable_name_ok",
]
