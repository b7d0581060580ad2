"""Which subnet ``nasx export --pick`` means.

``--pick`` is, tried in this order:

1. a path to an arch JSON file (an arch, or ``{"id": ..., "arch": ...}`` as ``nasx space
   sample`` prints);
   ``largest``, ``smallest``, ``random-N`` (``standalone``): the run's subnet of that name in
   ``archs.json``, as ``nasx eval --arch`` names them;
2. an integer: an index into ``subnets`` of ``R/search/pareto.json``;
3. an arch id (12 hex digits): looked up in ``pareto.json`` subnets, the run's ``archs.json``
   and the accuracy-predictor data ``R/predictors/accuracy-data.jsonl``;
4. a budget ``name`` of ``pareto.json`` (e.g. ``"stm32f746: sram<=256KB, flash<=1MB"``), or a
   bare device name when exactly one budget is for that device: the budget's best subnet.

``pareto.json`` (written by ``nasx search``)::

    {"nasx_pareto": 1, "run": "<run dir>",
     "subnets": [{"index": 0, "id": ..., "arch": {...}, "device": ..., "predicted": {...},
                  "validated": {...} | null}, ...],
     "budgets": [{"name": ..., "device": ..., "constraints": {...}, "best": <index> | null}]}
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nasx.errors import ArchError, NasxError
from nasx.runs.layout import ACCURACY_DATA, ARCHS_FILE, LATEST_PARETO
from nasx.runs.readers import ParetoBudget, ParetoFile, ParetoSubnet, read_archs, read_pareto
from nasx.search_spaces import Arch, GenomeCodec, SearchSpace, arch_id, canonical_arch, load_arch

_ARCH_ID = re.compile(r"^[0-9a-f]{12}$")
RUN_SUBNETS = ("largest", "smallest", "standalone")  # and random-N: names in archs.json


class PickError(NasxError):
    """A ``--pick`` that names no subnet, or a malformed ``pareto.json``."""


@dataclass(frozen=True)
class Pick:
    """The subnet a ``--pick`` names.

    Attributes:
        arch: the canonical arch.
        source: how it was found, e.g. ``"pareto.json budgets['stm32f746: ...'] -> subnets[3]"``.
        devices: device profiles the pick names (the budget's or the Pareto entry's device).
        pareto_entry: the ``pareto.json`` subnet entry (predicted/validated figures), if any.
        budget: the budget name, if the pick was a budget.
    """

    arch: Arch
    source: str
    devices: tuple[str, ...] = ()
    pareto_entry: ParetoSubnet | None = None
    budget: str | None = None
    constraints: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        """The arch id."""
        return arch_id(self.arch)


def _pareto_pick(pf: ParetoFile, space: SearchSpace, index: int, how: str,
                 budget: ParetoBudget | None = None) -> Pick:
    entry = pf.subnets[index]
    try:
        arch = canonical_arch(space, entry["arch"])
    except ArchError as exc:
        raise PickError(f"{pf.path}: subnets[{index}]: {str(exc).removeprefix('arch: ')}; the "
                        "file is from another run's search space") from None
    if entry.get("id") not in (None, arch_id(arch)):
        raise PickError(f"{pf.path}: subnets[{index}]: id {entry.get('id')!r} does not match "
                        f"its arch (id {arch_id(arch)}); rerun nasx search")
    devices = [d for d in ((budget or {}).get("device"), entry.get("device"))
               if isinstance(d, str)]
    return Pick(arch=arch, source=f"{pf.path} {how}", devices=tuple(dict.fromkeys(devices)),
                pareto_entry=entry, budget=(budget or {}).get("name"),
                constraints=dict((budget or {}).get("constraints") or {}))


def _budget_names(budgets: Sequence[ParetoBudget]) -> str:
    return "; ".join(repr(b["name"]) for b in budgets) or "none"


def _from_budget(pf: ParetoFile, space: SearchSpace, pick: str) -> Pick | None:
    norm = " ".join(pick.split()).casefold()
    named = [b for b in pf.budgets if " ".join(b["name"].split()).casefold() == norm]
    if not named:
        named = [b for b in pf.budgets if b.get("device") == pick]
        if len(named) > 1:
            raise PickError(f"--pick {pick}: {len(named)} budgets are for device {pick!r} "
                            f"({_budget_names(named)}); give the "
                            "budget name in quotes")
    if not named:
        return None
    b = named[0]
    if b.get("best") is None:
        raise PickError(f"--pick {pick}: budget {b['name']!r} has no feasible subnet in "
                        f"{pf.path}; relax the budget and rerun nasx search, or pick another")
    return _pareto_pick(pf, space, b["best"], f"budget {b['name']!r} -> subnets[{b['best']}]", b)


def _from_id(run_dir: Path, space: SearchSpace, pick: str, pf: ParetoFile | None) -> Pick | None:
    if pf is not None:
        for i, s in enumerate(pf.subnets):
            if s.get("id") == pick:
                return _pareto_pick(pf, space, i, f"subnets[{i}]")
    archs_path = run_dir / ARCHS_FILE
    if archs_path.is_file():
        for name, v in read_archs(run_dir).items():
            if v["id"] == pick:
                return Pick(arch=canonical_arch(space, v["arch"]),
                            source=f"{archs_path} ({name})")
    data = run_dir / ACCURACY_DATA
    if data.is_file():
        from nasx.predictors.accuracy.data import read_records

        codec = GenomeCodec(space)
        record = read_records(data, codec.length).get(pick)  # (a torn last line is skipped)
        if record is not None:
            try:
                arch = codec.decode(record.genome)
            except ArchError as exc:
                raise PickError(f"{data}: the record of {pick}: {exc}; delete the line or the "
                                "file to re-evaluate") from None
            if arch_id(arch) == pick:
                return Pick(arch=arch, source=str(data))
    return None


def resolve_pick(run_dir: Path, space: SearchSpace, pick: str) -> Pick:
    """The subnet ``pick`` names in the run ``run_dir`` of ``space`` (see the module docstring).

    Raises:
        PickError: nothing matches (the message lists what was tried and the budget names), an
            index out of range, a budget without a feasible subnet, a malformed pareto.json.
        ArchError: an arch JSON file that does not fit the space.
    """
    path = Path(pick)
    if path.suffix == ".json" or path.is_file():
        if not path.is_file():
            raise PickError(f"--pick {pick}: arch file not found")
        return Pick(arch=load_arch(space, path), source=str(path))
    if pick in RUN_SUBNETS or pick.startswith("random-"):
        named = read_archs(run_dir)
        if pick in named:
            return Pick(arch=canonical_arch(space, named[pick]["arch"]),
                        source=f"{run_dir / ARCHS_FILE} ({pick})")
    pareto_path = run_dir / LATEST_PARETO
    pf = read_pareto(pareto_path, PickError) if pareto_path.is_file() else None
    if re.fullmatch(r"-?\d+", pick) and not _ARCH_ID.match(pick):
        if pf is None:
            raise PickError(f"--pick {pick}: an index needs {pareto_path}; run nasx search "
                            "first, or pick an arch id or an arch JSON file")
        index = int(pick)
        if not 0 <= index < len(pf.subnets):
            raise PickError(f"--pick {pick}: index out of range; {pareto_path} has "
                            f"{len(pf.subnets)} subnets (0..{len(pf.subnets) - 1})")
        return _pareto_pick(pf, space, index, f"subnets[{index}]")
    if _ARCH_ID.match(pick):
        found = _from_id(run_dir, space, pick, pf)
        if found is None:
            raise PickError(f"--pick {pick}: no arch with this id in {pareto_path}, "
                            f"{run_dir / ARCHS_FILE} or {run_dir / ACCURACY_DATA}; give an arch "
                            "JSON file instead")
        return found
    if pf is None:
        raise PickError(f"--pick {pick!r}: not an arch JSON file or an arch id, and there is no "
                        f"{pareto_path} to find a budget in; run nasx search first")
    found = _from_budget(pf, space, pick)
    if found is None:
        raise PickError(f"--pick {pick!r}: not an arch JSON file, an index, an arch id or a "
                        f"budget of {pareto_path} (budgets: {_budget_names(pf.budgets)})")
    return found
