"""``TaskSteps``: each task's own steps after the stage pass (its fit, then its metrics,
predictions and figure), in one order whether they run beside the pass or after it.

    steps = TaskSteps(tasks, fit_sets, evaluated, fit, finalize, background=use_ray)
    try:
        runs = runner.run_sets(sets, on_ready=steps.ready, row_order=calibration_first,
                               check=steps.check)
    except BaseException as e:  # the pass failed, or ended at once (Cancelled) because a
        steps.stop()            # step beside it failed: then that step's own error
        if isinstance(e, Cancelled) and steps.error is not None:
            raise steps.error from None
        raise
    steps.finish(runs)          # the steps not yet run; a step's error is raised here

``fgalign.experiment.run.run_experiment`` gives the two step functions.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from fgalign.engine.runner import Cancelled, SplitRun
from fgalign.errors import error_text

__all__ = ["TaskSteps"]


class TaskSteps:
    """Each task's own steps after the stage pass, one at a time, in a fixed order: every
    task's ``fit`` (its calibration, from its scored calibration sets), then every task's
    ``finalize`` (its metrics, predictions and figure, from its scored evaluated split).

    ``ready(i, run)`` is the runner's ``on_ready``: input set ``i`` is scored. With
    ``background`` (the Ray pipeline) a thread runs each step as soon as the sets it reads are
    scored, while the actor pools score the rest: the driver is otherwise idle then, and the
    pass takes the calibration sets first (``run_experiment``), so on two cores SNLI-VE's fit
    (about 4 s here) runs beside the evaluated splits' rows instead of after them
    (BENCHMARKS.md). In process (the reference) they run after the pass, in the calling
    thread. The order, and so every output, is the same either way.

    ``finish(runs)`` runs what is left and raises a step's error; ``stop()`` ends the thread
    when the pass failed (no step starts after it). ``check`` is the runner's ``check``: once
    a step in the thread has failed it raises ``Cancelled``, so the pass ends at the next
    chunk instead of scoring every set first (at real scale, hours) for an error it cannot
    change.

    Args:
        tasks: the tasks in order (``data.tasks``).
        fit_sets: ``{task: [set index]}``, the calibration sets each task's fit reads.
        evaluated: ``{task: set index}`` of its evaluated split (absent: none to score).
        fit: ``fit(task, [SplitRun])``.
        finalize: ``finalize(task, SplitRun or None)``.
        background: run the steps in a thread as the sets become ready.
    """

    def __init__(self, tasks: list[str], fit_sets: dict[str, list[int]],
                 evaluated: dict[str, int], fit: Callable[[str, list[SplitRun]], None],
                 finalize: Callable[[str, SplitRun | None], None], background: bool):
        self.steps: list[tuple[Callable[[str, Any], None], str, list[int]]] = [
            (fit, t, list(fit_sets.get(t, []))) for t in tasks]
        self.steps += [(lambda t, runs: finalize(t, runs[0] if runs else None), t,
                        [evaluated[t]] if t in evaluated else []) for t in tasks]
        self.runs: dict[int, SplitRun] = {}
        self.error: BaseException | None = None
        self.stopped = False
        self.cond = threading.Condition()
        self.thread = (threading.Thread(target=self._loop, name="fgalign-task-steps",
                                        daemon=True) if background else None)
        if self.thread is not None:
            self.thread.start()

    def ready(self, i: int, run: SplitRun) -> None:
        with self.cond:
            self.runs[i] = run
            self.cond.notify_all()

    def check(self) -> None:
        """Raise ``Cancelled`` if a step has failed (its error: ``error``)."""
        if self.error is not None:
            raise Cancelled(f"a task step failed: {error_text(self.error)}")

    def _loop(self) -> None:
        try:
            for step, task, need in self.steps:
                with self.cond:
                    self.cond.wait_for(lambda need=need: self.stopped
                                       or all(i in self.runs for i in need))
                    if self.stopped:
                        return
                    runs = [self.runs[i] for i in need]
                step(task, runs)
        except BaseException as e:  # noqa: BLE001 - raised by finish(), in the caller's thread
            self.error = e

    def finish(self, runs: list[SplitRun]) -> None:
        """Every set is scored (``runs``, in order): run the steps left, wait for them, and
        raise the first error a step raised."""
        for i, run in enumerate(runs):
            self.ready(i, run)
        if self.thread is None:
            self._loop()
        else:
            self.thread.join()
        if self.error is not None:
            raise self.error

    def stop(self) -> None:
        """The pass failed: no further step starts; a step under way is waited for."""
        with self.cond:
            self.stopped = True
            self.cond.notify_all()
        if self.thread is not None:
            self.thread.join()
