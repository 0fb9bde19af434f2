"""No module-level import cycle between fgalign's modules (issue 13).

Module-level imports only (function bodies and ``TYPE_CHECKING`` blocks are not executed at
import); a package's ``__init__`` re-exporting its own submodules is not a cycle.
"""
import ast
from pathlib import Path

LIB = Path(__file__).parents[1] / "fgalign"


def _modules() -> dict[str, Path]:
    out = {}
    for p in LIB.rglob("*.py"):
        name = ".".join(p.relative_to(LIB.parent).with_suffix("").parts)
        out[name.removesuffix(".__init__")] = p
    return out


def _imports(name: str, path: Path, mods: dict[str, Path]) -> set[str]:
    found: set[str] = set()

    def visit(body: list[ast.stmt]) -> None:
        for n in body:
            if isinstance(n, ast.If) and "TYPE_CHECKING" in ast.unparse(n.test):
                continue
            if isinstance(n, ast.Import):
                found.update(a.name for a in n.names)
            elif isinstance(n, ast.ImportFrom) and n.module:
                base = n.module
                if n.level:
                    pkg = name.split(".")[: len(name.split(".")) - (path.name != "__init__.py")]
                    base = ".".join(pkg[: len(pkg) - n.level + 1] + [n.module])
                found.add(base)
                found.update(f"{base}.{a.name}" for a in n.names if f"{base}.{a.name}" in mods)
            elif isinstance(n, (ast.If, ast.Try)):
                visit(n.body)
                visit(n.orelse)
                for h in getattr(n, "handlers", []):
                    visit(h.body)

    visit(ast.parse(path.read_text()).body)
    out = set()
    for m in found:
        while m not in mods and "." in m:
            m = m.rsplit(".", 1)[0]
        if m in mods and m != name and m.startswith("fgalign") and not name.startswith(m + "."):
            out.add(m)
    return out


def test_no_module_level_import_cycle():
    mods = _modules()
    graph = {m: _imports(m, p, mods) for m, p in mods.items()}
    # a module's own package __init__ importing it back is a re-export, not a cycle
    graph = {m: {d for d in deps if not (m.startswith(d + ".") and mods[d].name == "__init__.py")}
             for m, deps in graph.items()}
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def dfs(m: str, path: list[str]) -> None:
        state[m] = 1
        for d in sorted(graph[m]):
            if state.get(d) == 1:
                cycles.append(path[path.index(d):] + [d] if d in path else [m, d])
            elif d not in state:
                dfs(d, path + [d])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            dfs(m, [m])
    assert len(graph) > 100 and cycles == [], cycles[:5]
