"""Source rules of the package, checked on its syntax trees (nasx/, search_spaces/, predictors/,
kernels/): no private name crosses a package boundary, and every run-folder file name is written
once, in :mod:`nasx.runs.layout`."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from nasx.runs import layout

ROOT = Path(__file__).resolve().parents[1]
TOPS = {"nasx": "nasx", "search_spaces": "nasx.search_spaces", "predictors": "nasx.predictors",
        "kernels": "nasx.kernels"}


def _module_name(path: Path) -> tuple[str, bool]:
    """``(dotted module name, is a package __init__)`` of a source file under ROOT."""
    rel = path.relative_to(ROOT).with_suffix("")
    parts = [TOPS[rel.parts[0]], *rel.parts[1:]]
    if parts[-1] == "__init__":
        return ".".join(parts[:-1]), True
    return ".".join(parts), False


def _sources() -> list[Path]:
    return sorted(p for top in TOPS for p in (ROOT / top).rglob("*.py"))


def _package_of(module: str, packages: set[str]) -> str:
    """The package ``module`` belongs to: itself when it is a package, else its parent."""
    return module if module in packages else module.rsplit(".", 1)[0]


def _is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def private_crossings(tree: ast.Module, package: str, packages: set[str]) -> list[str]:
    """Private names of another nasx package used in ``tree`` (a module of ``package``):
    ``from nasx.x import _name``, ``nasx_module._name`` through an imported nasx module, and
    ``obj._name`` where ``_name`` is not defined in this module (a private method or attribute
    of another module's class)."""
    found: list[str] = []
    defined: set[str] = set()
    foreign_modules: set[str] = set()  # local names bound to modules outside nasx
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defined.add(node.name)
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            defined.add(node.attr)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            defined.add(node.id)
        elif isinstance(node, ast.Import):
            foreign_modules |= {(a.asname or a.name).split(".")[0] for a in node.names
                                if not a.name.startswith("nasx")}
        elif isinstance(node, ast.ImportFrom) and node.module:
            if not node.module.startswith("nasx"):
                foreign_modules |= {a.asname or a.name for a in node.names}
                continue
            for alias in node.names:
                if _is_private(alias.name) and _package_of(node.module, packages) != package:
                    found.append(f"line {node.lineno}: from {node.module} import {alias.name}")
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and _is_private(node.attr)):
            continue
        root = node.value
        while isinstance(root, ast.Attribute):
            root = root.value
        if isinstance(root, ast.Name) and (root.id in ("self", "cls") or root.id in
                                           foreign_modules):
            continue
        if node.attr not in defined:
            found.append(f"line {node.lineno}: {ast.unparse(node)}")
    return found


def test_the_private_name_check_finds_each_kind() -> None:
    packages = {"nasx", "nasx.runs", "nasx.export", "nasx.predictors"}
    tree = ast.parse("import argparse\nfrom torch import nn\n"
                     "from nasx.runs import _fsync_folder\n"
                     "from nasx.export.graph_formats import _tracing\n"
                     "from nasx.predictors import cost\n"
                     "def f(model):\n"
                     "    x: argparse._SubParsersAction = nn.modules.batchnorm._BatchNorm\n"
                     "    return model._block_unit(1), cost._summary, model._own\n"
                     "class A:\n    _own = 1\n")
    assert sorted(private_crossings(tree, "nasx.export", packages)) == [
        "line 3: from nasx.runs import _fsync_folder", "line 8: cost._summary",
        "line 8: model._block_unit"]


def test_no_private_name_crosses_a_package() -> None:
    names = {p: _module_name(p) for p in _sources()}
    packages = {name for name, is_pkg in names.values() if is_pkg}
    problems = []
    for path, (name, is_pkg) in names.items():
        package = name if is_pkg else name.rsplit(".", 1)[0]
        tree = ast.parse(path.read_text(encoding="utf-8"))
        problems += [f"{path.relative_to(ROOT)}: {p}"
                     for p in private_crossings(tree, package, packages)]
    assert problems == []


def _layout_names() -> set[str]:
    """Every file and folder name :mod:`nasx.runs.layout` defines (its paths' parts too), but
    the words that are also ordinary keys (``tb``, ``search``, ``accuracy``, ``refit``, and the
    TensorBoard run names ``train``, ``subnets``, ``round``: a config section, a ``pareto.json``
    key, an HParams column)."""
    names: set[str] = set()
    for key, value in vars(layout).items():
        if key.isupper() and isinstance(value, (str, Path)):
            names |= set(Path(value).parts)
    return names - {"tb", "search", "accuracy", "refit", "train", "subnets", "round"}


@pytest.mark.parametrize("name", ["pareto.json", "archs.json", "checkpoints", "predictors",
                                  "model.onnx", "accuracy-data.jsonl", "prev.pt"])
def test_the_layout_names_cover(name: str) -> None:
    assert name in _layout_names()


def test_run_folder_names_are_written_only_in_the_layout() -> None:
    names = _layout_names()
    found = []
    for path in _sources():
        if path == ROOT / "nasx" / "runs" / "layout.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                      if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef,
                                           ast.AsyncFunctionDef))
                      and node.body and isinstance(node.body[0], ast.Expr)}
        found += [f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}"
                  for node in ast.walk(tree)
                  if isinstance(node, ast.Constant) and node.value in names
                  and id(node) not in docstrings]
    assert found == []
