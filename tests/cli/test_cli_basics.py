"""The CLI frame: command table, --version, --help, one-line usage errors, exit statuses."""

from __future__ import annotations

import importlib

import pytest

import nasx
from nasx.cli import COMMAND_MODULES, data_cmd, main
from nasx.errors import DataError


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_version(capsys):
    assert _run(capsys, "--version") == (0, f"nasx {nasx.__version__}\n", "")


@pytest.mark.parametrize("argv", [["--help"], ["data", "--help"], ["data", "show", "--help"]])
def test_help_exits_zero(capsys, argv):
    code, out, err = _run(capsys, *argv)
    assert (code, err) == (0, "")
    assert out.startswith(f"usage: nasx {' '.join(argv[:-1])}".rstrip() + " ")


def test_every_command_module_has_add_parser_and_run():
    assert "nasx.cli.data_cmd" in COMMAND_MODULES
    for name in COMMAND_MODULES:
        module = importlib.import_module(name)
        assert callable(module.add_parser) and callable(module.run)


def test_missing_command_is_one_line(capsys):
    assert _run(
        capsys,
    ) == (
        2,
        "",
        "nasx: error: the following arguments are required: COMMAND; see 'nasx --help'\n",
    )
    assert _run(capsys, "data") == (
        2,
        "",
        "nasx data: error: the following arguments are required: SUBCOMMAND; "
        "see 'nasx data --help'\n",
    )


def test_unknown_command_is_one_line(capsys):
    code, out, err = _run(capsys, "frobnicate")
    assert (code, out) == (2, "")
    assert err.startswith("nasx: error: argument COMMAND: invalid choice: 'frobnicate'")
    assert err.endswith("; see 'nasx --help'\n") and err.count("\n") == 1


def test_bad_option_value_is_one_line(capsys):
    code, out, err = _run(capsys, "data", "show", "--format", "xml")
    assert (code, out) == (2, "")
    assert err.startswith("nasx data show: error: argument --format: invalid choice: 'xml'")
    assert err.endswith("; see 'nasx data show --help'\n") and err.count("\n") == 1


def test_unrecognized_option(capsys):
    assert _run(capsys, "data", "show", "--bogus") == (
        2,
        "",
        "nasx data show: error: unrecognized arguments: --bogus; see 'nasx data show --help'\n",
    )
    assert _run(capsys, "data", "list", "seed=1") == (
        2,
        "",
        "nasx data list: error: unrecognized arguments: seed=1; see 'nasx data list --help'\n",
    )


def test_nasx_errors_print_one_line_and_exit_2(capsys, monkeypatch):
    def fail(args):
        raise DataError("first line\nsecond line")

    monkeypatch.setattr(data_cmd, "_run_list", fail)
    assert _run(capsys, "data", "list") == (2, "", "nasx: error: first line second line\n")


def test_interrupt_exits_130(capsys, monkeypatch):
    def interrupt(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(data_cmd, "_run_list", interrupt)
    assert _run(capsys, "data", "list") == (130, "", "nasx: interrupted; run the same command "
                                                    "again\n")
