"""``nasx profile``: measure subnets on this machine, fit the latency predictor, report held-out
accuracy.

1. Draw the subnets: the largest and smallest, then ``samples`` distinct random ones (seeded, so
   a larger ``samples`` later extends the same list and reuses its measurements).
2. Build a supernet with random weights (seeded; latency does not depend on the weight values)
   and extract each subnet as a static module of plain torch layers, then put it in the
   ``runtime`` it is measured in (:mod:`~nasx.predictors.latency.runtimes`: by default the device
   profile's, ``onnxruntime`` on ``host-cpu``: the subnet exported as ``model.onnx``, kept in
   ``latency-<device>-onnxruntime-graphs/`` beside the measurements (:mod:`.graphs`) so a
   resumed profile loads it instead of exporting it again).
3. Measure each subnet's forward call on a ``(batch, channels, length)`` input, every sequence
   full length, in eval mode under ``torch.inference_mode()`` with ``threads`` CPU threads:
   ``rounds`` interleaved rounds of ``warmup`` untimed and ``repeats`` timed calls, appended to
   the resumable dataset (:mod:`~nasx.predictors.latency.data`).
4. Hold out ``min(100, samples // 4)`` random subnets (seeded), fit the predictor
   (:mod:`~nasx.predictors.latency.model`) on the others, and report MAPE and the share of the
   held-out subnets predicted within +-10 % of their measured latency.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from nasx.errors import NasxError
from nasx.predictors.cost.latency import latency_label
from nasx.predictors.devices.profile import DeviceProfile
from nasx.predictors.latency.data import (
    LatencyDataset,
    ProfileSettings,
    measure_rounds,
    space_fingerprint,
)
from nasx.predictors.latency.graphs import GraphStore, graphs_dir
from nasx.predictors.latency.measure import measure_samples_s
from nasx.predictors.latency.model import (
    LatencyPredictor,
    data_file,
    holdout_metrics,
    predictor_file,
)
from nasx.predictors.latency.runtimes import check_runtime, module_bytes, runtime_module
from nasx.search_spaces import (
    Arch,
    GenomeCodec,
    SearchSpace,
    arch_id,
    largest_arch,
    random_arch,
    smallest_arch,
)
from nasx.supernet import Supernet

HOST_CPU = "host-cpu"
MAX_HOLDOUT = 100
MODULE_CACHE_BYTES = 1 << 30  # keep extracted modules across rounds while their weights fit


def measurable_torch_device(profile: DeviceProfile) -> str:
    """The torch device that measures ``profile``: ``cpu`` for ``host-cpu``, ``cuda`` for a GPU
    profile whose name matches the visible CUDA device (e.g. ``h100`` on an H100).

    Raises:
        NasxError: any other device: it is not this machine, so nasx uses its analytic model.
    """
    if profile.name == HOST_CPU:
        return "cpu"
    if profile.device_class == "gpu" and torch.cuda.is_available():
        gpu = torch.cuda.get_device_name(0).lower()
        if profile.name.split("-")[0].lower() in gpu:
            return "cuda"
    label = latency_label(profile)
    raise NasxError(f"device {profile.name!r} is not this machine, so it cannot be measured; "
                    f"its latency comes from the analytic model, labelled '{label}' "
                    f"(`nasx cost --device {profile.name}`); measure with --device {HOST_CPU}")


def profile_archs(space: SearchSpace, samples: int, seed: int) -> list[Arch]:
    """The largest and smallest subnets, then ``samples`` distinct random ones (seeded).

    Raises:
        NasxError: the space has fewer distinct subnets than asked for.
    """
    rng = np.random.default_rng(seed)
    archs = [largest_arch(space, rng), smallest_arch(space, rng)]
    seen = {arch_id(a) for a in archs}
    draws = 0
    while len(archs) < samples + 2:
        a = random_arch(space, rng)
        draws += 1
        if draws > 100 * (samples + 2):
            raise NasxError(f"search space {space.name!r} gave only {len(archs) - 2} distinct "
                            f"random subnets in {draws} draws; ask for fewer --samples")
        if arch_id(a) not in seen:
            seen.add(arch_id(a))
            archs.append(a)
    return archs


def holdout_count(samples: int) -> int:
    """Held-out subnets for ``samples`` random ones: ``min(100, samples // 4)``."""
    return min(MAX_HOLDOUT, samples // 4)


def split_holdout(archs: list[Arch], seed: int) -> tuple[list[str], list[str]]:
    """``(train ids, held-out ids)``: ``holdout_count`` random subnets (seeded) are held out;
    the largest and smallest (``archs[:2]``) always train."""
    random_ids = [arch_id(a) for a in archs[2:]]
    pick = np.random.default_rng([seed, 1]).permutation(len(random_ids))
    held = {random_ids[i] for i in pick[:holdout_count(len(random_ids))]}
    ids = [arch_id(a) for a in archs]
    return [i for i in ids if i not in held], [i for i in ids if i in held]


@dataclass(frozen=True)
class ProfileReport:
    """What :func:`profile_latency` did: files, counts, timing and held-out accuracy."""

    predictor: LatencyPredictor
    predictor_path: Path
    data_path: Path
    measured: int
    reused: int
    seconds: float
    n_train: int
    holdout: dict[str, float] | None


class _ModuleSource:
    """Extracts subnets as static modules on ``device`` in ``runtime``, keeping them while they
    fit a budget (an exported subnet is exported once)."""

    def __init__(self, net: Supernet, device: str, runtime: str, threads: int,
                 length: int, graphs: GraphStore | None = None) -> None:
        self.net, self.device, self.runtime, self.threads = net, device, runtime, threads
        self.length, self.graphs = length, graphs
        self.cache: dict[str, nn.Module] = {}
        self.cached_bytes = 0

    def __call__(self, arch: Arch) -> nn.Module:
        key = arch_id(arch)
        hit = self.cache.get(key)
        if hit is not None:
            return hit
        static = self.net.extract(arch).eval().to(self.device)
        module = runtime_module(static, self.runtime, space=self.net.space,
                                channels=self.net.in_channels, classes=self.net.num_classes,
                                length=self.length, threads=self.threads,
                                graphs=self.graphs)
        size = module_bytes(module)
        if self.cached_bytes + size <= MODULE_CACHE_BYTES:
            self.cache[key] = module
            self.cached_bytes += size
        return module


def profile_supernet(space: SearchSpace, channels: int, classes: int, seed: int) -> Supernet:
    """The eval-mode supernet a profile extracts its subnets from (random weights, seeded)."""
    torch.manual_seed(seed)
    return Supernet(space, channels, classes).eval()


def profile_graphs(folder: Path, device: str, runtime: str, space: SearchSpace, *,
                   channels: int, classes: int, length: int, seed: int,
                   tidy: bool = True) -> GraphStore:
    """The store of a profile's exported graphs, keyed by what the graphs depend on."""
    return GraphStore(graphs_dir(folder, device, runtime), {
        "space_fingerprint": space_fingerprint(space), "channels": channels,
        "classes": classes, "length": length, "seed": seed, "torch": torch.__version__},
        tidy=tidy)


def profile_latency(space: SearchSpace, *, device: DeviceProfile, channels: int, classes: int,
                    length: int, folder: Path, samples: int, runtime: str | None = None,
                    batch: int | None = None, threads: int = 1,
                    warmup: int = 2, repeats: int = 5, rounds: int = 10, seed: int = 0,
                    statistic: str = "min", data_sha256: str | None = None,
                    progress: Callable[[int, int], Any] | None = None) -> ProfileReport:
    """Measure, fit and save the latency predictor of ``space`` on ``device`` (see the module
    docstring); files go to ``folder``.

    Args:
        runtime: what runs the subnets (default: the profile's, ``device.runtime``).
        batch: sequences per call (default: the profile's, ``device.batch``).
        progress: called as ``progress(done, total)`` after each (subnet, round) pair.

    Raises:
        NasxError: a device that is not this machine, bad counts, or a dataset in ``folder``
            measured with other settings.
    """
    torch_device = measurable_torch_device(device)
    runtime = runtime or device.runtime
    batch = device.batch if batch is None else batch
    check_runtime(runtime)
    if runtime != "torch" and torch_device != "cpu":
        raise NasxError(f"--runtime {runtime}: on {device.name} only torch is measured here "
                        "(onnxruntime-CUDA is not installed); give --runtime torch")
    for name, value, least in (("samples", samples, 1), ("batch", batch, 1),
                               ("threads", threads, 1), ("warmup", warmup, 0),
                               ("repeats", repeats, 1), ("rounds", rounds, 1),
                               ("length", length, 1)):
        if value < least:
            raise NasxError(f"--{name} {value}: give an integer >= {least}")
    settings = ProfileSettings(
        device=device.name, space=space.name, space_fingerprint=space_fingerprint(space),
        channels=channels, classes=classes, length=length, batch=batch,
        threads=threads if torch_device == "cpu" else 0, warmup=warmup, repeats=repeats,
        torch=torch.__version__, runtime=runtime)
    dataset = LatencyDataset(data_file(folder, device.name, runtime), settings)
    archs = profile_archs(space, samples, seed)
    codec = GenomeCodec(space)
    total = rounds * len(archs)
    done = [0]

    def tick(n: int) -> None:
        done[0] += n
        if progress is not None:
            progress(done[0], total)

    start = time.perf_counter()
    previous_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        net = profile_supernet(space, channels, classes, seed)
        graphs = None
        if runtime == "onnxruntime":  # the graphs a resumed profile need not export again
            graphs = profile_graphs(folder, device.name, runtime, space, channels=channels,
                                    classes=classes, length=length, seed=seed)
        modules = _ModuleSource(net, torch_device, runtime, threads, length, graphs)
        gen = torch.Generator().manual_seed(seed)
        x = torch.randn(batch, channels, length, generator=gen).to(torch_device)  # (B, C, L)
        lengths = torch.full((batch,), length, dtype=torch.long, device=torch_device)  # (B,)

        def measure(arch: Arch) -> list[float]:
            return measure_samples_s(modules(arch), x, lengths, warmup=warmup, repeats=repeats)

        measured = measure_rounds(dataset, archs, codec, measure, rounds=rounds, seed=seed,
                                  progress=tick)
    finally:
        torch.set_num_threads(previous_threads)
    train_ids, held_ids = split_holdout(archs, seed)
    genomes, latency = dataset.table(train_ids, statistic)
    held: dict[str, float] | None = None
    info: dict[str, Any] = {"rounds": rounds, "seed": seed, "samples": samples,
                            "dataset": data_file(folder, device.name, runtime).name}
    if data_sha256 is not None:  # a record only: latency depends on the data's shape alone
        info["data_sha256"] = data_sha256
    predictor = LatencyPredictor.fit(space, settings, statistic, genomes, latency, info)
    if held_ids:
        hg, hl = dataset.table(held_ids, statistic)
        held = holdout_metrics(predictor.predict(hg), hl)
        predictor.info["holdout"] = held
    path = predictor_file(folder, device.name, runtime)
    predictor.save(path)
    return ProfileReport(predictor=predictor, predictor_path=path,
                         data_path=data_file(folder, device.name, runtime), measured=measured,
                         reused=total - measured, seconds=time.perf_counter() - start,
                         n_train=len(train_ids), holdout=held)
