"""The HParams dashboard of a search (``R/tb/search/hparams/``), as an engineer filters it.

One experiment summary (``tb/search/hparams``, rewritten by each search: TensorBoard shows one
experiment, so no column can vanish) and one session per subnet of ``pareto.json`` (every
validated subnet and every pick, not only the front), ``tb/search/hparams/<device>/<id>``.

Columns: ``device``, ``pick`` (the budgets it is picked for, or ``-``), ``on_front``,
``round``, ``arch`` (the one-line description), and the arch summarised as numbers per stage
(``s<i>_ops`` the op types of its blocks, ``s<i>_depth``, ``s<i>_width``) with ``min_wbits``
and ``min_abits`` over the stem, entries and blocks; numeric columns are numbers, so the
dashboard filters them by range and sorts them numerically. Metrics (``search_subnet/*``, per
session, step 0; the Time series dashboard lists them after the search's own charts):
predicted and validated accuracy (%), predicted latency (ms, of the device's runtime), measured
latency (ms; host-cpu), SRAM and flash (KB), params and MACs (from the cost model), and test
accuracy (%) once ``nasx export`` has measured it (:func:`log_test_accuracy`; display only, the
search never selects by it).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from nasx.runs.layout import TB_HPARAMS_DIR, TB_SEARCH_DIR
from nasx.search.pareto import SubnetEntry

# metric tag -> (display name, description with its unit)
METRICS: dict[str, tuple[str, str]] = {
    "search_subnet/predicted_accuracy": ("pred acc %", "accuracy the predictor gives, in %"),
    "search_subnet/validated_accuracy": ("val acc %",
                                         "validation accuracy (BatchNorm recalibrated), %"),
    "search_subnet/predicted_latency_ms": ("pred latency ms",
                                           "predicted latency per sequence, ms"),
    "search_subnet/measured_latency_ms": ("measured latency ms", "measured on this machine, ms"),
    "search_subnet/sram_kb": ("SRAM KB", "peak activation/state SRAM + engine SRAM, KB"),
    "search_subnet/flash_kb": ("flash KB", "packed weights + engine flash, KB"),
    "search_subnet/params": ("params", "parameters of the subnet"),
    "search_subnet/macs": ("MACs", "multiply-accumulates per sequence"),
    "search_subnet/test_accuracy": ("test acc %",
                                    "test accuracy of the exported model (after refit when it "
                                    "ran), %; written by nasx export; display only: the search "
                                    "never selects by it (it picks on validation accuracy)"),
}
TEST_ACCURACY_SUFFIX = ".test-accuracy"  # the events files log_test_accuracy writes


def session_dir(run_dir: Path, device: str, index: int, subnet_id: str) -> Path:
    """The HParams session folder of ``pareto.json`` subnet ``index`` (on ``device``)."""
    return Path(run_dir) / TB_HPARAMS_DIR / device / f"{index:03d}-{subnet_id}"


def arch_columns(arch: Mapping[str, Any], stages: int) -> dict[str, Any]:
    """The summarised arch columns of ``arch`` (see the module docstring); ``stages``: the
    space's stage count (missing stages are depth 0)."""
    out: dict[str, Any] = {}
    wbits = [arch["stem"]["wbits"]]
    abits = [arch["stem"]["abits"]]
    for i in range(stages):
        st = arch["stages"][i] if i < len(arch["stages"]) else None
        blocks = st["blocks"] if st else []
        out[f"s{i}_ops"] = ",".join(b["op"] for b in blocks) or "-"
        out[f"s{i}_depth"] = float(len(blocks))
        out[f"s{i}_width"] = float(st["width"]) if st else 0.0
        if st:
            wbits += [st["wbits"], *(b["wbits"] for b in blocks)]
            abits += [st["abits"], *(b["abits"] for b in blocks)]
    out["min_wbits"] = float(min(wbits))
    out["min_abits"] = float(min(abits))
    return out


def _session(entry: SubnetEntry, picks: Sequence[str], round_: int, stages: int,
             cost: Mapping[str, float]) -> tuple[dict[str, Any], dict[str, float]]:
    from nasx.search_spaces import describe_arch

    hp: dict[str, Any] = {"device": entry.device, "pick": "; ".join(picks) or "-",
                          "on_front": "yes" if entry.on_front else "no", "round": float(round_),
                          "arch": describe_arch(entry.arch), **arch_columns(entry.arch, stages)}
    p, v = entry.predicted, entry.validated or {}
    metrics = {"search_subnet/predicted_accuracy": 100 * p["accuracy"],
               "search_subnet/predicted_latency_ms": p["latency_ms"],
               "search_subnet/sram_kb": p["sram_kb"], "search_subnet/flash_kb": p["flash_kb"],
               "search_subnet/params": float(cost["params"]),
               "search_subnet/macs": float(cost["macs"])}
    if v.get("accuracy") is not None:
        metrics["search_subnet/validated_accuracy"] = 100 * v["accuracy"]
    if v.get("latency_ms") is not None:
        metrics["search_subnet/measured_latency_ms"] = v["latency_ms"]
    return hp, metrics


