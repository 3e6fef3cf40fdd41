"""The sweep's local Dask cluster, quiet on Ctrl-C.

Ctrl-C in a terminal signals the whole foreground process group, so a ``LocalCluster``'s worker
processes get it too, and each would print asyncio's ``CancelledError`` and ``KeyboardInterrupt``
tracebacks around the one line the sweep promises. Here the workers ignore SIGINT and do not log
(:func:`dask_setup`, run in every worker as a Dask preload: a point's error reaches the client,
which raises it); the client alone handles Ctrl-C and closes the cluster, which stops the
workers, with this process's client, scheduler and nannies not logging either while they close
(:func:`quiet_on_ctrl_c` turns logging off the moment Ctrl-C arrives, before ``distributed``
reacts to it).
"""

from __future__ import annotations

import contextlib
import logging
import signal
from collections.abc import Iterator
from typing import Any


@contextlib.contextmanager
def local_cluster(workers: int) -> Iterator[Any]:
    """A ``LocalCluster`` of ``workers`` one-thread processes, closed on leaving, however left.
    No dashboard, and the scheduler's HTTP server on a free port (not 8787, which another
    cluster on this machine may hold: Dask would warn)."""
    from dask.distributed import LocalCluster

    cluster = LocalCluster(
        n_workers=workers,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        scheduler_kwargs={"dashboard_address": ":0"},
        preload=[__name__],
    )
    try:
        yield cluster
    except BaseException:
        # tasks cut short while the cluster closes are logged (up to CRITICAL, with
        # tracebacks); the caller says what happened
        logging.disable(logging.CRITICAL)
        try:
            cluster.close()
        finally:
            logging.disable(logging.NOTSET)
        raise
    cluster.close()


@contextlib.contextmanager
def quiet_on_ctrl_c() -> Iterator[None]:
    """Ctrl-C turns logging off before it raises ``KeyboardInterrupt``, until the body's client
    and cluster have closed. Earlier would be too late: the client's ``sync`` schedules a cancel
    on its loop thread the moment the interrupt reaches it, and that cancel can fail inside
    ``distributed`` (a ``NameError`` when the call had not started yet), which tornado logs with a
    traceback. Main thread only, as Python's signal handlers are."""
    previous = signal.getsignal(signal.SIGINT)

    def interrupt(signum: int, frame: Any) -> None:
        logging.disable(logging.CRITICAL)
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        logging.disable(logging.NOTSET)


def dask_setup(worker: Any) -> None:
    """Worker preload: leave Ctrl-C to the client, and log nothing (the client reports)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logging.disable(logging.CRITICAL)
