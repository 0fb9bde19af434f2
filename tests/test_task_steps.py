"""``fgalign.experiment.steps.TaskSteps``: each task's fit and finalize, in one order whether
they run in a thread as the sets become ready (Ray) or after the pass (in process)."""
import threading

import pytest

from fgalign.experiment.steps import TaskSteps

WAIT = 120  # seconds: only a hang reaches it (a busy machine may be slow, never this slow)


def _steps(background, calls, fit_started=None, fail=None):
    def fit(task, runs):
        if fail == ("fit", task):
            raise RuntimeError(f"fit of {task} failed")
        calls.append(("fit", task, list(runs)))
        if fit_started is not None and task == "b":
            fit_started.set()

    def finalize(task, run):
        calls.append(("finalize", task, run))

    # a: calibrated on set 0, evaluated on 1; b: calibrated on 2 and 3, evaluated on 4;
    # c: an empty split (no set at all)
    return TaskSteps(["a", "b", "c"], {"a": [0], "b": [2, 3], "c": []}, {"a": 1, "b": 4},
                     fit, finalize, background)


EXPECTED = [("fit", "a", ["r0"]), ("fit", "b", ["r2", "r3"]), ("fit", "c", []),
            ("finalize", "a", "r1"), ("finalize", "b", "r4"), ("finalize", "c", None)]


@pytest.mark.parametrize("background", [False, True])
def test_steps_run_in_task_order_whatever_order_the_sets_come_in(background):
    calls: list = []
    fit_started = threading.Event()
    steps = _steps(background, calls, fit_started)
    for i in (3, 2, 0):  # b's calibration sets before a's
        steps.ready(i, f"r{i}")
    if background:  # both fits run before the pass ends, a's first
        assert fit_started.wait(WAIT)
        assert calls[:2] == EXPECTED[:2]
        assert all(c[0] == "fit" for c in list(calls))  # no finalize: set 1 is not ready
    else:
        assert calls == []  # in process: after the pass
    steps.finish([f"r{i}" for i in range(5)])
    assert calls == EXPECTED


@pytest.mark.parametrize("background", [False, True])
def test_a_failed_step_is_raised_and_stops_the_steps_after_it(background):
    calls: list = []
    steps = _steps(background, calls, fail=("fit", "b"))
    with pytest.raises(RuntimeError, match="fit of b failed"):
        steps.finish([f"r{i}" for i in range(5)])
    assert calls == EXPECTED[:1]


def test_stop_ends_the_thread_without_starting_another_step():
    calls: list = []
    steps = _steps(True, calls)
    steps.ready(0, "r0")  # a's fit may run; b's sets never come (the pass failed)
    steps.stop()
    assert not steps.thread.is_alive()
    assert calls in ([], EXPECTED[:1])
    assert steps.error is None


def test_check_cancels_the_pass_once_a_step_in_the_thread_failed():
    """``check`` (the runner's, after every chunk) raises ``Cancelled`` as soon as a step
    beside the pass has failed, and not before; the step's own error stays in ``error``."""
    from fgalign.engine.runner import Cancelled

    calls: list = []
    steps = _steps(True, calls, fail=("fit", "a"))
    steps.check()  # nothing failed yet: the pass goes on
    steps.ready(0, "r0")  # a's fit runs in the thread and fails
    steps.thread.join(WAIT)
    with pytest.raises(Cancelled, match="fit of a failed"):
        steps.check()
    assert isinstance(steps.error, RuntimeError) and calls == []
    steps.stop()


def test_check_cancels_even_when_the_error_cannot_be_printed():
    """An exception whose ``str`` raises still ends the pass with ``Cancelled`` (not with the
    ``TypeError`` of printing it, which the runner would report as a failed stage)."""
    from fgalign.engine.runner import Cancelled

    class Unprintable(RuntimeError):
        def __str__(self):
            raise TypeError("no str")

    steps = _steps(False, [])
    steps.error = Unprintable()
    with pytest.raises(Cancelled, match="Unprintable"):
        steps.check()
