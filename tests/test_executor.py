"""A long unit of work shows how far it is: `report_progress` inside a unit reaches the bar,
serially and through Ray, with its stage's ETA."""
from __future__ import annotations

import time

import pytest

from benchmark.api import report_progress
from benchmark.executor import ProgressBoard, execute, progress_text, shutdown


def _two_stages(unit: int) -> int:
    for done in range(1, 3):
        report_progress("fit", done, 2)
        time.sleep(0.01)
    report_progress("polish", 1, 4)
    return unit


def test_progress_text_extrapolates_the_stage_rate():
    board = ProgressBoard()
    board.update("mtbc-s0", "fit", 10, 100, now=1000.0)
    assert progress_text(board.snapshot()) == "mtbc-s0 fit 10/100"          # no rate yet
    board.update("mtbc-s0", "fit", 40, 100, now=1060.0)                    # 30 steps a minute
    assert progress_text(board.snapshot()) == "mtbc-s0 fit 40/100 ~2 min left"
    board.update("mtbc-s0", "decode", 1, 50, now=1061.0)                   # a new stage: a new anchor
    board.update("mtbc-s0", "decode", 2, 50, now=1061.5)
    assert progress_text(board.snapshot()) == "mtbc-s0 decode 2/50 <1 min left"
    board.update("mtbc-s0", "decode", 1, 50, now=1070.0)                   # a retried unit starts over
    assert board.snapshot()["mtbc-s0"][3] == (1070.0, 1)
    board.forget("mtbc-s0")
    assert progress_text(board.snapshot()) == ""


def test_serial_units_show_their_progress_beside_the_bar(capsys):
    outcomes = list(execute(_two_stages, [1, 2], workers=0, desc="models", label=lambda u: f"unit{u}"))
    assert [o.result for o in outcomes] == [1, 2]
    err = capsys.readouterr().err
    assert "unit1 fit 1/2" in err and "unit2 polish 1/4" in err
    report_progress("fit", 1, 2)                   # outside a unit: a no-op


def _slow_unit(unit: int) -> int:
    report_progress("fit", 1, 3)
    time.sleep(2.5)
    return unit


@pytest.mark.slow
def test_ray_units_send_their_progress_to_the_driver(capsys):
    import sys

    from ray import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers cannot import tests/
    try:
        outcomes = list(execute(_slow_unit, [7], workers=1, desc="models", label=lambda u: f"unit{u}"))
    finally:
        shutdown()
    assert [o.result for o in outcomes] == [7]
    assert "unit7 fit 1/3" in capsys.readouterr().err
