"""The project's error types, and the one boundary that turns them into a line for the user.

A user's mistake (a bad option, a corrupted file, a missing dataset) raises one of
:func:`user_errors`, whose message names the problem and the fix; every entry point (``rshw`` and
each ``analyses/*.py`` script) prints it as one line on stderr and exits with 2. Ctrl-C exits with
130 after one line saying how to continue. Anything else is a bug and keeps its traceback, as does
everything when ``RSHW_TRACEBACK=1`` is set (for bug reports).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path

TRACEBACK_ENV = "RSHW_TRACEBACK"
EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT, what shells report for Ctrl-C


class RshwError(ValueError):
    """A mistake in the user's input or files; the message names it and what to do."""


class OptionError(RshwError):
    """A command-line option, model option or run setting has a value rshw cannot use."""


class DataError(RshwError):
    """A dataset file or folder is corrupted or not in a layout rshw reads."""


class CheckpointError(RshwError):
    """A checkpoint is missing, corrupted, or does not match the model it is loaded into."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C, with a message saying what was kept and how to continue."""


def user_errors() -> tuple[type[Exception], ...]:
    """Errors caused by what the user gave or the machine they run on, never by a bug in rshw.

    Imported when an error is raised, so the boundary costs a command nothing."""
    from simulators.activity import ActivityError
    from simulators.cim.mapping import MappingError
    from simulators.config import ConfigError
    from simulators.ir import GraphError

    # OSError: a missing file, a full disk, a refused connection; its message names which
    return (RshwError, ConfigError, GraphError, ActivityError, MappingError, OSError)


def show_traceback() -> bool:
    return os.environ.get(TRACEBACK_ENV, "") not in ("", "0")


def run_guarded(main: Callable[[], int | None], prog: str | None = None) -> int:
    """Call ``main`` behind the error boundary; returns the process exit code."""
    prog = prog or Path(sys.argv[0]).name
    try:
        return main() or 0
    except KeyboardInterrupt as e:
        if show_traceback():
            raise
        print(f"{prog}: {str(e) or 'interrupted'}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as e:
        if show_traceback() or not isinstance(e, user_errors()):
            raise
        print(f"{prog}: error: {e}", file=sys.stderr)
        return EXIT_USER_ERROR
