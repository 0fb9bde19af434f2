"""Ray wrappers around the Ray-free stage graph of ``fgalign.stages``.

- ``stage``:   ``apply_stage(ds, spec, max_restarts)``: one stage as a ``map_batches`` actor pool,
               resources from ``cfg.ray.stages[<stage>]`` via the ``StageSpec``.
- ``cache``:   ``StageCache``, ``dataset_fingerprint``, ``chain_hash``: Parquet stage caches.
- ``graph``:   ``run_task_graph``: the stages of one task, each read from cache or computed.
- ``prepare``: ``prepare_cached``: the driver-side task preparation, cached as JSON.
- ``runtime``: ``init_ray``, ``check_stage_resources``, Ray Data progress options.
- ``pipeline``: ``run_pipeline(cfg, ...)``: every task end to end, outputs and logging
               (``pipelines/full.py`` and ``fgalign run``).

Importing ``fgalign`` never imports this package; this package imports Ray lazily too, so
``fgalign.ray.cache`` works without a cluster.
"""
