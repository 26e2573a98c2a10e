"""What the passes share: a loaded file under its name, and the diagnostics collected."""

from __future__ import annotations

from dataclasses import dataclass

from provisioner.errors import Diagnostic
from provisioner.yamlload import LoadedDocument, PathKey


@dataclass(frozen=True)
class Source:
    """One loaded file, under the name diagnostics use for it."""

    name: str
    document: LoadedDocument


class Report:
    """Collects diagnostics; keeps the most specific one per file, place and path."""

    def __init__(self) -> None:
        self._best: dict[tuple[str, int, int, str], tuple[int, Diagnostic]] = {}

    def add(self, diagnostic: Diagnostic, specificity: int = 0) -> None:
        key = (diagnostic.file, diagnostic.line, diagnostic.column, diagnostic.path)
        current = self._best.get(key)
        if current is None or specificity > current[0]:
            self._best[key] = (specificity, diagnostic)

    def diagnostics(self) -> list[Diagnostic]:
        return sorted(diagnostic for _, diagnostic in self._best.values())


def dotted(path: PathKey) -> str:
    """`flows.customers.fields.x`: a path as diagnostics print it."""
    return ".".join(str(part) for part in path)
