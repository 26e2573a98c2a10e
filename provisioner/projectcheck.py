"""Checking a project file's data: the JSON Schema, then the rules a schema cannot say.

An `after` naming no environment or making a cycle, credentials for an embedded store, a secret
written where a variable name belongs, paths that do not exist: each a located `Diagnostic`.
Used by `provisioner.project.check_project`; values that could be secrets are never quoted back.
"""

from __future__ import annotations

import difflib
import functools
import graphlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from provisioner.errors import Diagnostic, TargetError
from provisioner.project import (
    STATE_DIR,
    Environment,
    Project,
    did_you_mean,
    display_path,
    schema_text,
)
from provisioner.schemacheck import Check, compile_schema
from provisioner.storeurl import (
    BASE_URL_EXPECTED,
    RATE_LIMIT_EXPECTED,
    base_url_rule,
    rate_limit_ok,
)
from provisioner.tomlkeys import Key

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


@functools.cache
def _validator() -> Any:
    from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

    return Draft202012Validator(json.loads(schema_text()))


@functools.cache
def _valid() -> Check | None:
    """The schema compiled into a valid-or-not check (`schemacheck`): a valid project file
    never imports jsonschema (~0.1 s of start-up for every `--env`/`--all` command, issue 13);
    jsonschema words the errors of one that is not (the check is never laxer than it)."""
    return compile_schema(json.loads(schema_text()))


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


def _pattern_message(last: str | int | None, instance: Any) -> tuple[str, str]:
    if last in ("client_id_env", "client_secret_env"):
        return (
            "this is not the name of an environment variable (a secret written into the "
            "file?); the value is not shown",
            "the NAME of a variable: upper-case letters, digits and `_`, e.g. "
            "STAGING_EPCC_CLIENT_SECRET",
        )
    if last == "base_url":
        return _base_url_message(instance)
    return f"`{instance}` is not a valid environment name", "letters, digits, `_` and `-`"


def _base_url_message(url: str) -> tuple[str, str]:
    """Why `url` is no store's API root, by the rule `EPCC_API_BASE_URL` goes through; a
    user name, password, query or fragment (where a secret would sit) is never quoted."""
    if "@" in url or "?" in url or "#" in url:
        return (
            "holds a user name, password, query string or fragment (a secret written into the "
            "file?); the value is not shown",
            f"the API root alone, {BASE_URL_EXPECTED}; credentials go in the variables "
            "client_id_env and client_secret_env name",
        )
    try:
        base_url_rule(url, "base_url")
    except TargetError as error:
        return str(error), ""  # the message says what was expected
    return "not a store's API root", BASE_URL_EXPECTED


def _keyword_message(path: Key, error: Any) -> tuple[str, str]:
    """(message, expected) for a schema error of one value (a type, a pattern, a bound)."""
    kind, instance = error.validator, error.instance
    if kind == "type":
        types = error.validator_value
        words = [types] if isinstance(types, str) else types
        return f"got {_describe(instance)}", " or ".join(_TYPE_WORDS.get(t, t) for t in words)
    if kind == "pattern":
        return _pattern_message(path[-1] if path else None, instance)
    fixed = {
        "minItems": ("is empty", "at least one path"),
        "minLength": ("is empty", "a path"),
        "minimum": (f"got {instance}", RATE_LIMIT_EXPECTED),
        "maximum": (f"got {instance}", RATE_LIMIT_EXPECTED),
        "uniqueItems": ("names an environment twice", "each environment once"),
    }
    # Every keyword of our schema is handled above; anything else keeps jsonschema's words.
    return fixed.get(kind, (str(error.message), ""))


class Checker:
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
        check = _valid()
        if check is None or not check(self.data):
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
        if error.validator == "additionalProperties":
            self.unknown_keys(path, error)
        elif "propertyNames" in error.absolute_schema_path:
            self.add(
                (*path, str(error.instance)),
                f"`{error.instance}` is not a valid environment name",
                "letters, digits, `_` and `-`",
            )
        else:
            self.add(path, *_keyword_message(path, error))

    def unknown_keys(self, path: Key, error: Any) -> None:
        allowed = sorted(error.schema.get("properties", {}))
        for key in error.instance:
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
        self.store_values(base, env)
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
                hint = did_you_mean(other, list(environments))
                self.add(
                    (*base, "after", index),
                    f"`{other}` names no environment{hint}",
                    "one of " + ", ".join(environments),
                )

    def store_values(self, base: Key, env: dict[str, Any]) -> None:
        """`rate_limit` and `base_url` by the rules `--rate-limit` and `EPCC_API_BASE_URL` go
        through (the schema cannot refuse `nan`, nor a port past 65535)."""
        rate = env.get("rate_limit")
        rate_path = (*base, "rate_limit")
        if (
            isinstance(rate, int | float)
            and not isinstance(rate, bool)
            and rate_path not in self.bad
            and not rate_limit_ok(rate)
        ):
            self.add(rate_path, f"got {rate}", RATE_LIMIT_EXPECTED)
        url = env.get("base_url")
        url_path = (*base, "base_url")
        if isinstance(url, str) and url_path not in self.bad:
            try:
                base_url_rule(url, "base_url")
            except TargetError:
                self.add(url_path, *_base_url_message(url))

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
            line, column = self.locate(("environments", name, "db"))
            environments[name] = Environment(
                name=name,
                base_url=env.get("base_url"),
                client_id_env=env.get("client_id_env"),
                client_secret_env=env.get("client_secret_env"),
                rate_limit=float(env["rate_limit"]) if "rate_limit" in env else None,
                overlays=tuple(resolve(item) for item in env.get("overlays", ())),
                after=tuple(env.get("after", ())),
                db=resolve(db) if db else display_path(root / STATE_DIR / f"{name}.sqlite"),
                db_source=f"{self.name}:{line}:{column}: `db` of [environments.{name}]"
                if db
                else "",
            )
        return Project(
            file=display_path(file),
            paths=tuple(resolve(item) for item in self.data.get("paths", ())),
            environments=environments,
        )
