"""A toy embedded world for adaptation tests: rows shaped like the embed stage's output.

Concepts are random unit vectors in D dims. A row's image holds R concepts (its regions); each
candidate statement names a few concepts; the correct candidate names concepts that are in the
image, the others name concepts that are not. Image-side vectors (image, regions) go through a
fixed distortion shared by every task, so a zero-shot scorer is weak and an adapter trained on
some tasks can learn to undo it for another task.
"""
from __future__ import annotations

import numpy as np
import pytest

D, R, K = 16, 4, 2


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def make_rows(task: str, n: int, n_cands: int, seed: int, distortion: float = 1.5,
              n_concepts: int = 24) -> list[dict]:
    rng = np.random.default_rng(seed)
    world = np.random.default_rng(1234)  # concepts and distortion shared by every task
    concepts = _unit(world.normal(size=(n_concepts, D)))
    mix = np.eye(D) + distortion * world.normal(size=(D, D)) / np.sqrt(D)
    rows = []
    for i in range(n):
        present = rng.choice(n_concepts, size=R, replace=False)
        absent = np.setdiff1d(np.arange(n_concepts), present)
        regions = _unit(_unit(concepts[present] + 0.3 * rng.normal(size=(R, D))) @ mix)
        image = _unit(concepts[present].mean(0) @ mix)
        label = int(rng.integers(n_cands))
        kw = []
        for c in range(n_cands):
            pool = present if c == label else absent
            kw.append(concepts[rng.choice(pool, size=K, replace=False)])
        kw = np.stack(kw)  # (C, K, D)
        stmts = _unit(kw.mean(1))  # (C, D)
        cands = [f"{task}-answer-{i}-{c}" for c in range(n_cands)]
        target: object = label
        if task == "vqa":
            target = [cands[label]] * 8 + [cands[(label + 1) % n_cands]] * 2
        rows.append({
            "uid": f"{task}:x:{i}", "task": task, "error": "", "candidates": cands,
            "target": target, "image_emb": image, "region_embs": regions,
            "tag_embs": _unit(concepts[present]), "stmt_embs": stmts, "kw_embs": kw,
            "kw_mask": np.ones((n_cands, K), bool),
        })
    return rows


@pytest.fixture
def toy_rows():
    return make_rows
