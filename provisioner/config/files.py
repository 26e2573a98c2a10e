"""Which files a command reads: the paths given, directories as their YAML files."""

from __future__ import annotations

import errno
import os
from collections.abc import Sequence
from pathlib import Path

from provisioner.errors import Diagnostic

YAML_SUFFIXES = (".yaml", ".yml")

_LINK_EXPECTED = "a link to a readable file, or no link"


def _broken_link(path: Path) -> str:
    """Why the symbolic link `path` leads nowhere (dangling, or a loop); "" when it is fine."""
    if not path.is_symlink():
        return ""
    try:
        path.resolve(strict=True)
    except RuntimeError:  # Python 3.11 reports a loop this way
        return "symbolic link loop"
    except OSError as error:
        if error.errno == errno.ELOOP:
            return "symbolic link loop"
        if error.errno == errno.ENOENT:
            return f"broken symbolic link (to {os.readlink(path)}, which does not exist)"
        return f"cannot follow the symbolic link: {error.strerror or error}"
    return ""


def _directory_files(path: Path, diagnostics: list[Diagnostic]) -> list[Path]:
    """The YAML files of the directory `path` in name order (hidden ones skipped); a broken
    link among them, or none at all, is a diagnostic."""
    found = []
    for child in sorted(path.iterdir()):
        if child.name.startswith(".") or child.suffix.lower() not in YAML_SUFFIXES:
            continue
        broken = _broken_link(child)
        if broken:
            diagnostics.append(Diagnostic(str(child), 0, 0, "", broken, _LINK_EXPECTED))
        elif child.is_file():
            found.append(child)
    if not found and not any(d.file.startswith(str(path)) for d in diagnostics):
        diagnostics.append(
            Diagnostic(
                str(path),
                0,
                0,
                "",
                "no *.yaml or *.yml files in this directory",
                "YAML files (subdirectories are not read)",
            )
        )
    return found


def _named_files(path: Path, diagnostics: list[Diagnostic]) -> list[Path]:
    """The file or directory `path` names, as a list of files."""
    if path.is_dir():
        return _directory_files(path, diagnostics)
    if path.exists():
        return [path]
    broken = _broken_link(path)
    if broken:
        diagnostics.append(Diagnostic(str(path), 0, 0, "", broken, _LINK_EXPECTED))
    else:
        diagnostics.append(
            Diagnostic(str(path), 0, 0, "", "no such file or directory", "a file or directory")
        )
    return []


def find_yaml_files(paths: Sequence[str | Path]) -> tuple[list[Path], list[Diagnostic]]:
    """The files `paths` name: files as given, directories as their `*.yaml`/`*.yml` files (the
    suffix in any case: `*.YAML` too) in name order (not recursive; hidden files skipped). A
    broken symbolic link or a link loop is a problem naming it, never skipped silently. Each
    file once, in the order given."""
    files: list[Path] = []
    seen: set[Path] = set()
    diagnostics: list[Diagnostic] = []
    for raw in paths:
        for file in _named_files(Path(raw), diagnostics):
            resolved = file.resolve()
            if resolved not in seen:
                seen.add(resolved)
                files.append(file)
    return files, diagnostics
