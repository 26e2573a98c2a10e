"""Is a path a saved plan? Known by its content, not its name (issue 10 item 10): `apply`
applies it alone, `validate` says to apply it rather than listing schema errors. Light: reads
the file, imports no client."""

from __future__ import annotations

import json
from pathlib import Path


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
