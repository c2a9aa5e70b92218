"""The layers of issue 12: faces (commands/, api/, web/) -> app/ -> law/engine/ledger/screening.
No module of `aiexport.app` imports `aiexport.commands`; api/ and web/ do not either; no layer
below the faces imports a face it owns here (ledger/, report/); and the `aiexport.commands.*`
modules have no import cycle. Imports inside functions count (the modules are walked with ast)."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src" / "aiexport"


def imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.level:  # a relative import: resolve it against the module's package
                pkg = ".".join(path.relative_to(SRC.parent).with_suffix("").parts[: -node.level])
                module = f"{pkg}.{node.module}"
            else:
                module = node.module
            out.add(module)
            out.update(f"{module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level:  # from . import x
            pkg = ".".join(path.relative_to(SRC.parent).with_suffix("").parts[: -node.level])
            out.update(f"{pkg}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


def _offenders(folder: str, forbidden: str) -> dict[str, list[str]]:
    found = {str(p.relative_to(SRC)): sorted(m for m in imports(p) if m == forbidden or m.startswith(forbidden + "."))
             for p in (SRC / folder).rglob("*.py")}
    return {k: v for k, v in found.items() if v}


def test_app_never_imports_commands():
    assert _offenders("app", "aiexport.commands") == {}


def test_api_and_web_call_app_not_commands():
    assert _offenders("api", "aiexport.commands") == {}
    assert _offenders("web", "aiexport.commands") == {}


def test_ledger_and_report_import_no_face():
    """No CLI code in ledger/ (its commands are commands/ledger.py); report/ renders documents from data."""
    for folder in ("ledger", "report"):
        assert _offenders(folder, "aiexport.commands") == {}, folder
    assert not (SRC / "ledger" / "cli.py").exists()


def test_the_engine_layers_import_no_face():
    """law/, screening/, engine/, batch/, io/ and auth/ return data; the memo sections and the
    notes they used to print are rendered by the faces (commands/memo_sections.py, cli._Notes)."""
    for folder in ("law", "screening", "engine", "batch", "io", "auth"):
        assert _offenders(folder, "aiexport.commands") == {}, folder


def _cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out, n = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(comp)

    for v in graph:
        if v not in index:
            visit(v)
    return out


def _commands_graph() -> dict[str, set[str]]:
    mods = {p.stem for p in (SRC / "commands").glob("*.py") if p.stem != "__init__"}
    graph = {}
    for m in mods:
        targets = set()
        for x in imports(SRC / "commands" / f"{m}.py"):
            parts = x.split(".")
            if x.startswith("aiexport.commands.") and len(parts) > 2 and parts[2] in mods:
                targets.add(parts[2])
        graph[m] = targets - {m}
    return graph


def test_commands_have_no_import_cycle():
    graph = _commands_graph()
    assert {"check", "record", "ledger"} <= set(graph)  # the walk sees the modules
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_the_import_walk_sees_imports_inside_functions(tmp_path):
    p = tmp_path / "m.py"
    p.write_text("def f():\n    from aiexport.commands.check import render_memo\n", encoding="utf-8")
    assert "aiexport.commands.check" in imports(p)
