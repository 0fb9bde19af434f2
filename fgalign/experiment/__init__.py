"""One experiment end to end, on the engine (``fgalign.engine``) and either executor.

- ``plan``: which stage specs for which task (``TaskRunner``, ``make_runner``) and
  ``prepare_task`` (train statistics + calibration); ``prepare``: its context cached as JSON;
- ``run``: the run loop of ``fgalign evaluate`` (``evaluate``) and ``fgalign run``;
- ``finalize``: streaming metrics and predictions; ``outputs``, ``report``, ``figures``.
"""
