"""The README's Python API example runs and its claims hold."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_block(section: str) -> str:
    text = README.read_text()
    start = text.index(f"## {section}\n")
    match = re.search(r"```python\n(.*?)```", text[start:], re.S)
    assert match is not None
    return match.group(1)


def test_python_api_example_runs(capsys) -> None:
    exec(compile(_python_block("Python API"), "README.md", "exec"), {})
    ident, params, word = capsys.readouterr().out.split()
    assert len(ident) == 12 and int(params) > 0 and word == "parameters"


def test_readme_subnet_counts_match_the_presets() -> None:
    from nasx.search_spaces import GenomeCodec, count_subnets, load_space

    text = README.read_text()
    assert f"`tiny`: {count_subnets(load_space('tiny')):,}" in text
    mcu = f"{count_subnets(load_space('hybrid-mcu')):.2g}".replace("+", "")  # 5.9e14
    gpu = f"{count_subnets(load_space('hybrid-gpu')):.2g}".replace("+", "")
    assert f"`hybrid-mcu`:\n  {mcu}; `hybrid-gpu`: {gpu})" in text
    assert GenomeCodec(load_space("hybrid-mcu")).length == 65
