"""The layout keeps its promises (README "Layout"): no import circles anywhere in the product, and
imports that point one way: ``api`` and ``workers`` use ``models``; ``models`` uses only
``esupervision.db`` and ``esupervision.settings`` from outside itself, never the API, the workers,
the notification gateway or the Excel/PDF writers; every domain module sits in a domain package.

The graph is read from the source with ``ast`` (every import, also those inside functions and
``if TYPE_CHECKING`` blocks: a lazy import is still a dependency), not from ``sys.modules``."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Folder → the package it installs as (pyproject.toml's package-dir).
PACKAGES = {
    "models": "esupervision.models",
    "api": "esupervision.api",
    "notify": "esupervision.notify",
    "workers": "esupervision.workers",
    "esupervision": "esupervision",
    "clients/python/esupervision_client": "esupervision_client",
}
SHARED_MODELS = {"esupervision.models", "esupervision.models.base", "esupervision.models.errors",
                 "esupervision.models.tables"}
# What models may use from outside itself.
MODELS_MAY_IMPORT = {"esupervision.db", "esupervision.settings"}
LAYERS_ABOVE_MODELS = ("esupervision.api", "esupervision.workers", "esupervision.notify",
                       "esupervision.exports", "esupervision.report_pdf", "esupervision.cli",
                       "esupervision.importing")


def module_files(root: Path, packages: dict[str, str]) -> dict[str, Path]:
    """Every module of ``packages`` (folder → dotted name) under ``root``, by dotted name."""
    found: dict[str, Path] = {}
    for folder, dotted in packages.items():
        base = root / folder
        for path in sorted(base.rglob("*.py")):
            parts = path.relative_to(base).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            name = ".".join((dotted, *parts))
            found.setdefault(name, path)
    return found


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """module → the modules of ``modules`` it imports (``from p import m`` counts as ``p.m`` when
    that is a module, else as ``p``)."""
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                    source = f"{base}.{node.module}" if node.module else base
                else:
                    source = node.module or ""
                for alias in node.names:   # ``from pkg import module`` needs the module, not pkg's __init__
                    targets.add(f"{source}.{alias.name}" if f"{source}.{alias.name}" in modules else source)
        graph[name] = {t for t in targets if t in modules and t != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import circles: strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def wrong_way(graph: dict[str, set[str]]) -> list[str]:
    """Imports from ``models`` to anything outside it but the database and the settings."""
    return sorted(f"{source} -> {target}" for source, targets in graph.items()
                  if source.startswith("esupervision.models")
                  for target in targets
                  if not target.startswith("esupervision.models") and target not in MODELS_MAY_IMPORT)


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph(module_files(ROOT, PACKAGES))


def test_the_product_has_no_import_circles(graph: dict[str, set[str]]) -> None:
    assert len(graph) > 120   # the whole product was read, not an empty folder
    assert cycles(graph) == []


def test_models_import_nothing_above_them(graph: dict[str, set[str]]) -> None:
    """The domain emits notice drafts into the outbox; rendering and sending them is the gateway's
    (``notify``), Excel and PDF writing the exporters' (``esupervision/exports.py``, ``report_pdf.py``)."""
    assert wrong_way(graph) == []
    assert not any(target.startswith(LAYERS_ABOVE_MODELS)
                   for source, targets in graph.items() if source.startswith("esupervision.models")
                   for target in targets)


def test_every_domain_module_sits_in_a_domain_package(graph: dict[str, set[str]]) -> None:
    loose = sorted(name for name in graph
                   if name.startswith("esupervision.models") and name.count(".") == 2
                   and name not in SHARED_MODELS and not (ROOT / "models" / name.rsplit(".", 1)[1]).is_dir())
    assert loose == []
    packages = sorted(path.parent.name for path in (ROOT / "models").glob("*/__init__.py"))
    for package in packages:   # each says what it owns and what it may import
        doc = ast.get_docstring(ast.parse((ROOT / "models" / package / "__init__.py").read_text(encoding="utf-8")))
        assert doc and "import" in doc, f"models/{package}/__init__.py must say what it owns and may import"


def test_the_check_finds_a_circle_and_a_wrong_way_import(tmp_path: Path) -> None:
    """The checks above can fail: a small tree with a circle (a -> b -> a, one of them lazy, one
    relative) and a domain module importing the gateway is caught by both."""
    (tmp_path / "models" / "cases").mkdir(parents=True)
    (tmp_path / "notify").mkdir()
    for init in ("models/__init__.py", "models/cases/__init__.py", "notify/__init__.py"):
        (tmp_path / init).write_text('"""x"""\n', encoding="utf-8")
    (tmp_path / "models" / "cases" / "a.py").write_text(
        "def f():\n    from esupervision.models.cases import b\n", encoding="utf-8")
    (tmp_path / "models" / "cases" / "b.py").write_text(
        "from . import a\nfrom esupervision.notify.gateway import send\n", encoding="utf-8")
    (tmp_path / "notify" / "gateway.py").write_text("def send(): ...\n", encoding="utf-8")
    small = import_graph(module_files(tmp_path, {"models": "esupervision.models", "notify": "esupervision.notify"}))
    assert cycles(small) == [["esupervision.models.cases.a", "esupervision.models.cases.b"]]
    assert wrong_way(small) == ["esupervision.models.cases.b -> esupervision.notify.gateway"]
