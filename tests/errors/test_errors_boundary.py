"""The boundary itself: user errors → one line and exit 2, Ctrl-C → 130, bugs → traceback.

Every mistake gives exit 2 (130 for Ctrl-C), one line on stderr naming the culprit, no traceback,
nothing on stdout; the ``cli`` and ``one_line`` fixtures live in tests/conftest.py."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rshw.errors import (
    EXIT_INTERRUPTED,
    EXIT_USER_ERROR,
    DataError,
    Interrupted,
    OptionError,
    run_guarded,
)
from simulators.activity import ActivityError
from simulators.cim.mapping import MappingError
from simulators.config import ConfigError
from simulators.ir import GraphError

ROOT = Path(__file__).resolve().parents[2]


def _raise(error: BaseException):
    def main():
        raise error

    return main


@pytest.mark.parametrize(
    "error",
    [
        OptionError("bad --thing 3"),
        DataError("data.bin is truncated"),
        ConfigError("key x"),
        GraphError("node y"),
        ActivityError("edge z"),
        MappingError("layer w does not fit"),
        FileNotFoundError(2, "No such file or directory", "missing.toml"),
    ],
)
def test_user_errors_are_one_line_and_exit_2(error, capsys, monkeypatch, one_line):
    monkeypatch.delenv("RSHW_TRACEBACK", raising=False)
    assert run_guarded(_raise(error), prog="prog") == EXIT_USER_ERROR
    out, err = capsys.readouterr()
    line = one_line(err, "prog: error: ")
    assert line.endswith(str(error)) and out == ""


def test_ctrl_c_exits_130_with_the_resume_hint(capsys, monkeypatch, one_line):
    monkeypatch.delenv("RSHW_TRACEBACK", raising=False)
    assert run_guarded(_raise(Interrupted("3 points saved; run again")), "p") == EXIT_INTERRUPTED
    assert one_line(capsys.readouterr().err) == "p: 3 points saved; run again"
    assert run_guarded(_raise(KeyboardInterrupt()), "p") == EXIT_INTERRUPTED
    assert one_line(capsys.readouterr().err) == "p: interrupted"


@pytest.mark.parametrize("bug", [ZeroDivisionError("x"), KeyError("k"), ValueError("plain")])
def test_bugs_keep_their_traceback(bug, monkeypatch):
    """A plain ValueError is not a user error: only the project's own types are."""
    monkeypatch.delenv("RSHW_TRACEBACK", raising=False)
    with pytest.raises(type(bug)):
        run_guarded(_raise(bug), "p")


def test_the_environment_variable_shows_the_traceback(monkeypatch):
    monkeypatch.setenv("RSHW_TRACEBACK", "1")
    with pytest.raises(OptionError):
        run_guarded(_raise(OptionError("x")), "p")
    with pytest.raises(KeyboardInterrupt):
        run_guarded(_raise(KeyboardInterrupt()), "p")


def _python(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "RSHW_TRACEBACK"}
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )


def test_rshw_command_flag_and_exit_codes(one_line):
    """Through a real process: exit 2 and one line, and --traceback shows where it came from."""
    run = _python("-m", "rshw", "info", "nosuchmodel")
    assert run.returncode == 2 and run.stdout == ""
    one_line(run.stderr, "rshw info: error: unknown model 'nosuchmodel'")
    traced = _python("-m", "rshw", "--traceback", "info", "nosuchmodel")
    assert traced.returncode == 1
    assert "Traceback" in traced.stderr and "OptionError" in traced.stderr


SCRIPTS = sorted(p for p in (ROOT / "analyses").glob("*.py") if "\ndef main(" in p.read_text())


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.name)
def test_every_analyses_script_calls_the_boundary(script):
    assert len(SCRIPTS) >= 5
    assert 'if __name__ == "__main__":\n    sys.exit(run_guarded(main))' in script.read_text()


def test_an_analyses_script_gives_one_line(tmp_path, one_line):
    missing = tmp_path / "no-such-checkpoint"
    run = _python("-m", "analyses.accuracy", str(missing))
    assert run.returncode == 2, run.stderr
    one_line(run.stderr, "accuracy.py: error:", str(missing))
