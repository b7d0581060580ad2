"""Measured latency of the search's candidates on this machine, fed back into the latency
predictor.

The runtime is the predictor's when there is one, else the one the search asks for (the
``host-cpu`` profile's, onnxruntime, unless ``--runtime``). When the run holds a measured
``host-cpu`` predictor (``R/predictors/latency-host-cpu-<runtime>.json``, made by ``nasx
profile --run R``), each candidate is measured exactly as the profile measured its subnets
(same runtime, input shape, threads, warm-up, repeats and number of interleaved rounds) into
the profile's dataset (``latency-host-cpu-<runtime>-data.jsonl``), its validated latency is the
predictor's statistic of those samples, and :meth:`HostLatency.refit` refits the predictor on
the profile's training subnets plus every candidate measured so far (the profile's held-out
subnets stay out, and its held-out error is recomputed), saving it over the run's predictor.

Otherwise (no predictor, or one from the user cache, which a search never rewrites) the
candidates are only measured (:func:`nasx.search.validate.measured_latency_ms`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nasx.runs.layout import PREDICTORS_DIR
from nasx.runs.trained import TrainedRun
from nasx.search.validate import HOST_DEVICE, MeasureSettings, measured_latency_ms
from nasx.search_spaces import Arch, GenomeCodec, arch_id


class HostLatency:
    """Measures candidates on this machine; refits the run's latency predictor with them.

    Args:
        run: the trained run (its supernet gives the candidates' modules).
        predictor: the ``host-cpu`` ``LatencyPredictor`` in use, or ``None``.
        folder: the folder ``predictor`` was loaded from.
        runtime: what runs the candidates when there is no predictor (else its runtime).
    """

    def __init__(self, run: TrainedRun, predictor: Any | None, folder: Path | None,
                 runtime: str = "onnxruntime") -> None:
        self.run, self.predictor = run, predictor
        self.runtime = predictor.runtime if predictor is not None else runtime
        in_run = folder is not None and Path(folder).resolve() == (
            Path(run.run_dir) / PREDICTORS_DIR).resolve()
        self.folder = Path(folder) if in_run and folder is not None else None
        self.added: list[str] = []  # candidate ids measured into the dataset
        if predictor is not None:
            st = predictor.settings
            # at least 30 calls when not pooled into the profile's rounds
            self.plain = MeasureSettings(batch=st.batch, length=st.length, threads=st.threads,
                                         warmup=st.warmup, repeats=max(st.repeats, 30),
                                         statistic=predictor.statistic, runtime=self.runtime)
        else:
            self.plain = MeasureSettings(runtime=self.runtime)

    @property
    def feeds_predictor(self) -> bool:
        """Whether measurements go into the predictor's dataset (and :meth:`refit` refits)."""
        return self.predictor is not None and self.folder is not None

    def measure_ms(self, archs: Sequence[Arch]) -> list[float]:
        """Validated latency (ms) of each of ``archs`` on this machine."""
        if not self.feeds_predictor:
            return measured_latency_ms(self.run, archs, self.plain)
        import torch

        from nasx.export.preprocess import Preprocessing
        from nasx.predictors.latency.data import LatencyDataset, measure_rounds
        from nasx.predictors.latency.measure import measure_samples_s
        from nasx.predictors.latency.model import data_file
        from nasx.predictors.latency.runtimes import runtime_module

        pred = self.predictor
        st = pred.settings
        dataset = LatencyDataset(data_file(self.folder, HOST_DEVICE, st.runtime), st)
        codec = GenomeCodec(self.run.space)
        gen = torch.Generator().manual_seed(0)
        x = torch.randn(st.batch, st.channels, st.length, generator=gen)  # (B, C, L)
        lengths = torch.full((st.batch,), st.length, dtype=torch.long)  # (B,)
        modules: dict[str, Any] = {}

        def measure(arch: Arch) -> list[float]:
            key = arch_id(arch)
            if key not in modules:
                static = self.run.net.extract(arch).eval().to("cpu")
                modules[key] = runtime_module(
                    static, st.runtime, space=self.run.space, channels=st.channels,
                    classes=st.classes, length=st.length, threads=st.threads,
                    preprocessing=Preprocessing.of_splits(self.run.splits))
            return measure_samples_s(modules[key], x, lengths, warmup=st.warmup,
                                     repeats=st.repeats)

        threads = torch.get_num_threads()
        torch.set_num_threads(st.threads)
        try:
            measure_rounds(dataset, archs, codec, measure, rounds=int(pred.info.get("rounds", 10)),
                           seed=int(pred.info.get("seed", 0)))
        finally:
            torch.set_num_threads(threads)
        ids = [arch_id(a) for a in archs]
        self.added += [i for i in ids if i not in self.added]
        return [1e3 * dataset.latency_s(i, pred.statistic) for i in ids]

    def refit(self) -> Any | None:
        """Refit and save the run's predictor with the measured candidates; the new predictor,
        or ``None`` when measurements do not feed a predictor."""
        if not self.feeds_predictor or not self.added:
            return None
        from nasx.predictors.latency.data import LatencyDataset
        from nasx.predictors.latency.model import (
            LatencyPredictor,
            data_file,
            holdout_metrics,
            predictor_file,
        )
        from nasx.predictors.latency.profile import profile_archs, split_holdout

        pred = self.predictor
        info = dict(pred.info)
        samples, seed = int(info.get("samples", 0)), int(info.get("seed", 0))
        train_ids, held_ids = split_holdout(profile_archs(self.run.space, samples, seed), seed)
        held = set(held_ids)
        ids = train_ids + [i for i in self.added if i not in held and i not in set(train_ids)]
        dataset = LatencyDataset(data_file(self.folder, HOST_DEVICE, pred.runtime), pred.settings)
        genomes, latency = dataset.table(ids, pred.statistic)
        info["search_candidates"] = len(ids) - len(train_ids)
        new = LatencyPredictor.fit(self.run.space, pred.settings, pred.statistic, genomes,
                                   latency, {k: v for k, v in info.items()
                                             if k not in ("model", "n_train")})
        if held_ids:
            hg, hl = dataset.table(held_ids, pred.statistic)
            new.info["holdout"] = holdout_metrics(new.predict(hg), hl)
        new.save(predictor_file(self.folder, HOST_DEVICE, pred.runtime))
        self.predictor = new
        return new
