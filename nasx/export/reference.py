"""The model an export must reproduce: the picked subnet after BatchNorm recalibration, or its
refit (:mod:`nasx.train.refit`) where the run's ``refit.steps`` is above 0, with its logits on
the validation and test splits (the normalised splits nasx trains on)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from nasx.export.convert import export_static, spec_for
from nasx.export.metrics import accuracy, batched_logits
from nasx.export.net import ExportedNet
from nasx.export.pick import Pick
from nasx.export.preprocess import Preprocessing


@dataclass(frozen=True)
class Reference:
    """What the exported files are checked against.

    Attributes:
        net: the exported module of the subnet (refitted where the run refits).
        val, test: its logits ``(N, K)`` on the normalised validation and test splits.
        supernet_val, supernet_test: accuracy of the supernet's subnet (the weights the search
            validated) on those splits.
        refit: what the refit did (:meth:`~nasx.train.refit.RefitResult.as_json`), or None
            where the export keeps the supernet's weights.
    """

    net: ExportedNet
    val: Tensor
    test: Tensor
    supernet_val: float
    supernet_test: float
    refit: dict[str, Any] | None


def reference(pick: Pick, run: Any, say: Callable[[str], None] = print, *,
              refit: bool = True) -> Reference:
    """The :class:`Reference` of ``pick`` in the loaded run (a ``TrainedRun``); ``refit=False``
    keeps the supernet's weights whatever the run's ``refit.steps`` (the supernet's BatchNorm
    buffers are restored afterwards)."""
    from nasx.train.bn_recal import preserved_bn_state, recalibrate_bn
    from nasx.train.evaluate import calibration_batches
    from nasx.train.refit import refit_subnet

    net, cfg, splits = run.net, run.cfg, run.splits
    calib = calibration_batches(splits.train, cfg.data.batch_size, cfg.train.calib_batches,
                                cfg.seed, "cpu")
    mode = net.training
    try:
        with torch.no_grad(), preserved_bn_state(net):
            recalibrate_bn(net, pick.arch, calib)
            net.eval()
            ref_val = batched_logits(lambda x, n: net(x, n, arch=pick.arch), splits.val)
            ref_test = batched_logits(lambda x, n: net(x, n, arch=pick.arch), splits.test)
            static = net.extract(pick.arch).eval()
    finally:
        net.train(mode)
    sup_val, sup_test = accuracy(ref_val, splits.val.y), accuracy(ref_test, splits.test.y)
    done = None
    if refit and int(cfg.refit.steps) > 0:
        result = refit_subnet(run, pick.arch, say)
        static, done = result.net, result.as_json()
        ref_val, ref_test = batched_logits(static, splits.val), batched_logits(static, splits.test)
    spec = spec_for(run.space, static.arch, splits.channels, splits.num_classes,
                    Preprocessing.of_splits(splits))
    return Reference(export_static(static, spec), ref_val, ref_test, sup_val, sup_test, done)
