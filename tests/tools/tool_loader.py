"""Import a script of ``tools/`` by path (``tools/`` is not a package) for its tests, with
``tools/`` on ``sys.path`` as when the script runs, so it can import its sibling modules."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

TOOLS = Path(__file__).resolve().parents[2] / "tools"


def load_tool(name: str) -> ModuleType:
    """``tools/<name>.py`` as a module (imported once per test process)."""
    key = f"{name}_under_test"
    if str(TOOLS) not in sys.path:
        sys.path.insert(0, str(TOOLS))
    if key not in sys.modules:
        spec = importlib.util.spec_from_file_location(key, TOOLS / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[key] = module
        spec.loader.exec_module(module)
    return sys.modules[key]
