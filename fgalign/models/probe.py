"""A probe of a backbone on the synthetic world: zero-shot crop classification and retrieval.

    bb = create_backbone("shapes-tiny")
    probe_backbone(bb, "/tmp/world", split="test")
    # {"crop_accuracy": {"color": .., "shape": .., "color_shape": ..},
    #  "retrieval_r1": {"image_to_text": .., "text_to_image": ..}, "n": {...}}

Crops: every object of ``scenes_{split}.json``, cut at its ground-truth box grown by ``pad``
(``fgalign.models.corpus.crop_box``). Classes are the colours and shapes named anywhere in the
world's scene files. Zero-shot weights come from ``open_clip.build_zero_shot_classifier``:
colour classes are prompted "a {colour} {shape}" averaged over every shape (shape classes
likewise over every colour), colour+shape classes "a {colour} {shape}".

Retrieval: the whole images of the split against their scene captions (``box`` null in
``captions_{split}.jsonl``). A hit is the top-1 caption text being one of the image's captions
(image→text), or the top-1 image having that caption (text→image); identical caption texts
of different images count for each of them.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import open_clip
import torch

from fgalign.data.synth.manifest import images_dir
from fgalign.models.backbone import Backbone
from fgalign.models.corpus import crop_box
from fgalign.regions.crops import load_rgb


def _read_scenes(root: Path, split: str) -> list[dict]:
    path = root / f"scenes_{split}.json"
    if not path.is_file():
        raise FileNotFoundError(f"scene graphs not found: {path} (`fgalign synth --out {root}`)")
    return json.loads(path.read_text())


def _classifier(bb: Backbone, classnames: list[str], templates: list[str]) -> torch.Tensor:
    """(D, K) zero-shot weights of ``classnames`` (templates averaged)."""
    with torch.inference_mode(), bb.autocast():
        w = open_clip.build_zero_shot_classifier(bb.model, bb.tokenizer, classnames, templates,
                                                 num_classes_per_batch=None, device=bb.device)
    return w.float().cpu()


def crop_accuracy(bb: Backbone, root: Path, split: str, pad: float = 0.1,
                  batch_size: int = 256) -> tuple[dict[str, float], int]:
    """Zero-shot accuracy of object crops by colour, shape and colour+shape; and #crops."""
    scenes = _read_scenes(root, split)
    world = [o for f in sorted(root.glob("scenes_*.json"))
             for s in json.loads(f.read_text()) for o in s["objects"]]
    colors = sorted({o["color"] for o in world})
    shapes = sorted({o["shape"] for o in world})
    crops, labels = [], []
    for s in scenes:
        image = load_rgb(root / images_dir(root), s["file"])
        for o in s["objects"]:
            crops.append(crop_box(image, o["box"], pad))
            labels.append((o["color"], o["shape"]))
    if not crops:
        raise ValueError(f"no objects in {root}/scenes_{split}.json")
    emb = torch.from_numpy(bb.encode_images(crops, batch_size=batch_size))  # (N, D)
    color_w = _classifier(bb, colors, [f"a {{}} {s}" for s in shapes])  # (D, C)
    shape_w = _classifier(bb, shapes, [f"a {c} {{}}" for c in colors])  # (D, S)
    pairs = [f"{c} {s}" for c in colors for s in shapes]
    pair_w = _classifier(bb, pairs, ["a {}"])  # (D, C*S)
    pred_c = [colors[i] for i in (emb @ color_w).argmax(1).tolist()]
    pred_s = [shapes[i] for i in (emb @ shape_w).argmax(1).tolist()]
    pred_cs = [pairs[i] for i in (emb @ pair_w).argmax(1).tolist()]
    acc = {
        "color": float(np.mean([p == c for p, (c, _) in zip(pred_c, labels)])),
        "shape": float(np.mean([p == s for p, (_, s) in zip(pred_s, labels)])),
        "color_shape": float(np.mean([p == f"{c} {s}" for p, (c, s) in zip(pred_cs, labels)])),
    }
    return acc, len(crops)


def retrieval_r1(bb: Backbone, root: Path, split: str, batch_size: int = 256
                 ) -> tuple[dict[str, float], int, int]:
    """Image↔scene-caption R@1; and the numbers of images and caption lines."""
    path = root / f"captions_{split}.jsonl"
    if not path.is_file():
        raise FileNotFoundError(f"caption corpus not found: {path}")
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    rows = [r for r in rows if r["box"] is None]
    images = sorted({r["image"] for r in rows})
    texts = sorted({r["caption"] for r in rows})
    image_idx = {im: i for i, im in enumerate(images)}
    text_idx = {t: i for i, t in enumerate(texts)}
    truth = np.zeros((len(images), len(texts)), dtype=bool)  # (I, T) caption true of image
    for r in rows:
        truth[image_idx[r["image"]], text_idx[r["caption"]]] = True
    img = bb.encode_images([load_rgb(root, im) for im in images], batch_size=batch_size)
    txt = bb.encode_texts(texts, batch_size=batch_size)
    sims = img @ txt.T  # (I, T)
    i2t = truth[np.arange(len(images)), sims.argmax(1)].mean()
    t2i = truth[sims.argmax(0), np.arange(len(texts))].mean()
    return {"image_to_text": float(i2t), "text_to_image": float(t2i)}, len(images), len(rows)


def probe_backbone(bb: Backbone, root: str | Path, split: str = "test", pad: float = 0.1,
                   batch_size: int = 256) -> dict[str, Any]:
    """Crop accuracy and retrieval R@1 of ``bb`` on ``split`` of the world at ``root``."""
    root = Path(root)
    crops, n_crops = crop_accuracy(bb, root, split, pad, batch_size)
    r1, n_images, n_captions = retrieval_r1(bb, root, split, batch_size)
    return {"crop_accuracy": crops, "retrieval_r1": r1,
            "n": {"crops": n_crops, "images": n_images, "captions": n_captions}}
