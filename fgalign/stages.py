"""The stage graph, shared by in-process ``fgalign evaluate`` and the Ray pipeline.

CONTRACT (owned by the method; the Ray pipeline wraps exactly these):

    ctx = prepare_task(cfg, task)          # driver side, once per task: reads train/val data it
                                           # needs (VQA answer vocab, SNLI-VE text-only classifier)
    rows = load_task_rows(cfg, task, ctx)  # unified rows of cfg.data.split, with `statements`
    specs = build_stage_specs(cfg, task, ctx)   # ordered: regions, keywords, embed, score
    for spec in specs:
        stage = spec.cls(**spec.kwargs)    # heavy models load here (actor __init__ under Ray)
        batch = stage(batch)               # dict[str, np.ndarray] -> dict[str, np.ndarray]

- ``StageSpec.name`` is one of ``regions``, ``keywords``, ``embed``, ``score``; its resources are
  ``cfg.ray.stages[name]``; ``StageSpec.hash`` covers the stage's config and (by the caller)
  upstream hashes; ``kwargs`` are picklable (configs as dicts, ctx as plain data).
- A stage never drops or reorders rows; a row with a non-empty ``error`` passes through untouched
  (new columns get empty values); a row failing inside a stage gets ``error="<stage>:<reason>"``.
- Batches are numpy dicts as Ray Data gives them: list columns may arrive as object arrays of
  np.ndarrays; per-row variable-shape arrays are returned in object arrays.
- ``finalize(cfg, task, ctx, rows_or_table)`` turns scored rows into predictions + metrics.
"""
