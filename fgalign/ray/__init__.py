"""The Ray executor of the stage graph, and the Ray-free pieces it shares with the other one.

- ``graph``:   ``RayExecutor``: one streaming Ray Data execution over the chunks of many input
               sets, one actor pool per stage kind (resources from ``cfg.ray.stages``).
- ``stage``:   ``to_arrow_table``, ``run_batch`` (both executors); ``apply_stage`` (benchmarks).
- ``cache``:   ``StageCache``, ``dataset_fingerprint``, ``chain_hash``: Parquet stage caches.
- ``prepare``: ``prepare_cached``: the driver-side task preparation, cached as JSON.
- ``runtime``: ``init_ray``, ``check_stage_resources`` (the pools of an execution fit), progress.
- ``pipeline``: ``run_pipeline(cfg, ...)``: every task end to end, outputs and logging
               (``pipelines/full.py`` and ``fgalign run``).

Importing ``fgalign`` never imports this package; this package imports Ray lazily too, so
``fgalign.ray.cache`` works without a cluster.
"""
