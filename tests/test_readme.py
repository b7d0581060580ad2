"""The README's Python API example runs and its claims hold."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from tiny_run import TINY_TRAIN

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


def _python_blocks() -> list[str]:
    """Every ```python block of the README, in order."""
    return re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


@pytest.fixture(scope="module")
def readme_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder with ``runs/jv`` as the README's examples expect it: the tiny space made causal,
    trained on JapaneseVowels, its accuracy and host-cpu latency predictors fitted and its
    smallest subnet exported."""
    import yaml

    from nasx.cli import main
    from nasx.search_spaces import load_space, space_to_dict

    home = tmp_path_factory.mktemp("readme")
    space = {**space_to_dict(load_space("tiny")), "causal": True}
    (home / "tiny-causal.yaml").write_text(yaml.safe_dump(space, sort_keys=False))
    run = home / "runs" / "jv"
    train = [arg if arg != "tiny" else str(home / "tiny-causal.yaml") for arg in TINY_TRAIN]
    assert main(["train", "--out", str(run), *train]) == 0
    assert main(["predictor", "fit", "--run", str(run), "--samples", "10", "--holdout", "10",
                 "--model", "ridge"]) == 0
    assert main(["profile", "--run", str(run), "--samples", "1", "--rounds", "1"]) == 0
    assert main(["export", "--run", str(run), "--pick", "smallest", "--format", "torch"]) == 0
    return home


@pytest.mark.parametrize("index", range(len(_python_blocks())))
def test_every_python_block_runs(index: int, readme_home: Path,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    # before: the predictor, latency and export examples used runs/osuleaf and runs/jv and the
    # undefined names genomes, x and lengths
    monkeypatch.chdir(readme_home)
    scope: dict[str, object] = {}
    exec(compile(_python_blocks()[index], f"README.md python block {index}", "exec"), scope)
    if "seconds" in scope:
        assert scope["seconds"].shape == (8,) and (scope["seconds"] > 0).all()
    if "mean" in scope:
        assert scope["mean"].shape == (8,) and scope["std"].shape == (8,)
    if "stream" in scope:
        assert scope["logits"].shape == (4, 9)
