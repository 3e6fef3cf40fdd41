"""Ctrl-C during a Dask sweep: logging is off from the moment the signal arrives (before
``distributed`` reacts to the interrupt and may log a traceback) until the block has closed."""

import logging
import os
import signal

import pytest

from analyses.dask_cluster import quiet_on_ctrl_c


def _logging_off() -> bool:
    return logging.root.manager.disable >= logging.CRITICAL


def test_ctrl_c_turns_logging_off_before_the_interrupt_is_raised():
    before = signal.getsignal(signal.SIGINT)
    seen = []
    with pytest.raises(KeyboardInterrupt), quiet_on_ctrl_c():
        try:
            os.kill(os.getpid(), signal.SIGINT)
        except KeyboardInterrupt:
            seen.append(_logging_off())  # what distributed's handlers would see
            raise
    assert seen == [True]
    assert not _logging_off()  # back on once the block has closed
    assert signal.getsignal(signal.SIGINT) is before


def test_logging_stays_on_without_ctrl_c():
    with quiet_on_ctrl_c():
        assert not _logging_off()
    assert not _logging_off()
