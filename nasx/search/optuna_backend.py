"""The optuna backend: ``NSGAIISampler`` over the same genome, objectives and constraints.

Each generation is one batch: ``population_size`` trials are asked (optuna numbers them as
one generation), each suggests every gene as an integer ``0..upper`` (named as the genome's
genes, e.g. ``stages[0].blocks[1].op``), the repaired genomes are evaluated in one vectorised
call, the constraints are set with ``trial.set_constraint`` (optuna 5; feasible when ``<= 0``)
and the objectives told. A trial whose repaired genome was evaluated before gets the same
values without a new evaluation (it is in the archive once). Each trial carries the user
attributes ``arch_id`` and ``feasible``, so optuna-dashboard (with ``--storage``) shows them.

The study runs in memory; with ``storage`` the finished study is copied there in one pass
(``optuna.copy_study``). Storages: an RDB URL (``sqlite:///path.db``; SQLAlchemy costs about
4 ms per stored parameter, so about 0.25 s per trial of a 65-gene genome) or
``journal:PATH``, optuna's append-only journal file (about 100x faster). optuna-dashboard
opens both (``optuna-dashboard sqlite:///path.db`` or ``optuna-dashboard PATH``).
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from nasx.errors import NasxError
from nasx.search.archive import Archive
from nasx.search.nsga import GenerationHook
from nasx.search.operators import genome_key
from nasx.search.repair import GenomeRepair
from nasx.search.task import CONSTRAINT_NAMES, SearchTask
from nasx.search_spaces import arch_id

JOURNAL_PREFIX = "journal:"


def open_storage(spec: str) -> Any:
    """The optuna storage of ``spec`` (``journal:PATH`` or an RDB URL), opened once so a bad
    one fails early.

    Raises:
        NasxError: the storage cannot be opened.
    """
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    try:
        if spec.startswith(JOURNAL_PREFIX):
            path = spec[len(JOURNAL_PREFIX):]
            if not path:
                raise ValueError("no path")
            return JournalStorage(JournalFileBackend(path))
        return optuna.storages.get_storage(spec)
    except Exception as err:  # optuna raises many kinds (ValueError, SQLAlchemy, OSError)
        raise NasxError(f"--storage {spec}: cannot open it ({type(err).__name__}); give an "
                        "optuna storage such as sqlite:///runs/NAME/search/optuna.db or "
                        "journal:runs/NAME/search/optuna.log") from None


def run_optuna(task: SearchTask, repair: GenomeRepair, *, n_trials: int, pop_size: int = 100,
               seed: int = 0, archive: Archive | None = None, storage: Any = None,
               study_name: str | None = None,
               on_generation: GenerationHook | None = None) -> Archive:
    """Run optuna's NSGA-II on ``task`` for ``n_trials`` trials and return the archive.

    Args:
        task: what to evaluate.
        repair: the canonicaliser of the task's space.
        n_trials: trials to run (the last generation is cut to fit).
        pop_size: the sampler's population size (trials per generation).
        seed: the sampler's seed.
        archive: where to record (a new one for ``task.device`` if ``None``).
        storage: an optuna storage (or a spec for :func:`open_storage`), e.g.
            ``sqlite:///runs/jv/search/optuna.db``, that the finished study is copied to.
        study_name: the study's name (in ``storage``, where it must not exist yet).
        on_generation: called after each generation with its number and the archive.
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if archive is None:
        archive = Archive(task.device.name, task.device.latency_label)
    codec = repair.codec
    sampler = optuna.samplers.NSGAIISampler(population_size=pop_size, seed=seed)
    memory = optuna.storages.InMemoryStorage()
    study = optuna.create_study(directions=["minimize"] * task.n_obj, sampler=sampler,
                                storage=memory, study_name=study_name)
    with warnings.catch_warnings():  # experimental since optuna 3.2, shown by the dashboard
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names(list(task.objective_names))
    names = [g.name for g in codec.genes]
    upper = [int(u) for u in codec.upper]
    known: dict[bytes, tuple[np.ndarray, np.ndarray, str]] = {}
    done, generation = 0, 0
    while done < n_trials:
        trials = [study.ask() for _ in range(min(pop_size, n_trials - done))]
        raw = np.array([[t.suggest_int(n, 0, u) for n, u in zip(names, upper, strict=True)]
                        for t in trials], dtype=np.int64)  # (batch, G)
        genomes = repair(raw)
        keys = [genome_key(g) for g in genomes]
        fresh: dict[bytes, int] = {}
        for i, k in enumerate(keys):
            if k not in known and k not in fresh:
                fresh[k] = i
        if fresh:
            rows = list(fresh.values())
            ev = task.evaluate(genomes[rows])
            archive.add(ev, generation)
            for j, (k, i) in enumerate(fresh.items()):
                known[k] = (ev.F[j], ev.G[j], arch_id(codec.decode(genomes[i])))
        for t, k in zip(trials, keys, strict=True):
            F, G, key = known[k]
            for name, value in zip(CONSTRAINT_NAMES, G, strict=True):
                t.set_constraint(name, float(value))
            t.set_user_attr("arch_id", key)
            t.set_user_attr("feasible", bool((G <= 0).all()))
            study.tell(t, [float(v) for v in F])
        done += len(trials)
        if on_generation is not None:
            on_generation(generation, archive)
        generation += 1
    if storage is not None:
        target = open_storage(storage) if isinstance(storage, str) else storage
        optuna.copy_study(from_study_name=study.study_name, from_storage=memory,
                          to_storage=target)
    return archive

