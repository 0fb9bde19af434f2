"""A toy embedded world: rows shaped like the embed stage's output, for tests and dry runs.

Concepts are random unit vectors in D dims. A row's image holds R concepts (its regions); each
candidate statement names K concepts; the correct candidate names concepts that are in the
image, the others name concepts that are not. Image-side vectors (image, regions) go through one
fixed linear distortion shared by every task, so zero-shot scoring is weakened and an adapter
trained on some tasks can learn to undo it for another task. No CLIP, no files needed.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

D, R, K = 16, 4, 2
CANDIDATES = {"vqa": 5, "snli_ve": 3, "vcr": 4}  # candidates per instance in the toy world


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def make_rows(task: str, n: int, n_cands: int, seed: int, distortion: float = 1.5,
              n_concepts: int = 24) -> list[dict]:
    """``n`` embedded rows of ``task`` with ``n_cands`` candidates each (see module doc)."""
    rng = np.random.default_rng(seed)
    world = np.random.default_rng(1234)  # concepts and distortion shared by every task
    concepts = _unit(world.normal(size=(n_concepts, D)))  # (N, D)
    mix = np.eye(D) + distortion * world.normal(size=(D, D)) / np.sqrt(D)  # (D, D)
    rows = []
    for i in range(n):
        present = rng.choice(n_concepts, size=R, replace=False)
        absent = np.setdiff1d(np.arange(n_concepts), present)
        regions = _unit(_unit(concepts[present] + 0.3 * rng.normal(size=(R, D))) @ mix)
        image = _unit(concepts[present].mean(0) @ mix)  # (D,)
        label = int(rng.integers(n_cands))
        kw = np.stack([concepts[rng.choice(present if c == label else absent, size=K,
                                           replace=False)] for c in range(n_cands)])  # (C, K, D)
        cands = [f"{task}-answer-{i}-{c}" for c in range(n_cands)]
        target: object = label
        if task == "vqa":
            target = [cands[label]] * 8 + [cands[(label + 1) % n_cands]] * 2
        rows.append({
            "uid": f"{task}:toy:{i}", "task": task, "error": "", "candidates": cands,
            "target": target, "image_emb": image, "region_embs": regions,
            "tag_embs": _unit(concepts[present]), "stmt_embs": _unit(kw.mean(1)), "kw_embs": kw,
            "kw_mask": np.ones((n_cands, K), bool),
        })
    return rows


def write_toy_caches(out_dir: str | Path, sizes: dict[str, int], distortion: float = 3.0,
                     tasks: tuple[str, ...] = ("vqa", "snli_ve", "vcr")) -> dict[str, str]:
    """Write a Parquet file per (task, split) of ``sizes``; returns ``"task/split" → path``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {}
    for j, task in enumerate(tasks):
        for k, (split, n) in enumerate(sizes.items()):
            rows = make_rows(task, n, CANDIDATES[task], seed=10 * j + k, distortion=distortion)
            table = pa.Table.from_pylist([{key: (v.tolist() if isinstance(v, np.ndarray) else v)
                                           for key, v in r.items()} for r in rows])
            path = out_dir / f"{task}-{split}.parquet"
            pq.write_table(table, path)
            paths[f"{task}/{split}"] = str(path)
    return paths
