"""Helpers of the real-photo end-to-end tests: config overrides, detector call counting, outputs.

Shared by tests/photo_sets/test_photo_configs.py (in-process) and
tests/ray/test_ray_photo_sets.py (Ray).
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path

import pytest


# test-tiny (random by design) and torchvision Faster R-CNN at random weights:
# regions.params.weights=null is the proposer's explicit random init (fgalign.regions.detectors).
# The detector runs at a small input size so a CPU test stays within a minute; score_thresh /
# min_score 0 keep its (meaningless) boxes, so crops and region embeddings are exercised.
def overrides(root: str | Path, out: str | Path, limit: int, *extra: str) -> list[str]:
    """``--set`` values for a config of configs/ run on a photo set."""
    sets = [f"data.root={root}", f"data.limit={limit}", f"experiment.output_dir={out}",
            "model.name=test-tiny", "model.pretrained=null", "model.precision=fp32",
            "model.device=cpu", "model.batch_size=16", "regions.proposer=torchvision",
            ("regions.params={weights: null, device: cpu, score_thresh: 0.0, min_size: 96, "
             "max_size: 128, rpn_pre_nms_top_n_test: 100, rpn_post_nms_top_n_test: 20, "
             "box_detections_per_img: 8}"),
            "regions.min_score=0.0", "regions.max_regions=4", "keywords.extractor=rule",
            "logging.wandb=false", "adapt.bootstrap=100", *extra]
    return [a for s in sets for a in ("--set", s)]


class DetectorCalls:
    """Counts TorchvisionProposer calls made in this process, and the distinct images seen."""

    def __init__(self):
        self.calls: list[tuple[int, str]] = []  # (pid, digest of the image's pixels)

    @property
    def n(self) -> int:
        return len(self.calls)

    @property
    def distinct(self) -> int:
        return len({d for _, d in self.calls})


@contextlib.contextmanager
def count_detector_calls():
    """Patch the torchvision proposer's ``__call__`` in this process to count its calls."""
    from fgalign.regions.detectors import TorchvisionProposer

    counter = DetectorCalls()
    original = TorchvisionProposer.__call__

    def counted(self, image, *args, **kwargs):
        counter.calls.append((os.getpid(), hashlib.blake2b(image.tobytes(),
                                                           digest_size=8).hexdigest()))
        return original(self, image, *args, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(TorchvisionProposer, "__call__", counted)
        yield counter


def run_folder(out: str | Path, name: str) -> Path:
    """The one run folder ``<out>/<experiment>/<hash>`` a command wrote."""
    found = sorted((Path(out) / name).glob("*/metrics.json"))
    assert len(found) == 1, found
    return found[0].parent


def read_outputs(folder: Path) -> tuple[dict, list[dict]]:
    """(metrics.json, predictions.parquet rows)."""
    import pyarrow.parquet as pq

    metrics = json.loads((folder / "metrics.json").read_text())
    return metrics, pq.read_table(folder / "predictions.parquet").to_pylist()
