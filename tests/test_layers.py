"""The architecture's hard rules, checked in a fresh interpreter (DESIGN §1, STYLE §4)."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys

import shiptrack_tui.core


def _modules_loaded_by(imports: list[str]) -> set[str]:
    code = (
        "import importlib, json, sys\n"
        f"for name in {imports!r}: importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return {name.split(".")[0] for name in json.loads(out.stdout)}


def test_headless_modules_never_load_the_ui() -> None:
    loaded = _modules_loaded_by(["shiptrack_tui.engine", "shiptrack_tui.daemon", "shiptrack_tui.cli"])
    assert "textual" not in loaded
    assert "rich" not in loaded


def test_core_imports_the_standard_library_only() -> None:
    core = [f"shiptrack_tui.core.{m.name}" for m in pkgutil.iter_modules(shiptrack_tui.core.__path__)]
    loaded = _modules_loaded_by(core)
    for library in ("aiohttp", "httpx", "peewee", "apprise", "tomlkit", "textual", "rich", "platformdirs"):
        assert library not in loaded, f"the pure core loaded {library}"


def test_the_http_surface_never_imports_the_engine_or_the_ui() -> None:
    """web/ sees the engine only through the callables its composition root hands it (DESIGN §1)."""
    code = ("import json, sys\nimport shiptrack_tui.web\n"
            "print(json.dumps(sorted(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(json.loads(out.stdout))
    assert not {name for name in loaded if name.startswith(("shiptrack_tui.engine", "shiptrack_tui.tui"))}
    assert not {"textual", "rich"} & {name.split(".")[0] for name in loaded}


def _storage_imports() -> dict[str, set[str]]:
    """storage module -> the storage modules it imports, anywhere in it (lazy and TYPE_CHECKING
    imports too: a circle hidden in a function is still a circle)."""
    import ast
    from pathlib import Path

    import shiptrack_tui.storage as storage

    package = "shiptrack_tui.storage"
    root = Path(storage.__file__).parent
    modules = {path.stem for path in root.glob("*.py")}
    graph: dict[str, set[str]] = {}
    for path in root.glob("*.py"):
        edges = graph.setdefault(path.stem, set())
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module == package:
                # `from shiptrack_tui.storage import x`: the module x, or the package's __init__
                edges.update(alias.name if alias.name in modules else "__init__" for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(package + "."):
                edges.add(node.module.split(".")[2])
            elif isinstance(node, ast.Import):
                edges.update(alias.name.split(".")[2] for alias in node.names
                             if alias.name.startswith(package + "."))
        edges.discard(path.stem)
    return graph


def test_storage_modules_import_each_other_without_circles() -> None:
    graph = _storage_imports()
    assert "writer" in graph["store"] and "spans" in graph["totals"]  # the graph is really read
    done: set[str] = set()

    def visit(module: str, path: tuple[str, ...]) -> None:
        if module in path:
            raise AssertionError("import circle in storage/: " + " -> ".join((*path, module)))
        if module in done:
            return
        for imported in sorted(graph.get(module, ())):
            visit(imported, (*path, module))
        done.add(module)

    for module in sorted(graph):
        visit(module, ())
