"""Small stages that follow the fgalign.experiment.plan contract, for testing the Ray machinery alone.

Each adds columns of the kinds real stages add (variable-shape float arrays, nested string
lists, fixed-shape arrays, ints), passes error rows through with empty values, and marks
a row whose text contains "BAD" as failed (regions raises on it: the wrapper isolates it).
"""
from __future__ import annotations

import os
import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fgalign.config import RowFailureCfg, StageResources, config_hash

D = 4  # embedding width


@dataclass
class Spec:
    name: str
    cls: type
    kwargs: dict[str, Any] = field(default_factory=dict)
    resources: StageResources = field(default_factory=StageResources)
    hash: str = ""
    row_failures: RowFailureCfg = field(default_factory=RowFailureCfg)


def _obj(values):
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        out[i] = v
    return out


def _ok(batch):
    return [e == "" for e in batch["error"]]


class Regions:
    def __init__(self, max_regions: int = 3):
        self.max_regions = max_regions

    def __call__(self, batch):
        if any("BAD" in t and e == "" for t, e in zip(batch["text"], batch["error"])):
            raise ValueError("unreadable image")
        boxes = [np.full((len(t) % self.max_regions, 4), len(t), np.float32) if ok
                 else np.zeros((0, 4), np.float32) for t, ok in zip(batch["text"], _ok(batch))]
        out = dict(batch)
        out["boxes"] = _obj(boxes)  # (R, 4), R varies, may be 0
        out["box_labels"] = _obj([["shape"] * len(b) for b in boxes])
        out["actor_pid"] = np.full(len(boxes), os.getpid())
        return out


class Keywords:
    def __call__(self, batch):
        out = dict(batch)
        out["keywords"] = _obj([[list(c.split()) for c in cands] if ok else []
                                for cands, ok in zip(batch["candidates"], _ok(batch))])
        return out


class Embed:
    def __call__(self, batch):
        import ray

        def emb(s):
            return np.random.default_rng(zlib.crc32(s.encode())).normal(size=D).astype(np.float32)

        out = dict(batch)
        out["stmt_embs"] = _obj([np.stack([emb(c) for c in cands]) if ok
                                 else np.zeros((0, D), np.float32)
                                 for cands, ok in zip(batch["candidates"], _ok(batch))])  # (C, D)
        out["image_emb"] = np.stack([emb(t) for t in batch["text"]])  # (B, D)
        out["gpu_ids"] = np.full(len(out["image_emb"]), len(ray.get_gpu_ids()))
        return out


class Score:
    def __init__(self, bias: float = 0.0):
        self.bias = bias

    def __call__(self, batch):
        scores = [s @ img + self.bias for s, img in zip(batch["stmt_embs"], batch["image_emb"])]
        out = dict(batch)
        out["score"] = _obj([np.asarray(s, np.float32) for s in scores])  # (C,)
        out["pred"] = np.array([int(np.argmax(s)) if len(s) else -1 for s in scores])
        return out


class Broken:
    """An embed stage with a bug: every batch raises."""

    def __call__(self, batch):
        raise RuntimeError("bug")


def make_specs(bias: float = 0.0, embed_cls: type = Embed, embed_gpus: float = 0.0,
               batch_size: int = 4) -> list[Spec]:
    specs = [Spec("regions", Regions, {"max_regions": 3}),
             Spec("keywords", Keywords),
             Spec("embed", embed_cls, resources=StageResources(num_gpus=embed_gpus)),
             Spec("score", Score, {"bias": bias})]
    for s in specs:
        s.resources.batch_size = batch_size
        s.hash = config_hash({"cls": s.cls.__name__, "kwargs": s.kwargs})
    return specs


def make_rows(n: int = 10) -> list[dict[str, Any]]:
    rows = []
    for i in range(n):
        text = "BAD image" if i == 3 else "what colour is shape " + "x" * i
        rows.append({"uid": f"vqa:test:{i}", "task": "vqa", "split": "test",
                     "image_path": f"img/{i}.png", "text": text,
                     "candidates": ["red circle", "blue"] + ["green square"] * (i % 2),
                     "target": [] if i < 5 else ["red"] * 10, "given_boxes": [], "error": ""})
    return rows
