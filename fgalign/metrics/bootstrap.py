"""Paired bootstrap confidence interval for the difference of two systems on the same instances."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def paired_bootstrap(a: Sequence[float], b: Sequence[float], n: int = 1000,
                     seed: int = 0) -> dict[str, object]:
    """Mean of ``b - a`` per instance and its 95% percentile bootstrap interval.

    Args:
        a, b: per-instance scores of the two systems, shape (N,), same instances and order
            (e.g. VQA accuracy ×100 per question, or 0/100 correctness).
        n: bootstrap resamples.
        seed: RNG seed (same inputs and seed → same interval).

    Returns:
        ``{"mean": float, "ci95": [lo, hi]}`` in the units of ``a`` and ``b``.
    """
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)  # (N,), (N,)
    if x.shape != y.shape or x.ndim != 1 or x.size == 0:
        raise ValueError(f"paired_bootstrap needs two non-empty 1-D arrays of equal length, "
                         f"got {x.shape} and {y.shape}")
    diff = y - x  # (N,)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, diff.size, size=(n, diff.size))  # (n, N)
    means = diff[idx].mean(axis=1)  # (n,)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return {"mean": float(diff.mean()), "ci95": [float(lo), float(hi)]}
