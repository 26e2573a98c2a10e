"""`--project`, `--env` and `--all`: the commands' side of `provisioner.toml`.

Without a project file (none in the working directory or above, no `--project`) the commands
behave exactly as before. With one, PATH arguments default to its `paths`, and `--env NAME`
runs the command against that environment's store with its overlays merged in
(`provisioner.overlay`). Under `--env` the store comes from the project file only: the
`EPCC_*` variables are ignored, and `--base-url`, `--client-id`, `--client-secret`, `--db` and
`--local` on the command line are refused as ambiguous (`--rate-limit` still overrides).
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click
from click.core import ParameterSource

from provisioner.commands._target import Target, describe, open_client
from provisioner.config import load_desired
from provisioner.errors import TargetError
from provisioner.model import State
from provisioner.project import Environment, Project, find_project, load_project

if TYPE_CHECKING:
    from provisioner.client import Client

F = TypeVar("F", bound=Callable[..., Any])

# Store options that `--env` replaces; given on the command line with it, they are refused.
_STORE_OPTIONS = {
    "base_url": "--base-url",
    "client_id": "--client-id",
    "client_secret": "--client-secret",
    "db": "--db",
    "local": "--local",
}
# Under `--env` the client reads no variable (the project names the store): `open_client`
# gets this empty mapping instead of os.environ.
NO_VARIABLES: Mapping[str, str] = {}


@dataclass(frozen=True)
class Choice:
    """What the project options asked for."""

    project_file: Path | None = None
    env: str | None = None
    all: bool = False

    @property
    def wants_project(self) -> bool:
        return self.project_file is not None or self.env is not None or self.all


def project_options(*, all_flag: bool = True) -> Callable[[F], F]:
    """Add `--project FILE`, `--env NAME` (and `--all`); the command receives `choice`."""

    def decorate(func: F) -> F:
        @functools.wraps(func)
        def wrapper(*args: Any, project_file: Path | None, env: str | None, **kwargs: Any) -> Any:
            all_envs = bool(kwargs.pop("all_envs", False))
            if env is not None and all_envs:
                raise click.UsageError("--env and --all exclude each other: choose one.")
            choice = Choice(project_file, env, all_envs)
            return func(*args, choice=choice, **kwargs)

        options = [
            click.option(
                "--project",
                "project_file",
                type=click.Path(dir_okay=False, path_type=Path),
                metavar="FILE",
                help="The project file (default: provisioner.toml here or in a parent).",
            ),
            click.option(
                "--env",
                metavar="NAME",
                help="Run against this environment of the project file (its store, its overlays).",
            ),
        ]
        if all_flag:
            options.append(
                click.option(
                    "--all",
                    "all_envs",
                    is_flag=True,
                    help="Every environment of the project file.",
                )
            )
        decorated: Any = wrapper
        for option in reversed(options):
            decorated = option(decorated)
        return decorated  # type: ignore[no-any-return]

    return decorate


def load_chosen(choice: Choice, *, needed: bool) -> Project | None:
    """The project: the `--project` file, else the nearest `provisioner.toml` when the command
    needs one (`needed`: no PATH given) or asked for an environment; None without one."""
    if choice.project_file is not None:
        return load_project(choice.project_file)
    if not (needed or choice.wants_project):
        return None
    found = find_project()
    if found is None:
        if choice.wants_project:
            flag = "--env" if choice.env is not None else "--all"
            raise TargetError(
                f"{flag} needs a project file: no provisioner.toml in {Path.cwd()} or any "
                "directory above it (or name one with --project FILE)."
            )
        return None
    return load_project(found)


def shared_paths(paths: Sequence[Path], project: Project | None) -> list[Path]:
    """PATH arguments as given, else the project's `paths`; a usage error without either."""
    if paths:
        return list(paths)
    if project is not None and project.paths:
        return list(project.paths)
    raise click.UsageError(
        "Missing argument 'PATH...': give the flows files or directories, or run in a "
        "project (provisioner.toml with `paths`)."
    )


def desired_state(project: Project, env: Environment, paths: Sequence[Path]) -> State:
    """The environment's desired state: PATHS (or the project's) with its overlays merged."""
    from provisioner.overlay import load_environment  # only under --env (issue 16)

    return load_environment(shared_paths(paths, project), env.overlays)


def refuse_store_options() -> None:
    """Store options on the command line contradict `--env`: say so rather than guess."""
    context = click.get_current_context(silent=True)
    if context is None:
        return
    for name, flag in _STORE_OPTIONS.items():
        if context.get_parameter_source(name) == ParameterSource.COMMANDLINE:
            raise click.UsageError(
                f"{flag} cannot be combined with --env or --all: the project file names each "
                "environment's store."
            )


