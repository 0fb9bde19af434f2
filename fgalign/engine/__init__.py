"""The execution engine, free of Ray and of task knowledge: it runs a plan of stage specs.

- ``spec``: ``StageSpec`` (class, kwargs, resources, hash); ``runner``: ``Runner`` (handed
  ``StageSet`` s: rows with finished specs), ``LocalExecutor`` and the ``Executor`` protocol the Ray executor implements;
- ``chunks``: input sets as chunks through one operator per stage kind; ``locks``: the folder
  locks that keep two runs from writing one cache;
- ``cache``: the Parquet stage caches; ``store``: the fp16 embedding tables; ``gather``: a
  batch's embeddings from the tables;
- ``arrow``, ``batch``, ``rowguard``: Arrow conversion, dict-batch helpers, error rows.
"""
