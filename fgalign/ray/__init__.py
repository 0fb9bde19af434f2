"""Ray, and only Ray: the executor of the stage graph and its runtime.

- ``executor``: ``RayExecutor``: one streaming Ray Data execution over the chunks of many
                input sets, one actor pool per stage kind (resources from ``cfg.ray.stages``).
- ``runtime``:  ``init_ray``, ``check_stage_resources`` (the pools of an execution fit),
                progress, ``LazyRay`` (Ray starts before the first stage that is not cached,
                or, for ``fgalign run`` on an empty stage cache, at once in a background
                thread beside the driver's own start-up; stopped in the background after the
                last execution).
- ``actors``:   ``apply_stage``: one stage alone as an actor pool (``fgalign bench``).

The Ray-free pieces both executors share (stage caches, Arrow conversion, the runner) are in
``fgalign.engine``; the run loop is ``fgalign.experiment.run``. Importing ``fgalign`` never
imports this package; this package imports Ray lazily too.
"""
