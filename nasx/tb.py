"""TensorBoard event files of a run, written lazily and with a description on every tag.

A :class:`TagWriter` opens its events file on its first write, so no folder under ``tb/`` holds
an events file without events (a run that writes nothing leaves no file). Every scalar, figure
and text takes a description, stored in the metadata of the tag's first value in the file:
TensorBoard shows it beside the tag (the info icon of a Time series card, the tooltip of a
Scalars chart). Descriptions give the unit (%, ms, KB, nats) of what is plotted.

The run folders (``tb/train``, ``tb/subnets/<name>``, ``tb/search``, ...) are named in
:mod:`nasx.runs.layout`; a TensorBoard run is one folder, and runs that share a tag overlay in
one chart.
"""

from __future__ import annotations

from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tensorboard.compat.proto.summary_pb2 import Summary
    from torch.utils.tensorboard import SummaryWriter


class TagWriter:
    """A TensorBoard run folder written on demand (see the module docstring).

    Args:
        folder: the run folder (created with the events file, on the first write).
        purge_step: on resume, the step the run restarts at: events at or after it in earlier
            files are hidden (the redone steps are not logged twice).
        filename_suffix: appended to the events file name (e.g. to find and replace one
            writer's files later).
    """

    def __init__(self, folder: Path, *, purge_step: int | None = None,
                 filename_suffix: str = "") -> None:
        self.folder = Path(folder)
        self.purge_step = purge_step
        self.filename_suffix = filename_suffix
        self._writer: SummaryWriter | None = None
        self._described: set[str] = set()

    @property
    def opened(self) -> bool:
        """Whether the events file exists (something was written)."""
        return self._writer is not None

    def _open(self) -> SummaryWriter:
        if self._writer is None:
            from torch.utils.tensorboard import SummaryWriter

            self._writer = SummaryWriter(str(self.folder), purge_step=self.purge_step,
                                         filename_suffix=self.filename_suffix)
        return self._writer

    def _describe(self, summary: Summary, description: str, plugin: str) -> Summary:
        """``summary`` with ``description`` (and the ``plugin`` that draws it, where the value
        names none) on the first value of each tag new to this file."""
        for value in summary.value:
            if value.tag not in self._described:
                value.metadata.summary_description = description
                if not value.metadata.plugin_data.plugin_name:
                    value.metadata.plugin_data.plugin_name = plugin
                self._described.add(value.tag)
        return summary

    def summary(self, summary: Summary, step: int | None = None) -> None:
        """Write a ready-made summary (e.g. the HParams plugin's) at ``step``."""
        events = self._open().file_writer
        assert events is not None  # SummaryWriter opens it in its constructor
        events.add_summary(summary, step)

    def scalar(self, tag: str, value: float, step: int, description: str) -> None:
        """Write the scalar ``tag`` = ``value`` at ``step``."""
        from tensorboard.compat.proto.summary_pb2 import Summary

        summary = Summary(value=[Summary.Value(tag=tag, simple_value=float(value))])
        self.summary(self._describe(summary, description, "scalars"), step)

    def scalars(self, values: dict[str, float], step: int, descriptions: dict[str, str]) -> None:
        """Write every ``tag -> value`` of ``values`` at ``step``, described by
        ``descriptions[tag]``.

        Raises:
            KeyError: a tag without a description (a programming error).
        """
        for tag, value in values.items():
            self.scalar(tag, value, step, descriptions[tag])

    def figure(self, tag: str, figure: Any, step: int, description: str) -> None:
        """Write the matplotlib ``figure`` as the image ``tag`` at ``step`` and close it."""
        from torch.utils.tensorboard._utils import figure_to_image
        from torch.utils.tensorboard.summary import image

        summary = image(tag, figure_to_image(figure, close=True), dataformats="CHW")
        self.summary(self._describe(summary, description, "images"), step)

    def text(self, tag: str, markdown: str, step: int, description: str) -> None:
        """Write ``markdown`` as the text ``tag`` at ``step`` (TensorBoard names it
        ``<tag>/text_summary``)."""
        from torch.utils.tensorboard.summary import text

        self.summary(self._describe(text(tag, markdown), description, "text"), step)

    def flush(self) -> None:
        """Flush the events file, if there is one."""
        if self._writer is not None:
            self._writer.flush()

    def close(self) -> None:
        """Close the events file, if there is one."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
            self._described.clear()  # a later write opens a new file: describe its tags again

    def __enter__(self) -> TagWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()
