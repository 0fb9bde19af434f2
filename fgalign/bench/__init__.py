"""Performance benchmarks: each a ratio of two things measured side by side in one run.

    from fgalign.bench.runner import run_all
    results, info = run_all("configs/demo.yaml", [], "quick", Path("runs/bench-quick"))

Modules: ``core`` (Measurement, timing, table), ``scoring`` (roofline of region-word
scoring), ``embed`` (Ray Data actors vs loop, actor scaling, dedup, GPU), ``pipeline``
(cached re-run, driver memory, sweep trial), ``report`` (BENCHMARKS.md), ``runner`` (order,
sizes of the quick and full modes), ``scale_data`` / ``scale`` / ``projection`` (the real-scale
benchmark of issue 11, ``fgalign bench --only scale``; counters in ``fgalign.counters``). Entry points: ``fgalign bench``, pipelines/benchmark.py.
"""
from fgalign.bench.core import Measurement, best_time, format_table

__all__ = ["Measurement", "best_time", "format_table"]
