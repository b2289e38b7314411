"""What never imports what (docs/architecture.md, Layers), read from every import statement."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[3] / "src" / "obsbox"


def _imports(path: Path) -> set[str]:
    """Every module a file imports, at the top or inside a function."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _offenders(files: list[Path], forbidden: tuple[str, ...]) -> list[str]:
    return sorted(
        f"{path.relative_to(SRC.parent)} imports {name}"
        for path in files
        for name in _imports(path)
        if name in forbidden or name.startswith(tuple(f"{f}." for f in forbidden))
    )


def test_replay_never_imports_promtool_or_importers() -> None:
    """The replay engine reads formats from obsbox.formats, never from the promtool area or the importers."""
    files = sorted((SRC / "replay").rglob("*.py")) + [SRC / "formats.py", SRC / "promql.py"]
    assert _offenders(files, ("obsbox.promtool", "obsbox.importers", "obsbox.commands")) == []


def test_formats_import_no_area() -> None:
    """obsbox.formats and obsbox.promql sit below every area: they import none of them."""
    files = [SRC / "formats.py", SRC / "promql.py"]
    areas = tuple(f"obsbox.{p.stem}" for p in SRC.iterdir() if p.is_dir() and p.name != "__pycache__")
    assert _offenders(files, areas) == []


# The pyinfra side: the deploy's operations, and the throwaway hosts of the demo and the host tests.
_PYINFRA_SIDE = (SRC / "deploy" / "operations", SRC / "hosts", SRC / "demo.py")


def test_core_never_imports_pyinfra() -> None:
    """Settings, layouts, plans, releases, renderers, local checks and the CLI import neither pyinfra nor the deploy's operations."""
    core = [p for p in sorted(SRC.rglob("*.py")) if not any(p == s or s in p.parents for s in _PYINFRA_SIDE)]
    assert SRC / "deploy" / "plan.py" in core and SRC / "commands" / "deploy.py" in core
    assert _offenders(core, ("pyinfra", "pyinfra_cli", "obsbox.deploy.operations")) == []
