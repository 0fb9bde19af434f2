"""Accuracy metrics for SNLI-VE and VCR, in percent (the ``metrics.json`` convention).

Error rows stay in: give them ``pred = -1`` so they count as wrong, never as missing.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _as_arrays(preds: Sequence[int], labels: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    p, y = np.asarray(preds, dtype=np.int64), np.asarray(labels, dtype=np.int64)  # (N,), (N,)
    if p.shape != y.shape or p.ndim != 1:
        raise ValueError(f"preds and labels must be 1-D of equal length, got {p.shape} vs {y.shape}")
    if p.size == 0:
        raise ValueError("accuracy of zero instances is undefined")
    return p, y


def accuracy(preds: Sequence[int], labels: Sequence[int]) -> float:
    """Percentage of ``preds`` equal to ``labels``."""
    p, y = _as_arrays(preds, labels)
    return float(100.0 * np.mean(p == y))


def per_class_accuracy(preds: Sequence[int], labels: Sequence[int],
                       names: Sequence[str] | None = None) -> dict[str, float]:
    """Accuracy (percent) within each gold class present in ``labels``.

    Args:
        preds, labels: class indices, shape (N,).
        names: optional class names indexed by label (e.g. ``SNLI_VE_LABELS``); keys are
            the names, else the label indices as strings.
    """
    p, y = _as_arrays(preds, labels)
    out = {}
    for c in sorted(set(y.tolist())):
        key = names[c] if names is not None and 0 <= c < len(names) else str(c)
        out[key] = float(100.0 * np.mean(p[y == c] == c))
    return out


def vcr_accuracy(q2a_pred: Sequence[int], q2a_label: Sequence[int],
                 qa2r_pred: Sequence[int], qa2r_label: Sequence[int]) -> dict[str, float]:
    """VCR Q→A, QA→R and Q→AR accuracy (percent); Q→AR needs both parts right."""
    pa, ya = _as_arrays(q2a_pred, q2a_label)
    pr, yr = _as_arrays(qa2r_pred, qa2r_label)
    if pa.shape != pr.shape:
        raise ValueError("Q→A and QA→R arrays must cover the same instances")
    right_a, right_r = pa == ya, pr == yr
    return {"q2a": float(100.0 * right_a.mean()), "qa2r": float(100.0 * right_r.mean()),
            "q2ar": float(100.0 * (right_a & right_r).mean())}
