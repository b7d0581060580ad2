"""nasx.tb.TagWriter: no events file before the first value; the description (and plugin) on
the first value of each tag in each file."""

from __future__ import annotations

from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_file_loader import RawEventFileLoader
from tensorboard.compat.proto.event_pb2 import Event

from nasx.tb import TagWriter


def _values(path: Path) -> list[tuple[int, str, str, str]]:
    """(step, tag, plugin, description) of every summary value in the events file, as written
    (TensorBoard's readers add the scalars plugin to plain scalars)."""
    events = [Event.FromString(raw) for raw in RawEventFileLoader(str(path)).Load()]
    return [(e.step, v.tag, v.metadata.plugin_data.plugin_name, v.metadata.summary_description)
            for e in events for v in e.summary.value]


def test_nothing_written_leaves_no_file_or_folder(tmp_path: Path) -> None:
    with TagWriter(tmp_path / "run", purge_step=3) as writer:
        writer.flush()
        assert not writer.opened
    assert not (tmp_path / "run").exists()


def test_each_file_describes_each_tag_once(tmp_path: Path) -> None:
    writer = TagWriter(tmp_path / "run")
    writer.scalars({"a (ms)": 1.0, "b": 2.0}, 0, {"a (ms)": "A, ms", "b": "B, no unit"})
    writer.scalar("a (ms)", 3.0, 1, "A, ms")
    writer.text("notes", "**hi**", 0, "a note")
    writer.close()
    writer.scalar("a (ms)", 4.0, 2, "A, ms")  # a second file: described again
    writer.close()
    first, second = sorted((tmp_path / "run").iterdir())
    assert _values(first) == [(0, "a (ms)", "scalars", "A, ms"), (0, "b", "scalars", "B, no unit"),
                              (1, "a (ms)", "", ""), (0, "notes/text_summary", "text", "a note")]
    assert _values(second) == [(2, "a (ms)", "scalars", "A, ms")]


def test_a_tag_without_a_description_is_refused(tmp_path: Path) -> None:
    with TagWriter(tmp_path / "run") as writer, pytest.raises(KeyError):
        writer.scalars({"undescribed": 1.0}, 0, {})
    assert not (tmp_path / "run").exists()
