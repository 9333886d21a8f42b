"""The house: the import graph of scripts/ has no circles (imports inside functions count), an import inside a
function is only ever one of an optional extra and says so, nemo_local shows its parts at the top, no module is
too long to read, and README's figures are the draft module's."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from nemo_local import draft

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = ROOT / "scripts"
PACKAGES = ("nemo_skill", "nemo_local")
MAX_LINES = 400


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (SCRIPTS / package).rglob("*.py"):
            parts = list(path.relative_to(SCRIPTS).with_suffix("").parts)
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def type_checking(tree: ast.AST) -> set[int]:
    """Lines inside `if TYPE_CHECKING:` blocks (imports for types only, never run)."""
    lines = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", getattr(node.test, "attr", "")) == "TYPE_CHECKING":
            lines |= {n.lineno for sub in node.body for n in ast.walk(sub) if hasattr(n, "lineno")}
    return lines


def imports(path: Path, name: str, known: dict[str, Path]) -> set[str]:
    """The project modules a module imports, wherever the import stands (a function's too)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = type_checking(tree)
    found = set()
    for node in ast.walk(tree):
        if getattr(node, "lineno", None) in skip:
            continue
        targets: list[str] = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
                base = ".".join(here[: len(here) - node.level + 1] + ([base] if base else []))
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    out.append(sorted(component))
    return out


def test_the_cycle_finder_finds_a_circle_through_a_function_import(tmp_path: Path) -> None:
    known = {"pkg.a": tmp_path / "a.py", "pkg.b": tmp_path / "b.py", "pkg.c": tmp_path / "c.py"}
    known["pkg.a"].write_text("from pkg.b import x\n")
    known["pkg.b"].write_text("def f():\n    from pkg.a import y\n")
    known["pkg.c"].write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg.a import z\n")
    graph = {name: imports(path, name, known) for name, path in known.items()}
    assert circles(graph) == [["pkg.a", "pkg.b"]]
    assert graph["pkg.c"] == set()


def test_no_import_circles_in_scripts() -> None:
    known = modules()
    graph = {name: imports(path, name, known) for name, path in known.items()}
    assert len(graph) > 50 and circles(graph) == []


def test_an_import_inside_a_function_is_an_optional_extra_and_says_so() -> None:
    for name, path in modules().items():
        lines = path.read_text(encoding="utf-8").splitlines()
        tree = ast.parse("\n".join(lines))
        skip = type_checking(tree)
        for func in ast.walk(tree):
            if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            for node in ast.walk(func):
                if isinstance(node, ast.Import | ast.ImportFrom) and node.lineno not in skip:
                    assert "extra" in lines[node.lineno - 1], f"{name}:{node.lineno} imports inside a function " \
                                                             "without saying which optional extra it waits for"


def test_nemo_local_shows_its_parts_at_the_top() -> None:
    entries = [p.name for p in (SCRIPTS / "nemo_local").iterdir() if p.name != "__pycache__"]
    assert len(entries) <= 8, entries
    packages = [p.name for p in (SCRIPTS / "nemo_local").iterdir() if (p / "__init__.py").is_file()]
    overview = (SCRIPTS / "nemo_local" / "__init__.py").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for package in packages:
        assert re.search(rf"^\s+{package}/\s", overview, re.M), f"nemo_local/__init__.py does not describe {package}/"
        assert f"`scripts/nemo_local/{package}/`" in readme, f"README does not list nemo_local/{package}/"


@pytest.mark.parametrize("path", sorted(p for package in PACKAGES for p in (SCRIPTS / package).rglob("*.py")),
                         ids=lambda p: str(p.relative_to(SCRIPTS)))
def test_no_module_is_too_long_to_read(path: Path) -> None:
    assert len(path.read_text(encoding="utf-8").splitlines()) <= MAX_LINES


def test_readme_states_the_draft_limits_the_schema_enforces() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    row = next(line for line in readme.splitlines() if "nemo_local/draft.py" in line and "tracks" in line)
    stated = {key: int(value) for value, key in re.findall(r"<= (\d+) (chars|tracks|segments|KB)", row)}
    stated["depth"] = int(re.search(r"depth <= (\d+)", row)[1])   # type: ignore[index]
    assert stated == {"chars": draft.MAX_TEXT, "tracks": draft.MAX_TRACKS, "segments": draft.MAX_SEGMENTS,
                      "KB": draft.MAX_DRAFT_BYTES // 1024, "depth": draft.MAX_DEPTH}
