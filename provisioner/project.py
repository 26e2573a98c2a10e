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
`schemas/provisioner-project.schema.json` and then by the rules a schema cannot say
(`provisioner.projectcheck`). Every problem is a located `Diagnostic`
(`provisioner.toml:7:1: environments.production.after.0: ...`); `tomllib` gives no positions,
so `provisioner.tomlkeys.key_positions` finds the line and column of every key in the text.
Values that could be secrets are never quoted back.

This module is pure: it reads files, nothing else (no network, no CLI libraries).
"""

from __future__ import annotations

import difflib
import functools
import graphlib
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from provisioner.errors import ConfigError, Diagnostic, ProjectError
from provisioner.tomlkeys import Key, key_positions

PROJECT_FILE = "provisioner.toml"
SCHEMA_FILE = "provisioner-project.schema.json"
STATE_DIR = ".provisioner"
# The embedded local store's database when nothing names another (`serve --db`, `--db`, `db`).
DEFAULT_DB_PATH = Path(STATE_DIR) / "local-store.sqlite"

_VARIABLE = re.compile(r"^[A-Z_][A-Z0-9_]*$")
_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")
_TOML_END = re.compile(r"\s*\(at end of document\)\s*$")


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
    db: Path = DEFAULT_DB_PATH
    # Where `db` was given, for errors: `provisioner.toml:4:1: \`db\` of [environments.dev]`;
    # empty for the default database.
    db_source: str = ""

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
        hint = did_you_mean(name, names)
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
    """The project and every problem in `file` (the project is None when there are any);
    `ProjectError` when the file cannot be read at all."""
    name = str(display_path(file))
    try:
        raw = file.read_bytes()
    except OSError as error:
        # Not a position in a file: no `:0:0:` (`nope.toml: cannot read the project file: ...`).
        reason = error.strerror or type(error).__name__
        raise ProjectError(f"{name}: cannot read the project file: {reason}") from None
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
    from provisioner.projectcheck import Checker  # it builds our dataclasses

    checker = Checker(name, data, key_positions(text), file.parent)
    checker.run()
    if checker.diagnostics:
        return None, sorted(set(checker.diagnostics))
    return checker.build(file), []


# ---------------------------------------------------------------------------------------------
# Checking


@functools.cache
def schema_text() -> str:
    """The JSON Schema of the project file, as shipped."""
    import importlib.resources  # with tempfile, shutil, ...: only when checking (issue 16)

    packaged = importlib.resources.files("provisioner") / "schemas" / SCHEMA_FILE
    if packaged.is_file():
        return packaged.read_text(encoding="utf-8")
    source = Path(__file__).resolve().parent.parent / "schemas" / SCHEMA_FILE
    return source.read_text(encoding="utf-8")


def did_you_mean(word: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    if not close:
        close = [c for c in candidates if c.startswith(word) or word.startswith(c)][:1]
    return f"; did you mean `{close[0]}`?" if close else ""


def variable_name_ok(name: str) -> bool:
    """True when `name` looks like an environment variable's name (not a secret)."""
    return _VARIABLE.match(name) is not None


__all__ = [
    "PROJECT_FILE",
    "Environment",
    "Key",
    "Project",
    "ProjectError",
    "check_project",
    "did_you_mean",
    "display_path",
    "find_project",
    "key_positions",
    "load_project",
    "schema_text",
    "variable_name_ok",
]
