"""Checks of a run's ``tb/`` folder shared by the train, search and quickstart tests: every
events file holds a value, every tag a description, and nothing is logged at the root."""

from __future__ import annotations

from pathlib import Path


def tag_descriptions(path: Path) -> dict[str, str]:
    """Tag -> the description of its first value in the events file at ``path`` (the HParams
    plugin's own summaries under ``hparams``: they are no chart)."""
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    out: dict[str, str] = {}
    for event in EventFileLoader(str(path)).Load():
        for value in event.summary.value:
            tag = ("hparams" if value.metadata.plugin_data.plugin_name == "hparams"
                   else value.tag)
            out.setdefault(tag, value.metadata.summary_description)
    return out


def tb_problems(tb: Path) -> list[str]:
    """What is wrong under ``tb``: an events file without a summary value, a tag without a
    description, an events file at the root (a run TensorBoard calls ".")."""
    problems = []
    for f in sorted(tb.rglob("events.out.tfevents.*")):
        where = f.relative_to(tb).as_posix()
        tags = tag_descriptions(f)
        if not tags:
            problems.append(f"{where}: no value")
        problems += [f"{where}: {tag}: no description" for tag, text in tags.items()
                     if tag != "hparams" and not text]
        if f.parent == tb:
            problems.append(f"{where}: at the root")
    return problems
