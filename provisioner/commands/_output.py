"""Writing what a command produces: `export -o` files and `plan --out`.

Every file or none: each file is first written to a temporary file beside its target (a short
name, `.provisioner-XXXXXXXX.tmp`, so a long flow slug never makes the temporary name too long
when the final one fits), then all are renamed into place; if any step fails, the files already
renamed are put back as they were (a replaced file is restored, a new one removed), the
directories created for them are removed, and the error is one line naming the path and the
reason. Readers never see half a file.

A file gets the mode of the one it replaces, else the umask's (mkstemp's 0600 would hide files
meant to be committed and shared).

A target that is a symlink is followed: its target is written (atomically, in the target's
directory) and the link stays a link. A target that exists and is not a regular file (a FIFO,
a device such as /dev/full, a socket) is refused in one line: it is never replaced by a
regular file, and nothing is reported saved that was not (issue 10 follow-up).
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Mapping
from pathlib import Path

from provisioner.errors import OutputError

_PREFIX = ".provisioner-"


def refuse_existing(paths: list[Path], *, force: bool) -> None:
    """Existing targets are refused, all named, unless `force`; directories always."""
    if not force:
        existing = sorted(str(path) for path in paths if path.exists())
        if existing:
            listed = "\n".join(f"  - {path}" for path in existing)
            raise OutputError(
                f"refusing to overwrite existing file{'s' if len(existing) > 1 else ''} "
                f"(re-run with --force to replace {'them' if len(existing) > 1 else 'it'}):\n"
                f"{listed}\nNothing was written."
            )
    for path in paths:
        if path.is_dir():
            raise OutputError(f"{path} is a directory; nothing was written.")
        kind = _special_kind(path)
        if kind is not None:
            raise OutputError(
                f"{path} is {kind}, not a regular file: give the path of a file to write; "
                "nothing was written."
            )


def _special_kind(path: Path) -> str | None:
    """What an existing non-regular file is (`a FIFO`, `a character device`...), else None."""
    try:
        mode = path.stat().st_mode  # through symlinks: what would be written
    except OSError:
        return None  # absent (or a dangling link: its target is created)
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    kinds = (
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    )
    return next((name for test, name in kinds if test(mode)), "a special file")


def _followed(path: Path) -> Path:
    """The file a symlink names (through every link), so that the link is kept; else `path`."""
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def write_files(files: Mapping[Path, str], *, force: bool, what: str = "") -> None:
    """Write every file, or none (see the module docstring); `what` names them in errors."""
    try:
        refuse_existing(list(files), force=force)
    except OSError as error:  # a name too long to even look up, say
        path = Path(error.filename) if isinstance(error.filename, str) else next(iter(files))
        label = f"{what} " if what else ""
        raise OutputError(
            f"cannot write {label}{path}: {_reason(error, path)}; nothing was written."
        ) from None
    files = {_followed(path): text for path, text in files.items()}
    created: list[Path] = []
    temporary: dict[Path, Path] = {}
    done: list[tuple[Path, Path | None]] = []  # (target, backup of what it replaced)
    current = next(iter(files), Path("."))
    try:
        for path in files:
            current = path
            _make_parents(path.parent, created)
        for path, text in files.items():
            current = path
            temporary[path] = _write_temporary(path, text)
        for path, temp in temporary.items():
            current = path
            backup = _backup(path) if path.exists() else None
            try:
                os.replace(temp, path)
            except OSError:
                if backup is not None:
                    os.replace(backup, path)
                raise
            done.append((path, backup))
    except OSError as error:
        _roll_back(done, temporary, created)
        label = f"{what} " if what else ""
        raise OutputError(
            f"cannot write {label}{current}: {_reason(error, current)}; nothing was written."
        ) from None
    except BaseException:
        _roll_back(done, temporary, created)
        raise
    for _, backup in done:
        if backup is not None:
            backup.unlink(missing_ok=True)


def ensure_directory(directory: Path) -> None:
    """`directory` exists afterwards (an export of no flow still makes its `-o DIR/`), or an
    `OutputError` naming why not."""
    try:
        _make_parents(directory, [])
        if not directory.is_dir():
            raise NotADirectoryError(20, "Not a directory", str(directory))
    except OSError as error:
        probe = directory / "x"
        raise OutputError(
            f"cannot write {directory}: {_reason(error, probe)}; nothing was written."
        ) from None


def _reason(error: OSError, path: Path) -> str:
    for parent in (path.parent, *path.parent.parents):
        if parent.exists() or parent.is_symlink():
            if not parent.is_dir():
                return f"{parent} is not a directory"
            break
    return error.strerror or str(error)


def _make_parents(directory: Path, created: list[Path]) -> None:
    missing: list[Path] = []
    for parent in (directory, *directory.parents):
        if parent.exists() or parent.is_symlink():
            break
        missing.append(parent)
    for parent in reversed(missing):
        parent.mkdir()
        created.append(parent)


def _write_temporary(path: Path, text: str) -> Path:
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=_PREFIX, suffix=".tmp")
    temporary = Path(name)
    try:
        os.chmod(temporary, _mode_for(path))
        with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as stream:
            stream.write(text)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return temporary


def _backup(path: Path) -> Path:
    """Move the file `path` replaces aside (restored if a later file fails)."""
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=_PREFIX, suffix=".bak")
    os.close(handle)
    os.replace(path, name)
    return Path(name)


def _roll_back(
    done: list[tuple[Path, Path | None]], temporary: Mapping[Path, Path], created: list[Path]
) -> None:
    for path, backup in reversed(done):
        with contextlib.suppress(OSError):
            if backup is not None:
                os.replace(backup, path)
            else:
                path.unlink(missing_ok=True)
    for temp in temporary.values():
        with contextlib.suppress(OSError):
            temp.unlink(missing_ok=True)
    for directory in reversed(created):
        with contextlib.suppress(OSError):
            directory.rmdir()


def _mode_for(path: Path) -> int:
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
