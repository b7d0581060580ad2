"""Export a latency profile's ONNX graphs ahead of its timing, on a core nobody else uses.

An onnxruntime profile spends nearly all its time in the dynamo ONNX exporter (5-30 s a subnet
on a 2-core machine; the timing itself takes milliseconds), and the graphs do not depend on
the trained weights (the profile's supernet has seeded random weights). So ``nasx quickstart``
exports them while the supernet trains on its one thread:

1. When the run folder is ready, :class:`GraphPrefetch` starts a child process
   (``python -m nasx.predictors.latency.prefetch JOB``, no pickled state: the job is JSON)
   that exports the profile's subnets in the profile's order into the profile's graph store
   (:func:`~nasx.predictors.latency.profile.profile_graphs`), skipping kept ones.
2. When training ends, :meth:`GraphPrefetch.finish` exports from the other end of the list in
   the parent process until the child is done (the two may both export the one subnet where
   they meet: the store renames a finished file into place, so that costs time, not
   correctness), then waits for the child.
3. The profile then times every subnet with no export running beside it; a graph the child
   did not write (it failed or was stopped) is exported by the profile as before.

The child writes what it prints to ``prefetch.log`` in the graphs folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from nasx.predictors.latency.graphs import GraphStore, graphs_dir
from nasx.predictors.latency.profile import profile_archs, profile_graphs, profile_supernet
from nasx.predictors.latency.runtimes import kept_onnx_graph
from nasx.search_spaces import SearchSpace, arch_id, load_space

LOG_FILE = "prefetch.log"


@dataclass(frozen=True)
class GraphJob:
    """What a profile will export: the arguments of
    :func:`~nasx.predictors.latency.profile.profile_latency` the graphs depend on.

    Attributes:
        space_file: the run's ``space.yaml`` (the space the profile loads).
        folder: the profile's folder (``<run>/predictors``).
    """

    space_file: str
    folder: str
    device: str
    runtime: str
    channels: int
    classes: int
    length: int
    samples: int
    seed: int

    def to_json(self) -> str:
        """The job as one JSON object."""
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> GraphJob:
        """The job written by :meth:`to_json`."""
        return cls(**json.loads(text))

    def graphs_folder(self) -> Path:
        """Where the graphs go."""
        return graphs_dir(Path(self.folder), self.device, self.runtime)


def _store(job: GraphJob, space: SearchSpace, *, tidy: bool) -> GraphStore:
    return profile_graphs(Path(job.folder), job.device, job.runtime, space,
                          channels=job.channels, classes=job.classes, length=job.length,
                          seed=job.seed, tidy=tidy)


def export_profile_graphs(job: GraphJob, *, reverse: bool = False, tidy: bool = True,
                          stop: Callable[[], bool] | None = None) -> int:
    """Export the graphs of ``job`` that are not kept yet, one thread; returns how many.

    Args:
        reverse: from the last subnet of the profile's list to the first.
        tidy: may remove interrupted exports' temporary folders (False while another process
            may export into the same store: the child and the parent of :class:`GraphPrefetch`).
        stop: asked before each subnet; True ends the loop.
    """
    space = load_space(job.space_file)
    archs = profile_archs(space, job.samples, job.seed)
    net = profile_supernet(space, job.channels, job.classes, job.seed)
    store = _store(job, space, tidy=tidy)
    done, threads = 0, torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        for arch in reversed(archs) if reverse else archs:
            if stop is not None and stop():
                break
            if store.path(arch_id(arch)).is_file():
                continue
            kept_onnx_graph(net.extract(arch).eval(), store, space=space,
                            channels=job.channels, classes=job.classes, length=job.length)
            done += 1
    finally:
        torch.set_num_threads(threads)
    return done


class GraphPrefetch:
    """A child process exporting ``job``'s graphs (see the module docstring)."""

    def __init__(self, job: GraphJob) -> None:
        self.job = job
        # the store is set up (settings checked, interrupted exports removed) before the child
        # starts: from then on nobody removes a temporary folder another exporter writes into
        _store(job, load_space(job.space_file), tidy=True)
        with open(job.graphs_folder() / LOG_FILE, "w", encoding="utf-8") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", __name__, job.to_json()], stdout=log,
                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env={**os.environ, "OMP_NUM_THREADS": "1"})

    def running(self) -> bool:
        """Whether the child is still exporting."""
        return self.process.poll() is None

    def finish(self) -> int:
        """Export from the other end of the list until the child is done, then wait for it;
        returns the child's exit status."""
        if self.running():
            export_profile_graphs(self.job, reverse=True, tidy=False,
                                  stop=lambda: not self.running())
        return self.process.wait()

    def cancel(self) -> None:
        """Stop the child (a graph it was writing is left as a temporary folder, removed by
        the next profile)."""
        if self.running():
            self.process.terminate()
        self.process.wait()


def main(argv: list[str] | None = None) -> int:
    """Child entry point: export the graphs of the job given as JSON."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m nasx.predictors.latency.prefetch JOB_JSON", file=sys.stderr)
        return 2
    job = GraphJob.from_json(args[0])
    print(f"exported {export_profile_graphs(job, tidy=False)} graphs", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
