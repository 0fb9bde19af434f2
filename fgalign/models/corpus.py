"""The caption corpus of the synthetic world, pre-rendered for contrastive training.

Reads ``captions_{split}.jsonl`` (lines ``{"image", "caption", "box"}``; ``box`` null for a
scene caption, else the single object the caption describes) and, when present,
``scenes_{split}.json`` (to know which object a box is). Every whole image and every object
crop is rendered once into a uint8 tensor cache, so a training step only indexes memory.

Duplicate captions: ClipLoss treats every other caption of a batch as a negative, so two
crops captioned "a red circle" in one batch would be pushed apart. ``CaptionCorpus.sample``
draws crops of *distinct* (colour, shape) keys, and scene captions with distinct texts, so no
caption in a batch is true of another crop in it. (Scene captions can still be partly true of
other scenes; that residual noise is accepted.)
"""
from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from tqdm import tqdm

from fgalign.regions.crops import upright_rgb


def crop_box(image: Image.Image, box: list[float], pad: float = 0.1) -> Image.Image:
    """The crop of ``box`` ([x1, y1, x2, y2] pixels) grown by ``pad`` × its side on each side.

    The grown box is clipped to the image; the crop is never empty.
    """
    x1, y1, x2, y2 = box
    w, h = max(x2 - x1, 1.0), max(y2 - y1, 1.0)
    x1, x2 = max(0.0, x1 - pad * w), min(float(image.width), x2 + pad * w)
    y1, y2 = max(0.0, y1 - pad * h), min(float(image.height), y2 + pad * h)
    ix1, iy1 = int(np.floor(x1)), int(np.floor(y1))
    ix2, iy2 = max(int(np.ceil(x2)), ix1 + 1), max(int(np.ceil(y2)), iy1 + 1)
    return image.crop((ix1, iy1, ix2, iy2))


def to_uint8(image: Image.Image, size: int) -> torch.Tensor:
    """PIL image → uint8 (3, size, size), resized like the eval transform (squash, bicubic)."""
    im = image.convert("RGB").resize((size, size), Image.BICUBIC)
    return torch.from_numpy(np.asarray(im).copy()).permute(2, 0, 1)  # (3, S, S)


def _box_key(box: list[float]) -> tuple[float, ...]:
    return tuple(round(float(v), 2) for v in box)


@dataclass
class CaptionCorpus:
    """Rendered images and captions of one split.

    Attributes:
        pixels: uint8 (M, 3, S, S): whole images and object crops.
        captions: all distinct caption strings.
        scenes: per image, (render index, caption indices).
        crops: per (colour, shape) key, a list of (render indices of the crop variants,
            caption indices).
    """

    pixels: torch.Tensor
    captions: list[str]
    scenes: list[tuple[int, list[int]]]
    crops: dict[str, list[tuple[list[int], list[int]]]] = field(default_factory=dict)

    @classmethod
    def load(cls, root: str | Path, split: str, size: int, crop_variants: int = 2,
             seed: int = 0, limit_images: int | None = None,
             progress: bool = True) -> CaptionCorpus:
        """Reads and renders ``split`` of the world at ``root``.

        Args:
            root: world root (holds ``captions_{split}.jsonl``).
            split: split name.
            size: rendered side in pixels (the model's image size).
            crop_variants: renders per object crop, each with a random context pad in
                [0.0, 0.3] of the box side (augmentation; the probe uses 0.1).
            seed: seed of the crop pads.
            limit_images: keep only the first N images (tests).
            progress: show a progress bar.
        """
        root = Path(root)
        path = root / f"captions_{split}.jsonl"
        if not path.is_file():
            raise FileNotFoundError(f"caption corpus not found: {path} (make it with "
                                    f"`fgalign synth --out {root}`)")
        rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        by_image: dict[str, list[dict]] = defaultdict(list)
        for r in rows:
            by_image[r["image"]].append(r)
        images = list(by_image)[:limit_images]
        objects = _scene_objects(root / f"scenes_{split}.json")
        rng = np.random.default_rng(seed)
        caption_ids: dict[str, int] = {}
        pixels: list[torch.Tensor] = []
        scenes, crops = [], defaultdict(list)

        def cid(text: str) -> int:
            return caption_ids.setdefault(text, len(caption_ids))

        for rel in tqdm(images, desc=f"render {split}", unit="img", disable=not progress):
            image = upright_rgb(Image.open(root / rel))
            whole = [cid(r["caption"]) for r in by_image[rel] if r["box"] is None]
            if whole:
                pixels.append(to_uint8(image, size))
                scenes.append((len(pixels) - 1, whole))
            per_box: dict[tuple, list[int]] = defaultdict(list)
            for r in by_image[rel]:
                if r["box"] is not None:
                    per_box[_box_key(r["box"])].append(cid(r["caption"]))
            for box, caps in per_box.items():
                obj = objects.get((Path(rel).name, box))
                # Without a scene graph, the shortest caption ("a red circle") is the key.
                key = (f"{obj['color']} {obj['shape']}" if obj else
                       min((r["caption"] for r in by_image[rel]
                            if r["box"] is not None and _box_key(r["box"]) == box), key=len))
                variants = []
                for _ in range(crop_variants):
                    pixels.append(to_uint8(crop_box(image, list(box), rng.uniform(0, 0.3)), size))
                    variants.append(len(pixels) - 1)
                crops[key].append((variants, caps))
        if not pixels:
            raise ValueError(f"no images in {path}")
        return cls(torch.stack(pixels), list(caption_ids), scenes, dict(crops))

    def sample(self, rng: np.random.Generator, n_scenes: int, n_crops: int
               ) -> tuple[torch.Tensor, list[int]]:
        """One batch: (render indices (B,), caption indices (B,)), captions all distinct.

        Crops come from ``min(n_crops, #keys)`` distinct (colour, shape) keys, chosen
        uniformly (so rare combinations are seen as often as common ones).
        """
        renders, caps, seen = [], [], set()
        for i in rng.choice(len(self.scenes), size=min(n_scenes, len(self.scenes)),
                            replace=False):
            render, options = self.scenes[i]
            free = [c for c in options if c not in seen]
            if free:
                c = free[int(rng.integers(len(free)))]
                renders.append(render), caps.append(c), seen.add(c)
        keys = list(self.crops)
        for k in rng.choice(len(keys), size=min(n_crops, len(keys)), replace=False):
            instances = self.crops[keys[k]]
            variants, options = instances[int(rng.integers(len(instances)))]
            free = [c for c in options if c not in seen]
            if free:
                c = free[int(rng.integers(len(free)))]
                renders.append(variants[int(rng.integers(len(variants)))])
                caps.append(c), seen.add(c)
        return torch.tensor(renders, dtype=torch.long), caps


def _scene_objects(path: Path) -> dict[tuple[str, tuple], dict]:
    """(image file name, rounded box) → object of ``scenes_{split}.json`` (empty if absent)."""
    if not path.is_file():
        return {}
    scenes = json.loads(path.read_text())
    return {(s["file"], _box_key(o["box"])): o for s in scenes for o in s["objects"]}
