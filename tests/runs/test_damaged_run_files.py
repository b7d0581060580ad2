"""Generated damaged copies (hypothesis) of every file nasx reads back from a run: at least 200
rejected variants per kind, each a one-line ``NasxError`` (exit 2 on the command line), never
another exception, and nothing written; accepted variants are used as the commands use them.

Kinds: ``search/pareto.json`` (``nasx inspect`` in its three formats and ``nasx export --pick``),
``archs.json`` (``--pick``/``--arch`` by id), ``config.yaml``, ``data.json``, the accuracy
predictor (``predictors/accuracy/predictor.json``), the latency predictor
(``predictors/latency-host-cpu-torch.json``) and an export's ``arch.json`` (``load_exported``). A few
damaged files go through a real ``nasx`` process to check the exit status and stderr.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
import yaml
from damage import Outcomes, damaged_texts, snapshot
from hypothesis import HealthCheck, given, settings
from test_run_refusals import valid_pareto
from tiny_run import train_tiny_run

from nasx.cli import main
from nasx.export.pick import resolve_pick
from nasx.runs.data_record import check_data_unchanged
from nasx.runs.readers import read_archs, read_run_config
from nasx.search_spaces import GenomeCodec, load_space, random_arch

SPACE = load_space("tiny")
EXAMPLES = 400  # per kind (hypothesis draws some texts twice; distinct ones are counted); at least REJECTED of them must be rejected
REJECTED = 200


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny run with a search result, an accuracy and a latency predictor and an export."""
    run = train_tiny_run(tmp_path_factory.mktemp("damage") / "run")
    write = (run / "search" / "pareto.json")
    write.parent.mkdir()
    write.write_text(json.dumps(valid_pareto(run)))
    assert main(["predictor", "fit", "--run", str(run), "--samples", "10", "--holdout", "10",
                 "--model", "ridge"]) == 0
    assert main(["profile", "--run", str(run), "--samples", "4", "--rounds", "1", "--runtime", "torch", "--warmup",
                 "0", "--repeats", "1"]) == 0
    assert main(["export", "--run", str(run), "--pick", "smallest", "--format", "torch"]) == 0
    return run


def fuzz(kind: str, target: Path, valid_text: str, call: Callable[[], Any],
         dump: Callable[[Any], str] = json.dumps, parse: Callable[[str], Any] = json.loads,
         watch: Path | None = None) -> None:
    """Write ``EXAMPLES`` damaged versions of ``valid_text`` to ``target``, ``call`` after each;
    check the outcomes, that nothing under ``watch`` (default: the run folder ``target`` is in)
    changed but ``target``, and put the valid file back."""
    watch = watch or next(p for p in target.parents if (p / "config.yaml").is_file())
    before = snapshot(watch)
    outcomes = Outcomes()

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(text=damaged_texts(parse(valid_text), dump))
    def one(text: str) -> None:
        target.write_text(text, encoding="utf-8", errors="surrogateescape")
        outcomes.check(text, call)

    try:
        one()
    finally:
        target.write_text(valid_text)
    after = snapshot(watch)
    name = str(target.relative_to(watch))
    assert {k: v for k, v in after.items() if k != name} == \
        {k: v for k, v in before.items() if k != name}
    print(outcomes.summary(kind))
    assert len(outcomes.rejected) >= REJECTED, outcomes.summary(kind)


