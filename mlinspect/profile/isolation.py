"""Run a call in a child process, so that a crash in native code ends the child and not the caller."""

from __future__ import annotations

import multiprocessing
import signal
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any


class IsolatedCallError(Exception):
    """The isolated call raised, crashed or timed out, as the message states."""


def _child(connection: Connection, target: Callable[..., Any], args: tuple[Any, ...]) -> None:
    try:
        result = target(*args)
    except BaseException as error:  # noqa: BLE001 - the parent records any failure as a failed step
        connection.send(("error", f"{type(error).__name__}: {error}"))
    else:
        connection.send(("ok", result))
    finally:
        connection.close()


def run_isolated(target: Callable[..., Any], *args: Any, timeout: float = 600.0) -> Any:
    """Return `target(*args)` computed in a spawned child process.

    `target`, its arguments and its result must be picklable; `target` must be
    importable by name. Raises IsolatedCallError when the call raises, when
    the child dies (for example of SIGABRT or SIGSEGV) or after `timeout`
    seconds, in which case the child is killed.
    """
    # spawn, not fork: a forked child of a process that has loaded Apple's
    # frameworks may crash, and spawn is the macOS default since Python 3.8.
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(sender, target, args), daemon=True)
    process.start()
    sender.close()
    try:
        if not receiver.poll(timeout):
            process.kill()
            process.join()
            raise IsolatedCallError(f"timed out after {timeout:g} s")
        try:
            status, value = receiver.recv()
        except EOFError:
            process.join()
            raise IsolatedCallError(_exit_description(process.exitcode)) from None
    finally:
        receiver.close()

    process.join()
    if status == "error":
        raise IsolatedCallError(value)
    return value


def _exit_description(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        try:
            name = signal.Signals(-exitcode).name
        except ValueError:
            name = f"signal {-exitcode}"
        return f"the child process was killed by {name}"
    return f"the child process exited with status {exitcode} without a result"