def log_hparams(run_dir: Path, entries: Sequence[SubnetEntry], picks: Mapping[int, list[str]],
                round_: int, stages: int, costs: Sequence[Mapping[str, float]]) -> None:
    """Write the experiment and one session per entry that is validated or picked.

    Args:
        entries: the ``pareto.json`` subnets, in order.
        picks: entry index -> names of the budgets it is picked for.
        round_: the round the entries come from (the last).
        stages: the space's stage count.
        costs: per entry, ``params`` and ``macs``.
    """
    import shutil

    from tensorboard.plugins.hparams import summary_v2

    from nasx.tb import TagWriter

    folder = Path(run_dir) / TB_HPARAMS_DIR
    # the latest search's sessions only: one experiment, as TensorBoard shows one (an earlier
    # search's numbers stay in its numbered search/ folder)
    shutil.rmtree(folder, ignore_errors=True)
    sessions = [(i, *_session(e, picks.get(i, []), round_, stages, costs[i]))
                for i, e in enumerate(entries) if e.validated is not None or i in picks]
    if not sessions:
        return
    names = list(dict.fromkeys(k for _, hp, _ in sessions for k in hp))
    domains = {}
    for k in names:
        values = [hp[k] for _, hp, _ in sessions if k in hp]
        if all(isinstance(x, float) for x in values):
            domains[k] = summary_v2.RealInterval(min(values), max(values) or 1.0)
        else:
            domains[k] = summary_v2.Discrete(sorted(set(values)))
    hparams = {k: summary_v2.HParam(k, domains[k]) for k in names}
    metrics = [summary_v2.Metric(tag, display_name=name, description=text)
               for tag, (name, text) in METRICS.items()]
    with TagWriter(folder) as writer:
        writer.summary(summary_v2.hparams_config_pb(hparams=list(hparams.values()),
                                                    metrics=metrics))
    descriptions = {tag: text for tag, (_, text) in METRICS.items()}
    for i, hp, values in sessions:
        e = entries[i]
        with TagWriter(session_dir(run_dir, e.device, i, e.id)) as session:
            session.summary(summary_v2.hparams_pb({hparams[k]: v for k, v in hp.items()},
                                                  trial_id=f"{e.device}/{e.id}"))
            session.scalars(values, 0, descriptions)


def log_test_accuracy(run_dir: Path, doc: Mapping[str, Any], subnet_id: str,
                      accuracy: float) -> int:
    """Add ``search_subnet/test_accuracy`` (``accuracy`` in [0, 1], logged in %) to the HParams
    session of every ``pareto.json`` subnet (``doc``) with id ``subnet_id`` that has one,
    replacing an earlier export's value; returns how many sessions got it."""
    from nasx.tb import TagWriter

    tag = "search_subnet/test_accuracy"
    written = 0
    for index, s in enumerate(doc["subnets"]):
        folder = session_dir(run_dir, s["device"], index, s["id"])
        if s["id"] != subnet_id or not folder.is_dir():
            continue
        for old in folder.glob(f"events.out.tfevents.*{TEST_ACCURACY_SUFFIX}"):
            old.unlink()
        with TagWriter(folder, filename_suffix=TEST_ACCURACY_SUFFIX) as writer:
            writer.scalar(tag, 100 * accuracy, 0, METRICS[tag][1])
        written += 1
    return written


def summary_markdown(doc: Mapping[str, Any], accuracy_info: Mapping[str, Any]) -> str:
    """The search as TensorBoard's Text dashboard shows it: each budget's pick and its rule,
    the accuracy predictor's held-out Kendall tau beside the tau the validation noise allows,
    and the settings."""
    from nasx.search_spaces import describe_arch

    lines = ["| budget | pick | val acc % | latency ms | runtime | arch |",
             "|---|---|---|---|---|---|"]
    for b in doc["budgets"]:
        if b["best"] is None:
            lines.append(f"| {b['name']} | none meets it | | | | |")
            continue
        s = doc["subnets"][b["best"]]
        v, p = s["validated"] or {}, s["predicted"]
        ms = v.get("latency_ms") if v.get("latency_ms") is not None else p["latency_ms"]
        acc = "" if v.get("accuracy") is None else f"{100 * v['accuracy']:.2f}"
        lines.append(f"| {b['name']} | {s['id']} | {acc} | {ms:.4g} | {p.get('runtime', '')} "
                     f"| {describe_arch(s['arch'])} |")
    lines.append("")
    lines += [f"- {b['name']}: {b['pick']['rule']}" for b in doc["budgets"] if b.get("pick")]
    held = accuracy_info.get("holdout") or {}
    tau, noise = held.get("kendall_tau"), (held.get("measurement") or {}).get("tau_expected")
    lines.append(f"- accuracy predictor: held-out Kendall tau "
                 f"{'n/a' if tau is None else f'{tau:.3f}'}; the tau the validation split's "
                 f"noise allows: {'n/a' if noise is None else f'{noise:.3f}'} (a predictor "
                 "cannot rank subnets better than the split measures them)")
    lines.append("")
    lines.append("settings: `" + json.dumps(doc.get("settings", {}), sort_keys=True) + "`")
    return "\n".join(lines)


def log_summary(run_dir: Path, doc: Mapping[str, Any], accuracy_info: Mapping[str, Any]) -> None:
    """Write :func:`summary_markdown` as the text ``search/summary`` (run ``search``)."""
    from nasx.tb import TagWriter

    with TagWriter(Path(run_dir) / TB_SEARCH_DIR) as writer:
        writer.text("search/summary", summary_markdown(doc, accuracy_info), 0,
                    "the search as a table: each budget's pick (id, validation accuracy %, "
                    "latency ms of its runtime, arch) and its pick rule, the accuracy "
                    "predictor's held-out Kendall tau beside the tau the validation noise "
                    "allows, and the settings")
