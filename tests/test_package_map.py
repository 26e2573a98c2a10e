"""README's package map (Development) lists exactly the modules of `provisioner/`."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "provisioner"


def mapped_modules(readme: str) -> set[str]:
    """The `.py` paths the map's tree names: two spaces of indent per directory level."""
    start = readme.index("```text\nprovisioner/\n")
    block = readme[start:].split("\n", 1)[1].split("```", 1)[0]
    modules: set[str] = set()
    parents: list[str] = []
    for line in block.splitlines():
        if not line.strip():
            continue
        depth = (len(line) - len(line.lstrip(" "))) // 2
        name = line.split()[0]
        parents = parents[:depth]
        if name.endswith("/"):
            parents.append(name.rstrip("/"))
        else:
            modules.add("/".join([*parents, name]))
    return modules


def test_the_package_map_lists_every_module_and_no_other() -> None:
    listed = mapped_modules((ROOT / "README.md").read_text(encoding="utf-8"))
    present = {str(path.relative_to(ROOT)) for path in PACKAGE.rglob("*.py")}
    missing = sorted(present - listed)
    extra = sorted(listed - present)
    problems = [f"{module} is not in README's package map (Development)" for module in missing]
    problems += [f"{module} is in README's package map but not in the tree" for module in extra]
    assert not problems, "\n".join(problems)


def test_the_map_reader_sees_a_missing_and_an_extra_module() -> None:
    text = "```text\nprovisioner/\n  a.py  x\n  sub/  y\n    b.py  z\n  c.py  w\n```\n"
    assert mapped_modules(text) == {"provisioner/a.py", "provisioner/sub/b.py", "provisioner/c.py"}
