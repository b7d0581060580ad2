"""One validating reader per file nasx reads back from a run folder.

Each reader checks the whole structure its callers use (types, ranges, cross-references), so a
damaged or hand-edited file stops the command with one line, ``<file>: <what is wrong>; <the
fix>``, and never with a traceback further on. The readers here cover ``config.yaml``,
``archs.json`` and ``search/pareto.json``; ``data.json`` is read by
:mod:`nasx.runs.data_record`, an export's ``arch.json`` by :func:`nasx.export.files.read_spec`
(with :mod:`nasx.runs.schema`), ``accuracy-data.jsonl`` by
:func:`nasx.predictors.accuracy.data.read_records` and the predictor files by their classes in
:mod:`nasx.predictors` (with :mod:`nasx.runs.predictor_schemas`).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from nasx.errors import ConfigError, NasxError, RunError
from nasx.runs.layout import ARCHS_FILE, CONFIG_FILE

if TYPE_CHECKING:
    from nasx.search_spaces import Arch

ARCH_ID = re.compile(r"^[0-9a-f]{12}$")
PARETO_FORMAT_KEY = "nasx_pareto"
PARETO_FORMAT_VERSION = 1
PREDICTED_NUMBERS = ("accuracy", "accuracy_std", "latency_ms", "sram_kb", "flash_kb")
CONSTRAINTS = ("latency_ms", "sram_kb", "flash_kb")
# keys of a pareto.json "rounds" entry that `nasx inspect` reads: name -> (kind, required)
ROUND_KEYS = {"round": ("int", True), "device": ("str", True), "validated": ("int", False),
              "unseen": ("int", False), "mean_abs_gap": ("number", False),
              "mean_abs_gap_unseen": ("number", False), "noise_abs_gap": ("number", False)}


class FileCheck:
    """Raises one-line errors about one file: ``<path>: <where>: <problem>; <fix>``."""

    def __init__(self, path: Path, fix: str, error: type[NasxError] = RunError) -> None:
        self.path, self.fix, self.error = path, fix, error

    def fail(self, problem: str) -> NasxError:
        """The error for ``problem``."""
        return self.error(f"{self.path}: {problem}; {self.fix}")

    def require(self, ok: bool, where: str, problem: str) -> None:
        """Raise ``problem`` at ``where`` unless ``ok``."""
        if not ok:
            raise self.fail(f"{where}: {problem}")

    def load_json(self, missing: str) -> Any:
        """The parsed JSON of the file (``missing``: the whole message when it is absent)."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise self.error(missing) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise self.fail(f"cannot be read ({exc.__class__.__name__})") from None
        try:
            return json.loads(text)
        except (json.JSONDecodeError, RecursionError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
            raise self.fail(f"not valid JSON ({reason})") from None


def is_int(value: Any) -> bool:
    """An int that is not a bool."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """An int or float that is not a bool and not NaN."""
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and not (isinstance(value, float) and math.isnan(value)))


def _kind_ok(value: Any, kind: str) -> bool:
    return {"int": is_int, "str": lambda v: isinstance(v, str), "number": is_number}[kind](value)


def _check_arch(check: FileCheck, where: str, entry: dict[str, Any]) -> None:
    """``entry["arch"]`` is an arch object whose id is ``entry["id"]`` (an edited or damaged
    arch no longer matches the id it was saved with)."""
    from nasx.search_spaces import arch_id, describe_arch

    arch = entry.get("arch")
    check.require(isinstance(arch, dict), f"{where}.arch", "expected an arch object")
    try:
        describe_arch(arch)
    except (KeyError, TypeError, IndexError, AttributeError, ValueError):
        raise check.fail(f"{where}.arch: not a nasx arch (stem, stages, blocks)") from None
    check.require(entry["id"] == arch_id(arch), f"{where}.id",
                  f"{entry['id']} does not match its arch (id {arch_id(arch)})")


def read_run_config(run_dir: Path) -> Any:
    """The ``RunConfig`` saved in ``run_dir/config.yaml``.

    Raises:
        RunError: no such file (not a run folder).
        ConfigError: the file is damaged (the message names the key and the fix).
    """
    from nasx.config import RunConfig, load_config

    path = run_dir / CONFIG_FILE
    if not path.is_file():
        raise RunError(f"'{run_dir}' is not a nasx train run folder (no {CONFIG_FILE}); give the "
                       "--out folder of nasx train")
    try:
        return load_config(RunConfig, path, [])
    except ConfigError as exc:
        problem = str(exc).replace(f"config file '{path}' ", "").replace(
            f" in config file '{path}'", "")
        raise ConfigError(f"{path}: {problem}; restore the run's saved config, or train the run "
                          "again") from None


def read_archs(run_dir: Path) -> dict[str, dict[str, Any]]:
    """``archs.json`` of ``run_dir``: ``{name: {"id": <12 hex digits>, "arch": {...}}}``.

    Raises:
        RunError: the file is missing or is not such a mapping (the entry is named).
    """
    path = run_dir / ARCHS_FILE
    check = FileCheck(path, "rerun nasx train --resume to rewrite it")
    data = check.load_json(f"{path}: not found; is '{run_dir}' a folder written by nasx train?")
    check.require(isinstance(data, dict), "top level", "expected a mapping of name -> "
                  "{id, arch}")
    for name, entry in data.items():
        where = f"[{json.dumps(name)}]"
        check.require(isinstance(entry, dict), where, "expected an object with 'id' and 'arch'")
        check.require(isinstance(entry.get("id"), str) and bool(ARCH_ID.match(entry["id"])),
                      f"{where}.id", "expected an arch id of 12 hex digits")
        _check_arch(check, where, entry)
    return data


def _check_subnet(check: FileCheck, i: int, s: Any) -> None:
    where = f"subnets[{i}]"
    check.require(isinstance(s, dict), where, "expected an object")
    check.require(s.get("index") == i and is_int(s.get("index")), f"{where}.index",
                  f"expected {i} (its position)")
    check.require(isinstance(s.get("id"), str) and bool(ARCH_ID.match(s["id"])),
                  f"{where}.id", "expected an arch id of 12 hex digits")
    _check_arch(check, where, s)
    check.require(isinstance(s.get("device"), str), f"{where}.device",
                  "expected a device name")
    check.require(isinstance(s.get("on_front", True), bool), f"{where}.on_front",
                  "expected true or false")
    p = s.get("predicted")
    check.require(isinstance(p, dict), f"{where}.predicted", "expected an object")
    for key in PREDICTED_NUMBERS:
        check.require(is_number(p.get(key)), f"{where}.predicted.{key}", "expected a number")
    check.require(isinstance(p.get("latency_label"), str), f"{where}.predicted.latency_label",
                  "expected a string")
    check.require("validated" in s, f"{where}.validated", "missing (an object or null)")
    v = s["validated"]
    check.require(v is None or isinstance(v, dict), f"{where}.validated",
                  "expected an object or null")
    if v is not None:
        check.require(is_number(v.get("accuracy")), f"{where}.validated.accuracy",
                      "expected a number")
        check.require(v.get("latency_ms") is None or is_number(v["latency_ms"]),
                      f"{where}.validated.latency_ms", "expected a number or null")
        check.require(v.get("loss") is None or is_number(v["loss"]),
                      f"{where}.validated.loss", "expected a number or null")


def _check_budget(check: FileCheck, i: int, b: Any, n_subnets: int) -> None:
    where = f"budgets[{i}]"
    check.require(isinstance(b, dict), where, "expected an object")
    check.require(isinstance(b.get("name"), str), f"{where}.name", "expected a string")
    check.require(isinstance(b.get("device"), str), f"{where}.device", "expected a device name")
    c = b.get("constraints", {})
    check.require(isinstance(c, dict), f"{where}.constraints", "expected an object")
    for key in CONSTRAINTS:
        check.require(c.get(key) is None or is_number(c[key]), f"{where}.constraints.{key}",
                      "expected a number or null")
    check.require("best" in b, f"{where}.best", "missing (an index into subnets, or null)")
    best = b["best"]
    known = f"0..{n_subnets - 1}" if n_subnets else "the file has none"
    check.require(best is None or (is_int(best) and 0 <= best < n_subnets), f"{where}.best",
                  f"{json.dumps(best)} is not an index into subnets ({known}) or null")


def _check_round(check: FileCheck, i: int, r: Any) -> None:
    where = f"rounds[{i}]"
    check.require(isinstance(r, dict), where, "expected an object")
    for key, (kind, required) in ROUND_KEYS.items():
        value = r.get(key)
        if value is None and not required:
            continue
        check.require(_kind_ok(value, kind), f"{where}.{key}",
                      f"expected {'an int' if kind == 'int' else f'a {kind}'}")


class _PredictedBase(TypedDict):
    accuracy: float
    accuracy_std: float
    latency_ms: float
    sram_kb: float
    flash_kb: float
    latency_label: str


class ParetoPredicted(_PredictedBase, total=False):
    """A ``pareto.json`` subnet's predicted figures (``runtime``: absent in older files)."""

    runtime: str


class _ValidatedBase(TypedDict):
    accuracy: float
    latency_ms: float | None


class ParetoValidated(_ValidatedBase, total=False):
    """A subnet's figures measured by the predictor-in-the-loop (``loss``, the mean validation
    cross-entropy: absent in older files)."""

    loss: float | None


class _SubnetBase(TypedDict):
    index: int
    id: str
    arch: Arch
    device: str
    predicted: ParetoPredicted
    validated: ParetoValidated | None


class ParetoSubnet(_SubnetBase, total=False):
    """One entry of ``pareto.json``'s ``subnets`` (``on_front``: absent in older files)."""

    on_front: bool


class _BudgetBase(TypedDict):
    name: str
    device: str
    constraints: dict[str, float | None]
    best: int | None


class ParetoBudget(_BudgetBase, total=False):
    """One entry of ``pareto.json``'s ``budgets``: ``best`` indexes ``subnets``; ``pick`` says
    how it was picked (absent in older files)."""

    pick: dict[str, Any]


class RoundSummary(TypedDict, total=False):
    """One entry of ``pareto.json``'s ``rounds`` (the keys of :data:`ROUND_KEYS`)."""

    round: int
    device: str
    validated: int
    unseen: int
    mean_abs_gap: float | None
    mean_abs_gap_unseen: float | None
    noise_abs_gap: float | None


@dataclass(frozen=True)
class ParetoFile:
    """A checked ``search/pareto.json``: its subnets, budgets, round summaries and settings, and
    the whole document as read (``document``, what ``nasx inspect --format json`` prints)."""

    path: Path
    subnets: list[ParetoSubnet]
    budgets: list[ParetoBudget]
    rounds: list[RoundSummary]
    settings: dict[str, Any]
    document: dict[str, Any]


def read_pareto(path: Path, error: type[NasxError] = RunError) -> ParetoFile:
    """``search/pareto.json`` (format 1, see :mod:`nasx.search.pareto`), fully checked: every
    subnet (index, id, arch, device, predicted and validated figures), every budget (name,
    device, constraints, ``best`` an index into ``subnets``) and every round summary.

    Raises:
        ``error``: the file is missing, not JSON or not of that schema (the key is named).
    """
    check = FileCheck(path, "rerun nasx search (the earlier searches are kept in numbered "
                      "folders beside it)", error)
    doc = check.load_json(f"{path}: no search results; run nasx search --run "
                          f"{path.parent.parent} first")
    check.require(isinstance(doc, dict) and doc.get(PARETO_FORMAT_KEY) == PARETO_FORMAT_VERSION,
                  "top level", f"not a nasx pareto file (expected \"{PARETO_FORMAT_KEY}\": "
                  f"{PARETO_FORMAT_VERSION})")
    for key in ("subnets", "budgets"):
        check.require(isinstance(doc.get(key), list), key, "missing or not a list")
    check.require(isinstance(doc.get("rounds", []), list), "rounds", "not a list")
    check.require(isinstance(doc.get("settings", {}), dict), "settings", "not an object")
    for i, s in enumerate(doc["subnets"]):
        _check_subnet(check, i, s)
    for i, b in enumerate(doc["budgets"]):
        _check_budget(check, i, b, len(doc["subnets"]))
    for i, r in enumerate(doc.get("rounds", [])):
        _check_round(check, i, r)
    return ParetoFile(path, doc["subnets"], doc["budgets"], doc.get("rounds", []),
                      doc.get("settings", {}), doc)
