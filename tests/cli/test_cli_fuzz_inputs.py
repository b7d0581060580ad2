"""Generated invalid inputs: at least 200 rejected cases per kind (search-space YAML, config
overrides, npz files, arch JSON, device YAML), each ending with exit status 2 and a one-line
message, never a traceback, never a run folder left behind."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fuzz_inputs import invalid_yaml_texts, mutate_doc

from nasx.cli import main
from nasx.config import RunConfig, config_to_dict
from nasx.search_spaces import load_space, smallest_arch, space_to_dict

N_CASES = 260  # per kind; at least 200 of them must be rejected
REJECTED_AT_LEAST = 200


def _check(argv: list[str], capsys: pytest.CaptureFixture[str], not_about: str = "\x01") -> int:
    """Run ``nasx argv``; assert the outcome is a success or one clean error line (that does
    not mention ``not_about``)."""
    code = main(argv)
    _, err = capsys.readouterr()
    assert not_about not in err, (argv, err)
    assert code in (0, 2), (argv, code, err)
    if code == 2:
        assert err.endswith("\n") and err.count("\n") == 1, (argv, err)
        assert err.startswith("nasx"), (argv, err)
        assert "Traceback" not in err
    return code


def _run_cases(cases: list[list[str]], capsys: pytest.CaptureFixture[str], kind: str,
               not_about: str = "\x01") -> int:
    """Run every case; print (with ``pytest -s``) and return how many were rejected."""
    rejected = sum(_check(argv, capsys, not_about) == 2 for argv in cases)
    with capsys.disabled():
        print(f"\nfuzz {kind}: {len(cases)} cases, {rejected} rejected with exit 2 and one line, "
              f"{len(cases) - rejected} valid")
    return rejected


def test_search_space_yaml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    valid = space_to_dict(load_space("tiny"))
    cases = []
    for i, text in enumerate(invalid_yaml_texts(valid, N_CASES, seed=1)):
        path = tmp_path / f"space{i}.yaml"
        path.write_text(text)
        cases.append(["space", "show", str(path)])
    assert _run_cases(cases, capsys, "search-space YAML") >= REJECTED_AT_LEAST
    # the same files given to `nasx train` leave no run folder behind
    for i in range(0, N_CASES, 13):
        out = tmp_path / f"run{i}"
        code = _check(["train", "--space", str(tmp_path / f"space{i}.yaml"), "--out", str(out),
                       "--print-config"], capsys)
        assert not out.exists() or code == 0


def test_device_yaml(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from nasx.predictors.devices.registry import load_device, profile_to_dict

    valid = profile_to_dict(load_device("stm32f746"))
    cases = []
    for i, text in enumerate(invalid_yaml_texts(valid, N_CASES, seed=2)):
        path = tmp_path / f"device{i}.yaml"
        path.write_text(text)
        cases.append(["devices", "show", str(path)])
    assert _run_cases(cases, capsys, "device YAML") >= REJECTED_AT_LEAST


def test_arch_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    space = load_space("tiny")
    valid = {"arch": smallest_arch(space, np.random.default_rng(0))}
    rng = np.random.default_rng(3)
    cases = []
    for i in range(N_CASES):
        path = tmp_path / f"arch{i}.json"
        doc = mutate_doc(valid, rng)
        text = json.dumps(doc)
        path.write_text(text[: len(text) // 2] if i % 10 == 9 else text)
        cases.append(["cost", "--space", "tiny", "--arch", str(path), "--device", "stm32f746"])
    assert _run_cases(cases, capsys, "arch JSON") >= REJECTED_AT_LEAST


def _override_cases(rng: np.random.Generator) -> list[str]:
    flat: dict[str, Any] = {}

    def walk(d: dict[str, Any], prefix: str) -> None:
        for k, v in d.items():
            walk(v, f"{prefix}{k}.") if isinstance(v, dict) else flat.setdefault(prefix + k, v)

    walk(config_to_dict(RunConfig()), "")
    keys = sorted(flat)
    bad_values = ["abc", "-1", "-0.5", "1e999", "[1, 2", "{", "nan", "0x10", "[]", "{a: 1}",
                  "'", "1.5.2", "-", "~", "!!python/object:os.system", "[1, 2, 3]"]
    bad_keys = ["train.epoch", "foo", "data..name", "train.lr.x", "train", ".seed", "Train.lr",
                "data.augment.crop.x", "seed.x"]
    out = []
    for i in range(N_CASES):
        if i % 5 == 4:
            out.append(f"{bad_keys[int(rng.integers(len(bad_keys)))]}=1")
        else:
            key = keys[int(rng.integers(len(keys)))]
            out.append(f"{key}={bad_values[int(rng.integers(len(bad_values)))]}")
    return out


def test_config_overrides(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run"
    cases = [["train", "--out", str(out), "--print-config", o]
             for o in _override_cases(np.random.default_rng(4))]
    assert _run_cases(cases, capsys, "config overrides") >= REJECTED_AT_LEAST
    assert not out.exists()


def _npz_case(rng: np.random.Generator, i: int) -> dict[str, Any] | bytes:
    """A broken npz: arrays of the wrong shape, type, length or content, or not a zip at all."""
    n, c, length = int(rng.integers(8, 40)), int(rng.integers(1, 4)), int(rng.integers(4, 30))
    x = rng.normal(size=(n, c, length)).astype(np.float32)
    y = np.arange(n) % int(rng.integers(2, 4))
    lengths = rng.integers(1, length + 1, size=n)
    kind = i % 13
    if kind == 0:
        return {"X": x}  # no y
    if kind == 1:
        return {"y": y}  # no X
    if kind == 2:
        return {"X": x, "y": y[: n - int(rng.integers(1, n))]}  # lengths differ
    if kind == 3:
        x[int(rng.integers(n)), 0, 0] = [np.nan, np.inf, -np.inf][i % 3]
        return {"X": x, "y": y}
    if kind == 4:
        return {"X": x[:, :, :, None] if i % 2 else x[0, 0], "y": y}  # 4-D or 1-D
    if kind == 5:
        bad = lengths.copy()
        bad[int(rng.integers(n))] = [0, length + 1, -3][i % 3]
        return {"X": x, "y": y, "lengths": bad}
    if kind == 6:
        return {"X": x, "y": np.zeros(n, dtype=int)}  # a single class
    if kind == 7:
        return {"X": x.astype(np.complex64), "y": y}
    if kind == 8:
        return {"X": x[:0], "y": y[:0]}  # empty
    if kind == 9:
        x_test = rng.normal(size=(n, c + 1, length)).astype(np.float32)  # channels differ
        return {"X": x, "y": y, "X_test": x_test, "y_test": y}
    if kind == 10:
        return {"X": np.array([["a"] * length] * n), "y": y}  # strings
    if kind == 11:
        return {"X": x, "y": y, "lengths": lengths[: n - 1]}  # one length short
    return bytes(rng.integers(0, 256, size=int(rng.integers(0, 300)), dtype=np.uint8))


def test_npz_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(5)
    cases = []
    for i in range(N_CASES):
        path = tmp_path / f"data{i}.npz"
        case = _npz_case(rng, i)
        if isinstance(case, bytes):
            path.write_bytes(case)
        else:
            np.savez(path, **case)
            if i % 17 == 16:  # and some files cut short
                path.write_bytes(path.read_bytes()[: int(rng.integers(10, 200))])
        cases.append(["data", "show", f"npz:{path}"])
    assert _run_cases(cases, capsys, "npz files") >= REJECTED_AT_LEAST
    for i in range(0, N_CASES, 29):  # `nasx train` on them leaves no run folder behind
        out = tmp_path / f"run{i}"
        code = _check(["train", "--space", "tiny", "--data", f"npz:{tmp_path / f'data{i}.npz'}",
                       "--out", str(out), "train.epochs=1", "train.batches_per_epoch=1"], capsys)
        assert code == 2 and not out.exists()


def _budget_case(rng: np.random.Generator, i: int) -> str:
    """A broken ``--budgets`` spec: a valid one with one part damaged."""
    devices = ["stm32f746", "host-cpu", "h100", "nrf52840"]
    metrics = ["latency", "sram", "flash"]
    units = {"latency": ["ms", "us"], "sram": ["KB", "MB"], "flash": ["KB", "MB"]}
    parts = []
    for _ in range(int(rng.integers(1, 4))):
        dev = devices[int(rng.integers(len(devices)))]
        m = metrics[int(rng.integers(3))]
        unit = units[m][int(rng.integers(2))]
        parts.append([dev, m, "<=", f"{int(rng.integers(1, 500))}", unit])
    victim = parts[int(rng.integers(len(parts)))]
    kind = i % 10
    if kind == 0:
        victim[0] = ["", "no-such-device", "stm32", "host cpu", "::"][i % 5]
    elif kind == 1:
        victim[1] = ["speed", "ram", "", "Latency2", "energy"][i % 5]
    elif kind == 2:
        victim[2] = [">=", "<", "==", "=>", "~"][i % 5]
    elif kind == 3:
        victim[3] = ["-5", "0", "abc", "", "1e999", "nan", "inf", "1.2.3"][i % 8]
    elif kind == 4:
        victim[4] = {"latency": ["KB", "s", "", "MB", "min"], "sram": ["ms", "", "GB", "us", "b"],
                     "flash": ["ms", "", "TB", "us", "x"]}[victim[1]][i % 5]
    elif kind == 5:
        return ";".join(f"{d}: {m}{op}{v}{u}" for d, m, op, v, u in parts) + [";;", ";", ",", ":"][
            i % 4] + "stm32f746"
    elif kind == 6:
        return " ".join(f"{d} {m}{op}{v}{u}" for d, m, op, v, u in parts)  # no colon
    elif kind == 7:
        dup = parts[0]
        return "; ".join(f"{d}: {m}{op}{v}{u}, {m}{op}{v}{u}" for d, m, op, v, u in [dup])
    elif kind == 8:
        return f"{victim[0]}:"  # a device with no limit
    else:
        return ["", ";", "   ", "stm32f746: ", ": sram<=1KB", "\x00", "🙂: sram<=1KB"][i % 7]
    return "; ".join(f"{d}: {m}{op}{v}{u}" for d, m, op, v, u in parts)


def test_budget_strings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(6)
    run = tmp_path / "no-run"  # budgets are parsed before the run folder is looked at
    cases = [["search", "--run", str(run), "--budgets", _budget_case(rng, i)]
             for i in range(N_CASES)]
    # rejected for the budget itself, before the (missing) run folder is looked at
    assert _run_cases(cases, capsys, "budget strings", "run folder") >= REJECTED_AT_LEAST
    assert not run.exists()
