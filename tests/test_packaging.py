"""The package layout: nasx.search_spaces / nasx.predictors / nasx.kernels and nothing top-level."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

tomllib = pytest.importorskip("tomllib")

ROOT = Path(__file__).resolve().parents[1]
MAPPED = {"search_spaces": "nasx.search_spaces", "predictors": "nasx.predictors",
          "kernels": "nasx.kernels"}


def _setuptools() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_every_folder_with_an_init_is_a_listed_package() -> None:
    cfg = _setuptools()
    expected = set()
    for top, dotted in {"nasx": "nasx", **MAPPED}.items():
        for init in (ROOT / top).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / top)
            expected.add(".".join([dotted, *rel.parts]))
    assert set(cfg["packages"]) == expected
    assert cfg["package-dir"] == {"nasx": "nasx", **{v: k for k, v in MAPPED.items()}}


def test_presets_ship_as_package_data() -> None:
    data = _setuptools()["package-data"]
    assert data == {"nasx.search_spaces": ["presets/*.yaml"],
                    "nasx.predictors": ["devices/*.yaml"],
                    "nasx.export.mcu": ["runtime/*.c", "runtime/*.h", "board/*.c",
                                        "board/*.ld"]}
    assert sorted(p.name for p in (ROOT / "predictors" / "devices").glob("*.yaml"))


def test_the_c_runtime_ships_as_package_data() -> None:
    from nasx.export.mcu.emit import runtime_files

    runtime = ROOT / "nasx" / "export" / "mcu" / "runtime"
    shipped = {p.name for p in runtime.glob("*.c")} | {p.name for p in runtime.glob("*.h")}
    assert {p.name for p in runtime.iterdir()} == shipped  # nothing the globs leave out
    assert {p.name for p in runtime_files()} == shipped and "nasx_rt.h" in shipped
    board = ROOT / "nasx" / "export" / "mcu" / "board"
    assert sorted(p.name for p in board.iterdir()) == ["mps2_an500.ld", "startup_cm7.c"]


def test_mapped_folders_are_importable_only_under_nasx(tmp_path: Path) -> None:
    code = (
        "import importlib, json\n"
        "out = {}\n"
        "for name in ('kernels', 'search_spaces', 'predictors'):\n"
        "    try:\n"
        "        importlib.import_module(name); out[name] = 'imported'\n"
        "    except ModuleNotFoundError:\n"
        "        out[name] = 'missing'\n"
        "import nasx.kernels, nasx.search_spaces, nasx.predictors\n"
        "out['files'] = [nasx.kernels.__file__, nasx.search_spaces.__file__]\n"
        "print(json.dumps(out))\n"
    )
    # run from an unrelated folder, so the checkout itself is not on sys.path
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, check=True)
    import json

    out = json.loads(done.stdout)
    assert out["kernels"] == out["search_spaces"] == out["predictors"] == "missing"
    assert Path(out["files"][0]).parent.name == "kernels"
    assert Path(out["files"][1]).parent.name == "search_spaces"