def test_damaged_pareto_json(run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = run / "search" / "pareto.json"
    formats = iter(["table", "json", "csv"] * EXAMPLES * 4)

    def call() -> None:
        code = main(["inspect", "--run", str(run), "--format", next(formats)])
        _, err = capsys.readouterr()
        assert code in (0, 2) and "Traceback" not in err
        if code == 2:
            assert err.startswith(f"nasx: error: {path}: ") and err.count("\n") == 1, err
        for pick in ("0", "host-cpu: latency<=4ms"):
            resolve_pick(run, SPACE, pick)  # what nasx export --pick reads
        assert code == 0  # export's reader accepted it: so did inspect's (the same reader)

    fuzz("pareto.json", path, path.read_text(), call)


def test_damaged_archs_json(run: Path) -> None:
    path = run / "archs.json"
    ids = [v["id"] for v in read_archs(run).values()]

    def call() -> None:
        read_archs(run)
        resolve_pick(run, SPACE, ids[0])  # export --pick <id> and eval --arch <id>

    fuzz("archs.json", path, path.read_text(), call)


def test_damaged_config_yaml(run: Path) -> None:
    path = run / "config.yaml"
    fuzz("config.yaml", path, path.read_text(), lambda: read_run_config(run),
         dump=lambda d: yaml.safe_dump(d, sort_keys=False), parse=yaml.safe_load)


def test_damaged_data_json(run: Path) -> None:
    from nasx.runs.trained import load_trained_run

    path = run / "data.json"
    splits = load_trained_run(run).splits
    name = json.loads(path.read_text())["dataset"]
    fuzz("data.json", path, path.read_text(),
         lambda: check_data_unchanged(run, name, splits.fingerprint))


def test_damaged_accuracy_predictor(run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from nasx.predictors.accuracy.predictor import AccuracyPredictor

    folder = run / "predictors" / "accuracy"
    path = folder / "predictor.json"
    genomes = np.stack([GenomeCodec(SPACE).encode(random_arch(SPACE, np.random.default_rng(i)))
                        for i in range(4)])  # (4, G)

    formats = iter(["table", "json"] * EXAMPLES * 4)

    def call() -> None:  # nasx predictor show prints what the file holds
        code = main(["predictor", "show", "--run", str(run), "--format", next(formats)])
        assert code in (0, 2) and capsys.readouterr().err.count("\n") == (code == 2)
        mean, std = AccuracyPredictor.load(folder, SPACE).predict(genomes)
        assert code == 0 and mean.shape == (4,) and std.shape == (4,)

    fuzz("accuracy predictor.json", path, path.read_text(), call)


def test_damaged_latency_predictor(run: Path) -> None:
    from nasx.predictors.latency.model import LatencyPredictor, predictor_file

    path = predictor_file(run / "predictors", "host-cpu", "torch")
    genomes = np.stack([GenomeCodec(SPACE).encode(random_arch(SPACE, np.random.default_rng(i)))
                        for i in range(4)])  # (4, G)

    def call() -> None:
        assert LatencyPredictor.load(path, SPACE).predict(genomes).shape == (4,)

    fuzz("latency predictor json", path, path.read_text(), call)


def test_damaged_export_arch_json(run: Path) -> None:
    from nasx.export import load_exported

    (folder,) = [p for p in (run / "exports").iterdir() if p.is_dir()]
    path = folder / "arch.json"
    x, lengths = torch.randn(2, 12, 9), torch.tensor([9, 5])

    def call() -> None:
        net = load_exported(folder)
        assert net(x, lengths).shape == (2, 9)

    fuzz("export arch.json", path, path.read_text(), call)


@pytest.mark.parametrize(("file", "damage", "argv"), [
    ("search/pareto.json", '{"nasx_pareto": 1, "subnets": [], "budgets": [{"best": 0}]}',
     ["inspect"]),
    ("archs.json", '{"largest": {"id": "0123456789ab", "arch": []}}',
     ["export", "--pick", "0123456789ab"]),
    ("config.yaml", "seed: [1\n", ["eval"]),
])
def test_a_real_nasx_process_exits_2_with_one_line(run: Path, tmp_path: Path, file: str,
                                                   damage: str, argv: list[str]) -> None:
    copy = tmp_path / "run"
    shutil.copytree(run, copy)
    (copy / file).write_text(damage)
    before = snapshot(copy)
    done = subprocess.run([sys.executable, "-m", "nasx", argv[0], "--run", str(copy),
                           *argv[1:]], capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith(f"nasx: error: {copy / file}") and \
        done.stderr.count("\n") == 1, done.stderr
    assert snapshot(copy) == before


def _jsonl(rows: Any) -> str:
    return "".join(json.dumps(r) + "\n" for r in rows)


def _rows(text: str) -> list[Any]:
    return [json.loads(line) for line in text.splitlines()]


def test_damaged_accuracy_data_jsonl(run: Path) -> None:
    from nasx.predictors.accuracy.data import read_records

    path = run / "predictors" / "accuracy-data.jsonl"
    length = GenomeCodec(SPACE).length
    ids = list(read_records(path, length))

    def call() -> None:
        read_records(path, length)
        for pick in (ids[0], ids[-1]):  # export --pick <id> finds these ids in this file
            resolve_pick(run, SPACE, pick)

    fuzz("accuracy-data.jsonl", path, path.read_text(), call, dump=_jsonl, parse=_rows)
