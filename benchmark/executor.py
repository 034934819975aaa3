"""Run independent units of work serially in-process or as Ray tasks, in completion order.

    workers == 0           serial, in this process (debugging, tests)
    workers >= 1           a local Ray cluster of that many CPUs, started for the call
    address (or RAY_ADDRESS)  an existing Ray cluster

Each unit runs `fn(unit)` and its result comes back to the driver, which writes it (so a
remote cluster needs no shared file system). A unit that raises is reported as failed with
its traceback and the others go on; a worker process that dies is retried by Ray.
"""
from __future__ import annotations

import os
import time
import traceback
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from tqdm import tqdm

SINGLE_THREAD_ENV = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}


@dataclass
class Outcome:
    unit: Any
    result: Any = None
    error: str | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None


def _call(fn: Callable, unit) -> tuple[Any, str | None, float]:
    import torch

    torch.set_num_threads(1)
    start = time.process_time()
    try:
        return fn(unit), None, time.process_time() - start
    except Exception:  # a failed unit is data: recorded, the run goes on
        return None, traceback.format_exc(), time.process_time() - start


def execute(fn: Callable, units: list, workers: int = 0, address: str | None = None,
            desc: str = "units", skipped: int = 0, max_retries: int = 2) -> Iterator[Outcome]:
    """Yield an Outcome per unit as it finishes, with a progress bar (done/failed, ETA).

    `skipped` units (finished by an earlier run) are shown as already done on the bar.
    """
    address = address or os.environ.get("RAY_ADDRESS")
    bar = tqdm(total=len(units) + skipped, initial=skipped, desc=desc, unit=desc.split()[-1],
               dynamic_ncols=True, mininterval=1.0)
    failed = 0
    try:
        for outcome in (_serial(fn, units) if workers == 0 and not address
                        else _ray(fn, units, workers, address, max_retries)):
            failed += not outcome.ok
            bar.set_postfix(failed=failed, refresh=False)
            bar.update(1)
            yield outcome
    finally:
        bar.close()


def _serial(fn, units) -> Iterator[Outcome]:
    for unit in units:
        result, error, seconds = _call(fn, unit)
        yield Outcome(unit, result, error, seconds)


def _ray(fn, units, workers, address, max_retries) -> Iterator[Outcome]:
    import ray

    started_here = not ray.is_initialized()
    if started_here:
        runtime_env = {"env_vars": SINGLE_THREAD_ENV}
        if address:
            ray.init(address=address, runtime_env=runtime_env, log_to_driver=False)
        else:
            ray.init(num_cpus=workers, runtime_env=runtime_env, include_dashboard=False,
                     object_store_memory=512 * 1024**2, log_to_driver=False)
    remote_call = ray.remote(num_cpus=1, max_retries=max_retries)(_call)
    try:
        pending = {remote_call.remote(fn, unit): unit for unit in units}
        while pending:
            # a timeout returns to Python now and then, so Ctrl-C stops a run during long units
            done, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
            for ref in done:
                unit = pending.pop(ref)
                try:
                    result, error, seconds = ray.get(ref)
                except Exception as exc:  # the worker died more often than max_retries
                    result, error, seconds = None, f"worker lost: {exc}", 0.0
                yield Outcome(unit, result, error, seconds)
    finally:
        if started_here:
            ray.shutdown()
