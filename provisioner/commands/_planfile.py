"""Is a path a saved plan? Known by its content, not its name (issue 10 item 10): `apply`
applies it alone; `validate`, `plan` and `apply --all` say to apply it rather than listing
schema errors. Light: reads
the file, imports no client."""

from __future__ import annotations

import json
import shlex
from collections.abc import Sequence
from pathlib import Path

from provisioner.errors import ProvisionerError


def is_plan_file(path: Path) -> bool:
    """True when `path` holds a saved plan, or what is meant to be one (a `.json` file that
    is not JSON, a JSON object that mentions `format_version`)."""
    if not path.is_file():
        return False
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return path.suffix.lower() == ".json"
    if not text.lstrip().startswith("{"):
        return False
    try:
        data = json.loads(text)
    except ValueError:
        return path.suffix.lower() == ".json" or '"format_version"' in text
    if not isinstance(data, dict) or "flows" in data:
        return False
    return "format_version" in data or "operations" in data


def refuse_saved_plan(paths: Sequence[Path], doing: str, env: str | None = None) -> None:
    """One clear line when PATHS hold a saved plan where YAML is expected (`validate`, `plan`,
    `apply --all`): never the schema errors of a JSON plan read as YAML."""
    plan = next((Path(p) for p in paths if is_plan_file(Path(p))), None)
    if plan is None:
        return
    words = ["provisioner", "apply", str(plan)] + (["--env", env] if env is not None else [])
    raise ProvisionerError(
        f"{plan} is a saved plan (from `plan --out`), not YAML to {doing}: apply it with "
        f"`{' '.join(shlex.quote(w) for w in words)}` (its operations are checked when it "
        "is read)."
    )
