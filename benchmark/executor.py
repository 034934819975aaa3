"""Run independent units of work serially in-process or as Ray tasks, in completion order.

    workers == 0           serial, in this process (debugging, tests)
    workers >= 1           a local Ray cluster of that many CPUs
    address (or RAY_ADDRESS)  an existing Ray cluster

Ray starts at the first call that has work (a rerun with nothing left to do starts none) and
stays up for the rest of the command: zoo, training and cells share one session, which
`shutdown()` (called by the CLI at exit) ends. Each unit runs `fn(unit)` and its result comes
back to the driver, which writes it (so a remote cluster needs no shared file system). A unit
that raises is reported as failed, with the exception in one line and its traceback apart, and
the others go on; a worker process that dies is retried by Ray. A unit may report how far it is
(`benchmark.api.report_progress`, e.g. a long training): the driver shows the latest report of
every running unit beside the bar, with the ETA of its current stage (through a small Ray actor,
so it works on any cluster).
"""
from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
import traceback
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from tqdm import tqdm

from benchmark.errors import UserError, one_line

SINGLE_THREAD_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
CONNECT_TIMEOUT_S = 5.0
PROGRESS_EVERY_S = 2.0
"""A unit's progress goes to the driver at most this often (and always at a new stage and its end)."""
VERBOSE = False
"""Show Ray's own log lines (the CLI's --verbose)."""
_started_here = False


@dataclass
class Outcome:
    unit: Any
    result: Any = None
    error: str | None = None
    """Why the unit failed, in one line (None if it did not)."""
    traceback: str | None = None
    """The failure's full traceback, for the run's log."""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


class ProgressBoard:
    """The latest progress report of every running unit, by label (a Ray actor under Ray)."""

    def __init__(self):
        self.entries: dict[str, tuple] = {}

    def update(self, label: str, stage: str, done: int, total: int, now: float) -> None:
        """Record a report; the stage's first report (or a restart of it) anchors its ETA."""
        old = self.entries.get(label)
        anchor = old[3] if old and old[0] == stage and done >= old[1] else (now, done)
        self.entries[label] = (stage, done, total, anchor, now)

    def forget(self, label: str) -> None:
        self.entries.pop(label, None)

    def snapshot(self) -> dict[str, tuple]:
        return dict(self.entries)


class _ShownBoard(ProgressBoard):
    """The serial executor's board: every update is drawn at once (the driver is the worker)."""

    def __init__(self, show: Callable[[dict], None]):
        super().__init__()
        self.show = show

    def update(self, *report) -> None:
        super().update(*report)
        self.show(self.snapshot())


def progress_text(entries: dict[str, tuple]) -> str:
    """'make-an-agent-s0 diffusion 690/1600 ~16 min left' per running unit of a board's entries;
    the ETA extrapolates the current stage's rate since its first report."""
    parts = []
    for label, (stage, done, total, (t0, done0), now) in entries.items():
        text = f"{label} {stage} {done}/{total}"
        if done > done0 and now > t0 and total > done:
            left = (now - t0) / (done - done0) * (total - done)
            text += f" ~{left / 60:.0f} min left" if left >= 60 else " <1 min left"
        parts.append(text)
    return ", ".join(parts)


def _progress_sink(board, label: str) -> Callable[[str, int, int], None]:
    """report_progress's sink inside a unit: rate-limited sends to `board` (an actor or local)."""
    send = getattr(board.update, "remote", board.update)
    last = {"time": float("-inf"), "stage": None}

    def sink(stage: str, done: int, total: int) -> None:
        now = time.time()
        if now - last["time"] >= PROGRESS_EVERY_S or stage != last["stage"] or done >= total:
            last.update(time=now, stage=stage)
            send(label, stage, done, total, now)
    return sink


def _call(fn: Callable, unit, board=None, label: str | None = None) -> tuple[Any, str | None, str | None, float]:
    """(result, error line, traceback, CPU seconds) of fn(unit)."""
    import torch

    from benchmark.api import set_progress_sink

    torch.set_num_threads(1)
    set_progress_sink(_progress_sink(board, label) if board is not None else None)
    start = time.process_time()
    try:
        return fn(unit), None, None, time.process_time() - start
    except Exception as exc:  # a failed unit is data: recorded, the run goes on
        return None, one_line(exc), traceback.format_exc(), time.process_time() - start
    finally:
        set_progress_sink(None)


