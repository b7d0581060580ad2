"""YAML files: parsing with one-line errors, and the YAML files a package folder ships.

Shared by the search-space presets and the device profiles.
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import yaml

from nasx.errors import NasxError


def parse_yaml(text: str, source: str, error: type[NasxError]) -> Any:
    """``yaml.safe_load`` of ``text``; a syntax error becomes one ``error`` line naming
    ``source`` and the line, e.g. ``my.yaml: invalid YAML at line 3: ...``."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise error(f"{source}: invalid YAML{where}: {problem}") from None


def shipped_yaml_names(package: str, folder: str) -> list[str]:
    """Sorted names (without ``.yaml``) of the YAML files in ``package``'s ``folder``."""
    files = (resources.files(package) / folder).iterdir()
    return sorted(p.name[: -len(".yaml")] for p in files if p.name.endswith(".yaml"))
