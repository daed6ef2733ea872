"""The zerograd command."""

import subprocess
import sys

import pytest

from zerograd.cli import main
from zerograd.functional.registry import CASES


def test_gradcheck_prints_a_table_and_passes(capsys):
    assert main(["gradcheck"]) == 0
    out = capsys.readouterr().out
    assert "max abs error" in out
    assert f"{len(CASES)} passed, 0 failed" in out
    for name in ("matmul", "cross_entropy", "log_softmax", "getitem_bool"):
        assert f"\n{name} " in out


def test_gradcheck_filters_and_lists(capsys):
    assert main(["gradcheck", "--op", "softmax"]) == 0
    out = capsys.readouterr().out
    assert "log_softmax" in out and "matmul" not in out
    assert main(["gradcheck", "--list", "--op", "relu"]) == 0
    assert "leaky_relu" in capsys.readouterr().out


def test_gradcheck_unknown_op(capsys):
    assert main(["gradcheck", "--op", "no-such-op"]) == 2
    assert "zerograd gradcheck: no op matches 'no-such-op'" in capsys.readouterr().err


def test_no_command_prints_help(capsys):
    assert main([]) == 2
    assert "gradcheck" in capsys.readouterr().out


@pytest.mark.parametrize("argv", [["--help"], ["gradcheck", "--help"]])
def test_help(argv, capsys):
    with pytest.raises(SystemExit) as e:
        main(argv)
    assert e.value.code == 0
    assert "usage: zerograd" in capsys.readouterr().out


def test_python_dash_m_zerograd_runs():
    r = subprocess.run(
        [sys.executable, "-m", "zerograd", "gradcheck", "--op", "log_softmax"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert r.returncode == 0, r.stderr
    assert "1 passed, 0 failed" in r.stdout