def execute(fn: Callable, units: list, workers: int = 0, address: str | None = None,
            desc: str = "units", skipped: int = 0, max_retries: int = 2,
            label: Callable[[Any], str] | None = None) -> Iterator[Outcome]:
    """Yield an Outcome per unit as it finishes, with a progress bar (done/failed, ETA).

    `skipped` units (finished by an earlier run) are shown as already done on the bar. With
    `label` (a unit's name), what running units report through `report_progress` is shown
    beside the bar.
    """
    if not units:
        return
    address = address or os.environ.get("RAY_ADDRESS")
    bar = tqdm(total=len(units) + skipped, initial=skipped, desc=desc, unit=desc.split()[-1],
               dynamic_ncols=True, mininterval=1.0)
    shown = {"failed": 0, "running": ""}

    def show(entries: dict | None = None) -> None:
        text = shown["running"] if entries is None else progress_text(entries)
        changed, shown["running"] = text != shown["running"], text
        bar.set_postfix_str(", ".join(filter(None, [f"failed={shown['failed']}", text])), refresh=changed)
    try:
        for outcome in (_serial(fn, units, label, show) if workers == 0 and not address
                        else _ray(fn, units, workers, address, max_retries, label, show)):
            shown["failed"] += not outcome.ok
            show()
            bar.update(1)
            yield outcome
    finally:
        bar.close()


def _serial(fn, units, label, show) -> Iterator[Outcome]:
    board = _ShownBoard(show) if label else None
    for unit in units:
        result, error, trace, seconds = _call(fn, unit, board, label(unit) if label else None)
        if board is not None:
            board.forget(label(unit))
            show(board.snapshot())
        yield Outcome(unit, result, error, trace, seconds)


def check_address(address: str) -> None:
    """UserError unless something listens at a 'host:port' Ray address (within 5 s)."""
    host, sep, port = address.removeprefix("ray://").rpartition(":")
    if not sep or not port.isdigit():
        return  # 'auto', 'local' or a form Ray resolves itself
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        raise UserError(f"no Ray cluster answers at {address} ({exc.strerror or type(exc).__name__}); "
                        "start one with `ray start --head` or drop --address") from None


def _init_ray(workers: int, address: str | None) -> None:
    """Start (or join) the command's Ray session once."""
    global _started_here
    import ray

    if ray.is_initialized():
        return
    level = logging.INFO if VERBOSE else logging.ERROR
    logging.getLogger("ray").setLevel(level)
    common = dict(runtime_env={"env_vars": SINGLE_THREAD_ENV}, log_to_driver=VERBOSE, logging_level=level)
    if address:
        check_address(address)
        if "RAY_AUTH_MODE" not in os.environ:
            _token_auth_as_for_a_local_cluster()
        try:
            ray.init(address=address, **common)
        except Exception as exc:  # Ray raises several types (refused token, version mismatch, ...)
            raise UserError(f"cannot join the Ray cluster at {address}: {str(exc).strip().splitlines()[0]}") from None
    else:
        ray.init(num_cpus=workers, include_dashboard=False, object_store_memory=512 * 1024**2, **common)
    _started_here = True


def _keep_sigterm_handler(start: Callable[[], None]) -> None:
    """Run `start` (ray.init) and put the command's SIGTERM handler back afterwards: Ray
    replaces it with its own, which aborts the driver with a native stack dump."""
    main_thread = threading.current_thread() is threading.main_thread()
    handler = signal.getsignal(signal.SIGTERM) if main_thread else None
    try:
        start()
    finally:
        if callable(handler):
            signal.signal(signal.SIGTERM, handler)


def _token_auth_as_for_a_local_cluster() -> None:
    """A plain `ray start --head` turns token authentication on when this user has a token
    (~/.ray/auth_token, written by any earlier local Ray), but Ray's driver picks the token up
    only for address='auto'; do the same for an explicit address (Ray 2.60's own helper)."""
    try:
        from ray._private.authentication.authentication_token_setup import (
            maybe_enable_token_auth_if_token_available,
        )
    except ImportError:  # another Ray version: its own defaults apply
        return
    maybe_enable_token_auth_if_token_available(warn_if_disabled=False)


def shutdown() -> None:
    """End the Ray session this process started or joined (nothing if none)."""
    global _started_here
    if _started_here:
        import ray

        ray.shutdown()
        _started_here = False


def _ray(fn, units, workers, address, max_retries, label, show) -> Iterator[Outcome]:
    import ray

    _keep_sigterm_handler(lambda: _init_ray(workers, address))
    remote_call = ray.remote(num_cpus=1, max_retries=max_retries)(_call)
    board = ray.remote(num_cpus=0)(ProgressBoard).remote() if label else None
    pending = {remote_call.remote(fn, unit, board, label(unit) if label else None): unit for unit in units}
    try:
        while pending:
            # a timeout returns to Python now and then, so Ctrl-C stops a run during long units
            done, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
            for ref in done:
                unit = pending.pop(ref)
                try:
                    result, error, trace, seconds = ray.get(ref)
                except Exception as exc:  # the worker died more often than max_retries
                    result, error, trace, seconds = None, f"worker lost: {one_line(exc)}", str(exc), 0.0
                if board is not None:
                    board.forget.remote(label(unit))
                yield Outcome(unit, result, error, trace, seconds)
            if board is not None:
                show(ray.get(board.snapshot.remote()))
    finally:
        for ref in pending:
            ray.cancel(ref, force=True)
        if board is not None:
            ray.kill(board)
