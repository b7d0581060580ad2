"""The search's numbered result folders (``nasx.search.results``)."""

from __future__ import annotations

import json
from pathlib import Path

from nasx.search.results import output_paths, search_folders, write_search


def test_each_search_gets_a_folder_and_an_older_unnumbered_one_is_filed_first(
        tmp_path: Path) -> None:
    pareto, history = output_paths(tmp_path)
    pareto.parent.mkdir()
    pareto.write_text('{"nasx_pareto": 1, "old": true}\n')  # written by an older nasx
    history.write_text("old,csv\n")
    doc, latest, latest_history = write_search(tmp_path, {"nasx_pareto": 1}, "new,csv\n")
    assert (latest, latest_history) == (pareto, history)
    assert [p.name for p in search_folders(tmp_path)] == ["0001", "0002"]
    assert (pareto.parent / "0001" / "pareto.json").read_text() == \
        '{"nasx_pareto": 1, "old": true}\n'
    assert (pareto.parent / "0001" / "history.csv").read_text() == "old,csv\n"
    assert doc == {"nasx_pareto": 1, "search": "0002"}
    assert json.loads(pareto.read_text()) == doc
    assert (pareto.parent / "0002" / "pareto.json").read_bytes() == pareto.read_bytes()
    assert history.read_text() == "new,csv\n"
    write_search(tmp_path, {"nasx_pareto": 1}, "third\n")
    assert [p.name for p in search_folders(tmp_path)] == ["0001", "0002", "0003"]
    assert (pareto.parent / "0002" / "history.csv").read_text() == "new,csv\n"