def env_target(env: Environment, base: Target, environ: Mapping[str, str] | None = None) -> Target:
    """The store of `env`: its base URL and the credentials in the variables it names, or its
    embedded local store. `base` brings `--rate-limit` and `--verbose` from the command line."""
    environ = os.environ if environ is None else environ
    rate_limit = _command_line_rate_limit(base) or env.rate_limit
    if env.embedded:
        return Target(
            local=True,
            db=env.db,
            rate_limit=rate_limit,
            verbose=base.verbose,
            sources={"db": env.db_source or f"the database of environment `{env.name}`"},
        )
    client_id = client_secret = None
    if not env.client_id_env:
        raise TargetError(
            f"environment `{env.name}` has a base_url but no client id: add "
            f'`client_id_env = "NAME_OF_ITS_VARIABLE"` to [environments.{env.name}] in '
            "provisioner.toml (and client_secret_env to write)."
        )
    # Blank counts as unset, whitespace around a value never counts (as for EPCC_*).
    client_id = (environ.get(env.client_id_env) or "").strip() or None
    if client_id is None:
        raise TargetError(
            f"environment `{env.name}`: the variable {env.client_id_env} (its client id) "
            "is not set."
        )
    if env.client_secret_env:
        client_secret = (environ.get(env.client_secret_env) or "").strip() or None
    return Target(
        base_url=env.base_url,
        client_id=client_id,
        client_secret=client_secret,
        rate_limit=rate_limit,
        verbose=base.verbose,
        credential_hint=" and ".join(
            name for name in (env.client_id_env, env.client_secret_env) if name
        ),
        secret_hint=secret_hint(env),
    )


def secret_hint(env: Environment) -> str:
    """What to set for `env` to write: its secret's variable, or the key to add."""
    if env.client_secret_env:
        return env.client_secret_env
    return (
        f"a variable holding its client secret and name it with `client_secret_env` in "
        f"[environments.{env.name}] of provisioner.toml"
    )


def require_secret(selected: Selected) -> None:
    """`apply --env NAME` on a store without a client secret: refused before anything is
    read (the promotion-order check included), naming the variable to set."""
    from provisioner.errors import ReadOnlyError

    target = selected.target
    if selected.env is None or selected.project is None or target.embedded:
        return
    if target.client_secret is None:
        env = selected.project.environment(selected.env)
        raise ReadOnlyError(
            f"apply --env {selected.env} needs write access, and without a client secret the "
            f"client uses the implicit grant, which can only read: set {secret_hint(env)}. "
            "`provisioner plan` shows the changes with read-only credentials. Nothing was "
            "read or applied."
        )


def _command_line_rate_limit(base: Target) -> float | None:
    context = click.get_current_context(silent=True)
    if context is not None and context.get_parameter_source("rate_limit") in (
        ParameterSource.COMMANDLINE,
    ):
        return base.rate_limit
    return None


def describe_env(name: str, target: Target, purpose: str = "") -> str:
    """The store line with the environment's name first:
    `Environment staging: using the store at https://... .`"""
    if target.embedded:
        text = f"using the embedded local store at {target.db}"
    else:
        text = describe(target).rstrip(".")
        text = text[:1].lower() + text[1:]
    return f"Environment {name}: {text}{f' ({purpose})' if purpose else ''}."


def open_store(
    target: Target, env_name: str | None, *, max_in_flight: int | None = None
) -> AbstractAsyncContextManager[Client]:
    """`open_client` for the command's store: under `--env` the line naming the store names
    the environment, and no `EPCC_*` variable is read."""
    if env_name is None:
        return open_client(target, max_in_flight=max_in_flight)
    return open_client(
        target, NO_VARIABLES, max_in_flight=max_in_flight, line=describe_env(env_name, target)
    )


@dataclass(frozen=True)
class Selected:
    """What a store command runs on: its desired state's paths or state, store and name."""

    target: Target
    env: str | None
    paths: list[Path]
    project: Project | None


def select(choice: Choice, paths: Sequence[Path], target: Target) -> Selected:
    """Resolve `--project`/`--env` for `plan`, `apply` and `export`."""
    project = load_chosen(choice, needed=not paths)
    if choice.env is None:
        return Selected(target, None, list(paths), project)
    assert project is not None
    refuse_store_options()
    env = project.environment(choice.env)
    return Selected(env_target(env, target), choice.env, list(paths), project)


def load_selected(selected: Selected) -> State:
    """The desired state of the selection: the environment's merged files, or PATHS."""
    if selected.env is not None and selected.project is not None:
        env = selected.project.environment(selected.env)
        return desired_state(selected.project, env, selected.paths)
    return load_desired(shared_paths(selected.paths, selected.project))


def record_path(project: Project, name: str) -> Path:
    """Where the applied record of environment `name` is kept (`provisioner.drift`)."""
    return project.file.parent / ".provisioner" / "applied" / f"{name}.json"


def read_record(project: Project, name: str) -> dict[str, str] | None:
    """The objects of the environment's applied record; None when there is none (or it is
    not one we can read: drift is then unknown, never guessed)."""
    path = record_path(project, name)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    from provisioner.drift import recorded_objects  # only with a project (issue 16)

    return recorded_objects(document)


def write_record(project: Project, name: str, desired: State) -> None:
    """Remember that the environment's store now matches `desired` (written atomically)."""
    from provisioner.drift import record  # only with a project (issue 16)

    path = record_path(project, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(record(name, desired), indent=1) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def select_all(choice: Choice) -> Project:
    """The project for `--all` (store options on the command line are refused)."""
    refuse_store_options()
    project = load_chosen(choice, needed=True)
    assert project is not None  # load_chosen raises without one under --all
    return project


def remember(selected: Selected, desired: State | None) -> None:
    """After `apply --env` left the store matching the files: the applied record."""
    if selected.env is not None and selected.project is not None and desired is not None:
        write_record(selected.project, selected.env, desired)
