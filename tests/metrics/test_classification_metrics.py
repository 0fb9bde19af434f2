import numpy as np
import pytest

from fgalign.metrics import accuracy, paired_bootstrap, per_class_accuracy, vcr_accuracy
from fgalign.schema import SNLI_VE_LABELS


def test_accuracy_counts_error_rows_as_wrong():
    assert accuracy([0, 1, -1, 2], [0, 1, 2, 1]) == 50.0


def test_per_class_accuracy_with_names():
    out = per_class_accuracy([0, 0, 1, 2, 2], [0, 1, 1, 2, 0], names=SNLI_VE_LABELS)
    assert out == {"entailment": 50.0, "neutral": 50.0, "contradiction": 100.0}


def test_vcr_accuracy_q2ar_needs_both():
    out = vcr_accuracy([0, 1, 2, 3], [0, 1, 0, 3], [1, 1, 1, 0], [1, 0, 1, 0])
    assert out == {"q2a": 75.0, "qa2r": 75.0, "q2ar": 50.0}


def test_metric_input_errors():
    with pytest.raises(ValueError):
        accuracy([0, 1], [0])
    with pytest.raises(ValueError):
        accuracy([], [])


def test_paired_bootstrap_mean_ci_and_seed():
    rng = np.random.default_rng(1)
    a = rng.integers(0, 2, 400) * 100.0
    b = np.where(rng.random(400) < 0.2, 100.0, a)  # b fixes ~20% of instances
    out = paired_bootstrap(a, b, n=500, seed=0)
    assert out["mean"] == pytest.approx(float(np.mean(b - a)))
    lo, hi = out["ci95"]
    assert 0 < lo < out["mean"] < hi
    assert paired_bootstrap(a, b, n=500, seed=0) == out
    same = paired_bootstrap(a, a, n=100)
    assert same == {"mean": 0.0, "ci95": [0.0, 0.0]}
