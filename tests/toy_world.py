"""A toy embedded world: rows shaped like the embed stage's output, for tests and dry runs.

Concepts are random unit vectors in D dims. A scene holds R concepts (its regions); a true
statement names K concepts of the scene, a false one K concepts that are absent. Image-side
vectors (image, regions) go through one fixed linear distortion shared by every task (a toy
modality gap), so zero-shot scoring is weakened and an adapter trained on some tasks can learn
to undo it for another. Rows follow the task adapters' layout:

    vqa       C answer statements (group 0), ``target`` = 10 human answers
    vcr       4 answers (group 0) + 4 rationales (group 1), ``labels`` = [answer, rationale]
    snli_ve   one hypothesis per row; each premise (image + caption) has an entailed, a
              neutral (half true, half absent concepts) and a contradicted hypothesis
    snli_ve/train_text  the text-only protocol's rows: the caption (undistorted concept mean)
              as ``image_emb`` and its concepts as regions and tags

No CLIP, no files needed.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

D, R, K, N_CONCEPTS = 16, 4, 2, 24
CANDIDATES = {"vqa": 5, "vcr": 4}


def _unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=-1, keepdims=True)).astype(np.float32)


def _world(distortion: float) -> tuple[np.ndarray, np.ndarray]:
    world = np.random.default_rng(1234)  # shared by every task and split
    concepts = _unit(world.normal(size=(N_CONCEPTS, D)))  # (N, D)
    mix = np.eye(D) + distortion * world.normal(size=(D, D)) / np.sqrt(D)  # (D, D)
    return concepts, mix


def _scene(rng, concepts, mix, text_premise: bool = False) -> dict:
    present = rng.choice(N_CONCEPTS, size=R, replace=False)
    regions = _unit(concepts[present] + 0.3 * rng.normal(size=(R, D)))
    image = _unit(concepts[present].mean(0))
    if not text_premise:
        regions, image = _unit(regions @ mix), _unit(image @ mix)
    return {"present": present, "absent": np.setdiff1d(np.arange(N_CONCEPTS), present),
            "image_emb": image, "region_embs": regions, "tag_embs": _unit(concepts[present])}


def _statements(rng, concepts, pools: list[np.ndarray]) -> dict:
    kw = np.stack([concepts[rng.choice(p, size=K, replace=False)] for p in pools])  # (C, K, D)
    return {"stmt_embs": _unit(kw.mean(1)), "kw_embs": kw, "kw_mask": np.ones(kw.shape[:2], bool)}


def make_rows(task: str, n: int, seed: int, distortion: float = 1.5,
              text_premise: bool = False) -> list[dict]:
    """``n`` embedded rows of ``task`` (SNLI-VE: ``n`` premises × 3 hypotheses)."""
    rng = np.random.default_rng(seed)
    concepts, mix = _world(distortion)
    rows = []
    for i in range(n):
        sc = _scene(rng, concepts, mix, text_premise)
        base = {"task": task, "error": "", "image_path": f"img{seed}_{i}.png",
                **{k: sc[k] for k in ("image_emb", "region_embs", "tag_embs")}}
        if task == "snli_ve":
            half = np.concatenate([rng.choice(sc["present"], 1), rng.choice(sc["absent"], 1)])
            for label, pool in enumerate([sc["present"], half, sc["absent"]]):
                st = _statements(rng, concepts, [pool] if label != 1 else [half])
                rows.append({**base, **st, "uid": f"snli_ve:toy:{i}-{label}",
                             "premise": f"caption {i}", "candidates": ["e", "n", "c"],
                             "target": label, "cand_group": [0], "labels": [label]})
            continue
        c = CANDIDATES[task]
        label = int(rng.integers(c))
        pools = [sc["present"] if j == label else sc["absent"] for j in range(c)]
        cands = [f"{task}-answer-{i}-{j}" for j in range(c)]
        row = {**base, **_statements(rng, concepts, pools), "uid": f"{task}:toy:{i}",
               "candidates": cands, "target": label, "cand_group": [0] * c, "labels": [label]}
        if task == "vqa":
            row["target"] = [cands[label]] * 8 + [cands[(label + 1) % c]] * 2
        else:  # vcr: rationales as a second group
            r_label = int(rng.integers(4))
            rat = _statements(rng, concepts, [sc["present"] if j == r_label else sc["absent"]
                                              for j in range(4)])
            for k in ("stmt_embs", "kw_embs", "kw_mask"):
                row[k] = np.concatenate([row[k], rat[k]])
            row["cand_group"] = [0] * c + [1] * 4
            row["labels"] = [label, r_label]
        rows.append(row)
    return rows


def write_toy_caches(out_dir: str | Path, sizes: dict[str, int], distortion: float = 3.0,
                     tasks: tuple[str, ...] = ("vqa", "snli_ve", "vcr")) -> dict[str, str]:
    """A Parquet file per (task, split) of ``sizes`` (+ ``snli_ve/train_text``);
    returns ``"task/split" → path``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    plan = [(t, s, n, False) for t in tasks for s, n in sizes.items()]
    if "snli_ve" in tasks and "train" in sizes:
        plan.append(("snli_ve", "train_text", sizes["train"], True))
    paths = {}
    for j, (task, split, n, text) in enumerate(plan):
        rows = make_rows(task, n if task != "snli_ve" else max(1, n // 3), seed=j,
                         distortion=distortion, text_premise=text)
        table = pa.Table.from_pylist([{k: (v.tolist() if isinstance(v, np.ndarray) else v)
                                       for k, v in r.items()} for r in rows])
        path = out_dir / f"{task}-{split}.parquet"
        pq.write_table(table, path)
        paths[f"{task}/{split}"] = str(path)
    return paths


SIZE_IMAGE = 100  # px, side of the size world's square images
SIZE_SIDES = ((8, 20), (50, 80))  # box side ranges (px) of small and large regions


def _size_world() -> tuple[np.ndarray, np.ndarray]:
    world = np.random.default_rng(4321)
    return _unit(world.normal(size=(N_CONCEPTS, D))), _unit(world.normal(size=(2, D)))


def _sized_statements(rng, concepts, size_dirs, concept: int, sizes: list[int]) -> dict:
    kw = _unit(concepts[concept][None] + 0.7 * size_dirs[sizes])[:, None]  # (C, 1, D)
    return {"stmt_embs": kw[:, 0], "kw_embs": kw, "kw_mask": np.ones((len(sizes), 1), bool)}


def make_size_rows(task: str, n: int, seed: int) -> list[dict]:
    """``n`` rows of a toy world where only a region's *size* tells candidates apart.

    Each scene has R regions of distinct concepts, each small or large (``SIZE_SIDES`` in a
    ``SIZE_IMAGE``² image, ``boxes`` in pixels). The region embeddings hold the concept only
    (like crops resized to the backbone input); a statement names one region's concept with a
    size word (its keyword = concept + a "small" or "large" direction). The true candidate
    has the region's size, the false one the other size, so zero-shot scoring is at chance
    (50 %) and only box geometry can separate them. VCR rows have a second group
    (rationales) about another region; SNLI-VE premises have an entailed (true size),
    a neutral (an absent concept) and a contradicted (other size) hypothesis.
    """
    rng = np.random.default_rng(seed)
    concepts, size_dirs = _size_world()
    rows = []
    for i in range(n):
        present = rng.choice(N_CONCEPTS, size=R, replace=False)
        sizes = rng.integers(0, 2, size=R)  # 0 small, 1 large
        sides = np.array([rng.uniform(*SIZE_SIDES[s], size=2) for s in sizes])  # (R, 2) w, h
        x1 = rng.uniform(0, SIZE_IMAGE - sides[:, 0])
        y1 = rng.uniform(0, SIZE_IMAGE - sides[:, 1])
        boxes = np.stack([x1, y1, x1 + sides[:, 0], y1 + sides[:, 1]], 1).astype(np.float32)
        base = {"task": task, "error": "", "image_path": f"size{seed}_{i}.png",
                "image_emb": _unit(concepts[present].mean(0)),
                "region_embs": _unit(concepts[present] + 0.3 * rng.normal(size=(R, D))),
                "tag_embs": concepts[present], "boxes": boxes}
        j, k = rng.choice(R, size=2, replace=False)
        if task == "snli_ve":
            absent = rng.choice(np.setdiff1d(np.arange(N_CONCEPTS), present))
            hyps = [(present[j], int(sizes[j])), (absent, int(sizes[j])),
                    (present[j], 1 - int(sizes[j]))]
            for label, (c, s) in enumerate(hyps):
                rows.append({**base, **_sized_statements(rng, concepts, size_dirs, c, [s]),
                             "uid": f"snli_ve:size:{i}-{label}", "premise": f"caption {i}",
                             "candidates": ["e", "n", "c"], "target": label, "cand_group": [0],
                             "labels": [label]})
            continue
        label = int(rng.integers(2))
        order = [int(sizes[j]) if c == label else 1 - int(sizes[j]) for c in range(2)]
        row = {**base, **_sized_statements(rng, concepts, size_dirs, present[j], order),
               "uid": f"{task}:size:{i}", "candidates": [f"{task}-{i}-{c}" for c in range(2)],
               "target": label, "cand_group": [0, 0], "labels": [label]}
        if task == "vqa":
            row["target"] = [row["candidates"][label]] * 10
        else:  # vcr: rationales about region k
            r_label = int(rng.integers(2))
            rat = _sized_statements(rng, concepts, size_dirs, present[k],
                                    [int(sizes[k]) if c == r_label else 1 - int(sizes[k])
                                     for c in range(2)])
            for key in ("stmt_embs", "kw_embs", "kw_mask"):
                row[key] = np.concatenate([row[key], rat[key]])
            row["cand_group"], row["labels"] = [0, 0, 1, 1], [label, r_label]
        rows.append(row)
    return rows
