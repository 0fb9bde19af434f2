"""Scores per contrast family of a synthetic world (``fgalign.data.synth.contrast``).

    by_family(["color", "count", "color"], credit=[100, 0, 0])
    # {"color": {"score": 50.0, "n": 2, "ci95": [0.0, 100.0]}, "count": {...}}

A family's score is the mean per-instance credit (percent) of the instances the world's
contrast file puts in it; ``ci95`` is its 95% percentile bootstrap interval (``n``
resamples of the family's instances, ``fgalign.metrics.bootstrap.paired_bootstrap`` against
zeros, fixed seed). Used by ``fgalign.experiment.finalize`` (metrics.json
``tasks.<task>.variants.<v>.by_family``) for every variant of ``evaluate`` and ``run``.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from fgalign.metrics.bootstrap import paired_bootstrap


def by_family(families: Sequence[str], credit: Sequence[float], n: int = 1000, seed: int = 0,
              min_n: int = 1) -> dict[str, dict[str, object]]:
    """``{family: {"score", "n", "ci95"}}`` for the families with at least ``min_n`` instances.

    Args:
        families: (N,) family of each instance (``"unknown"`` ones are reported like any).
        credit: (N,) per-instance credit in percent (0..100), same order.
        n: bootstrap resamples; seed: its RNG seed.
        min_n: smallest family reported.
    Raises:
        ValueError: ``families`` and ``credit`` differ in length.
    """
    fam = np.asarray([str(f) for f in families], dtype=object)
    c = np.asarray(credit, np.float64)
    if len(fam) != len(c):
        raise ValueError(f"by_family: {len(fam)} families for {len(c)} credits")
    out: dict[str, dict[str, object]] = {}
    for f in sorted(set(fam.tolist())):
        x = c[fam == f]
        if len(x) < min_n:
            continue
        boot = paired_bootstrap(np.zeros_like(x), x, n, seed)
        out[f] = {"score": round(float(x.mean()), 2), "n": len(x),
                  "ci95": [round(float(v), 2) for v in boot["ci95"]]}
    return out
