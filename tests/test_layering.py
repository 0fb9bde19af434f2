"""No module-level import cycle between fgalign's modules (issue 13), and the layers of
docs/layout.md: ``engine`` (no Ray, no task) < ``ray`` (only Ray) < ``experiment``.

The cycle test counts module-level imports (function bodies and ``TYPE_CHECKING`` blocks are
not executed at import); a package's ``__init__`` re-exporting its own submodules is not a
cycle. The layer test counts every import: function-level, ``TYPE_CHECKING`` and
``importlib.import_module`` of a module named by a string.
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


def _imports(name: str, path: Path, mods: dict[str, Path], every: bool = False) -> set[str]:
    """fgalign modules ``name`` imports: at module level, or ``every`` import (function
    bodies, ``TYPE_CHECKING``, a module named by a string constant, e.g. importlib)."""
    found: set[str] = set()

    def visit(body: list[ast.stmt]) -> None:
        if every:
            body = [n for n in ast.walk(ast.Module(body=body, type_ignores=[]))
                    if isinstance(n, ast.stmt)]
            found.update(n.value for b in body for n in ast.walk(b) if isinstance(n, ast.Constant)
                         and isinstance(n.value, str) and n.value in mods)
        for n in body:
            if isinstance(n, ast.If) and "TYPE_CHECKING" in ast.unparse(n.test) and not every:
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
            elif isinstance(n, (ast.If, ast.Try)) and not every:
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


def _with_packages(m: str, deps: set[str], mods: dict[str, Path]) -> set[str]:
    """``deps`` plus the packages above each one that ``m`` is not inside: importing
    ``a.b.c`` runs ``a/b/__init__.py`` first (whose imports can lead back to ``m``)."""
    out = set(deps)
    for d in deps:
        parts = d.split(".")
        out.update(p for p in (".".join(parts[:i]) for i in range(2, len(parts)))
                   if p in mods and p != m and not m.startswith(p + "."))
    return out


def _cycles(every: bool) -> tuple[int, list[list[str]]]:
    mods = _modules()
    graph = {m: _with_packages(m, _imports(m, p, mods, every), mods) for m, p in mods.items()}
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
    return len(graph), cycles


def test_no_module_level_import_cycle():
    n, cycles = _cycles(every=False)
    assert n > 100 and cycles == [], cycles[:5]


def test_no_import_cycle_counting_every_import():
    """Also counting imports in function bodies, under ``TYPE_CHECKING`` and modules named by
    a string (``importlib``): the schema (``fgalign.config``) never looks up the tasks or the
    registries above it; ``fgalign.load`` does (issue 18)."""
    n, cycles = _cycles(every=True)
    assert n > 100 and cycles == [], cycles[:5]


# package → the fgalign packages it must not import, at any level (docs/layout.md)
FORBIDDEN = {
    "fgalign.engine": ("fgalign.ray", "fgalign.experiment", "fgalign.tasks", "fgalign.align",
                       "fgalign.regions", "fgalign.keywords", "fgalign.models", "fgalign.embed",
                       "fgalign.adapt", "fgalign.data"),
    "fgalign.ray": ("fgalign.experiment", "fgalign.tasks", "fgalign.adapt", "fgalign.align"),
    "fgalign.experiment": ("fgalign.commands", "fgalign.adapt", "fgalign.sweep",
                           "fgalign.ablate", "fgalign.bench"),
}


def test_layers_import_only_down():
    mods = _modules()
    bad = []
    for m, p in sorted(mods.items()):
        for pkg, forbidden in FORBIDDEN.items():
            if m == pkg or m.startswith(pkg + "."):
                bad += [f"{m} -> {d}" for d in sorted(_imports(m, p, mods, every=True))
                        if d.startswith(forbidden)]
    assert bad == [], bad


def test_few_in_function_imports_each_with_a_reason():
    """Imports of fgalign modules inside functions (outside the CLI's commands/ and bench/,
    which import their library when run): at most 8, each under a comment saying why."""
    found, silent = [], []
    for p in sorted(LIB.rglob("*.py")):
        rel = p.relative_to(LIB.parent).as_posix()
        if rel.startswith(("fgalign/commands/", "fgalign/bench/")):
            continue
        lines = p.read_text().splitlines()
        for fn in ast.walk(ast.parse(p.read_text())):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for n in ast.walk(fn):
                mod = (n.module or "") if isinstance(n, ast.ImportFrom) else \
                    " ".join(a.name for a in n.names) if isinstance(n, ast.Import) else ""
                if mod.startswith("fgalign"):
                    found.append(f"{rel}:{n.lineno}")
                    above = lines[max(0, n.lineno - 4): n.lineno]
                    if not any(ln.strip().startswith("#") for ln in above):
                        silent.append(f"{rel}:{n.lineno}")
    assert len(found) <= 8 and silent == [], (found, silent)
