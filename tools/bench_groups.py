"""Group-aware validation against a random one, on generated data with subject effects.

The generated data set (seeded) has ``--subjects`` training subjects and ``--test-subjects``
unseen ones. Every sequence carries the class's shared waveform (what generalises) plus a
subject-and-class waveform (``1.5`` x a normal amplitude: a shortcut that only works for subjects
seen in training) plus the subject's own offset and noise. ``--shared`` sets the shared
waveform's amplitude: at the default 0.5, aeon's MiniRocket (printed beside the picks) reaches
82% on the unseen subjects, so the task can be learnt and a pick's test accuracy says how
well it generalises. A validation split that shares subjects with
training rewards subnets that learn the shortcut; one that holds out whole subjects does not.

The same quickstart (defaults, ``--until search``) runs twice on the same arrays: once with the
``groups`` array in the npz (group split) and once without it (random stratified split); the
test split is the unseen subjects. For each run, the test accuracy of each budget's pick and of
the best validated subnet (chosen and scored as ``tools/bench_datasets.py`` does: after the
recipe's refit where it refits), and the validation accuracy the search believed.

    python tools/bench_groups.py --out runs/bench-groups
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

NASX = [sys.executable, "-m", "nasx"]


def make_subject_data(path: Path, *, subjects: int, test_subjects: int, per_class: int,
                      classes: int = 4, channels: int = 3, length: int = 48,
                      shared_amplitude: float = 0.5, seed: int = 0) -> None:
    """Write the npz described in the module docstring (``X``, ``y``, ``groups``, test)."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, 1.0, length)
    shared = np.stack([np.sin(2 * np.pi * (c + 1) * t + rng.uniform(0, 2 * np.pi, (channels, 1)))
                       for c in range(classes)])  # (K, C, L)

    def subject(s_rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        shortcut = 1.5 * s_rng.normal(size=(classes, channels, 1)) * np.cos(
            2 * np.pi * s_rng.uniform(3, 9, size=(classes, 1, 1)) * t)  # (K, C, L)
        xs, ys = [], []
        for c in range(classes):
            for _ in range(per_class):
                x = (shared_amplitude * shared[c] + shortcut[c]
                     + s_rng.normal(size=(channels, 1))  # the subject's offset
                     + 0.8 * s_rng.normal(size=(channels, length)))
                xs.append(x)
                ys.append(c)
        return np.stack(xs), np.array(ys)

    train = [subject(np.random.default_rng([seed, s])) for s in range(subjects)]
    test = [subject(np.random.default_rng([seed, 1000 + s])) for s in range(test_subjects)]
    groups = np.repeat(np.arange(subjects), classes * per_class)
    np.savez(path, X=np.concatenate([x for x, _ in train]).astype(np.float32),
             y=np.concatenate([y for _, y in train]), groups=groups,
             X_test=np.concatenate([x for x, _ in test]).astype(np.float32),
             y_test=np.concatenate([y for _, y in test]))


def _quickstart(data: Path, out: Path, log: Path) -> float:
    flag = ["--resume"] if (out / "config.yaml").is_file() else []
    t0 = time.perf_counter()
    with log.open("a") as f:
        done = subprocess.run([*NASX, "quickstart", "--data", f"npz:{data}", "--out", str(out),
                               "--until", "search", *flag], stdout=f, stderr=subprocess.STDOUT,
                              check=False)
    if done.returncode:
        raise SystemExit(f"quickstart failed; see {log}")
    return time.perf_counter() - t0


def _results(run: Path) -> dict[str, Any]:
    """Each pick's id, validation accuracy and test accuracy, as bench_datasets scores them."""
    from bench_datasets import _picks, _test_accuracy

    doc = json.loads((run / "search" / "pareto.json").read_text())
    picks = {k: v for k, v in _picks(doc).items() if v is not None}
    accs = _test_accuracy(run, [v["arch"] for v in picks.values()])
    return {k: {"id": v["id"], "val": v["validated"]["accuracy"], "test": a["final"],
                "test_supernet": a["supernet"]}
            for (k, v), a in zip(picks.items(), accs, strict=True)}


def _minirocket(data: Path) -> float:
    """Test accuracy of aeon's MiniRocket (seed 0) trained on the whole training split."""
    from aeon.classification.convolution_based import MiniRocketClassifier

    with np.load(data) as f:
        model = MiniRocketClassifier(random_state=0, n_jobs=1).fit(f["X"], f["y"])
        return float((model.predict(f["X_test"]) == f["y_test"]).mean())


def main(argv: list[str] | None = None) -> int:
    """Generate the data, run both quickstarts (resumable), print the comparison."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("runs/bench-groups"))
    p.add_argument("--subjects", type=int, default=10)
    p.add_argument("--test-subjects", type=int, default=6)
    p.add_argument("--per-class", type=int, default=12)
    p.add_argument("--shared", type=float, default=0.5,
                   help="amplitude of the class waveform shared by all subjects")
    args = p.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    grouped, plain = args.out / "subjects.npz", args.out / "subjects-nogroups.npz"
    make_subject_data(grouped, subjects=args.subjects, test_subjects=args.test_subjects,
                      per_class=args.per_class, shared_amplitude=args.shared)
    with np.load(grouped) as f:
        np.savez(plain, **{k: f[k] for k in f.files if k != "groups"})
    rows = {}
    for label, data in (("group split", grouped), ("random split", plain)):
        run = args.out / label.replace(" ", "-")
        seconds = _quickstart(data, run, args.out / f"{run.name}.log")
        rows[label] = {"seconds": seconds, "picks": _results(run)}
    rows["minirocket"] = {"test": _minirocket(grouped)}
    (args.out / "results.json").write_text(json.dumps(rows, indent=1))
    print("| validation split | subnet | val acc (seen by the search) | test acc (unseen "
          "subjects) |\n|---|---|---:|---:|")
    for label, r in rows.items():
        for k, v in r.get("picks", {}).items():
            print(f"| {label} | {k} `{v['id']}` | {100 * v['val']:.1f} | {100 * v['test']:.1f} "
                  f"({100 * v['test_supernet']:.1f} before the refit) |")
    print(f"| - | MiniRocket (aeon, seed 0) | - | {100 * rows['minirocket']['test']:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
