"""Region tags: CLIP's best match in a tag vocabulary, for regions a proposer left unlabelled.

Vocabularies (``TAG_VOCABS``):

- ``shapes`` (synthetic world): every colour + shape phrase ("red circle", ...). Whole phrases,
  not separate colour and shape words, because a tag is matched against statements as text and
  attribute binding ("the *red* circle", not any red thing next to any circle) is what the
  fine-grained scores must capture; one argmax over phrases also picks colour and shape jointly.
- ``coco``: the 80 COCO detection categories.
- ``vg``: the 150 object categories of the common Visual Genome split (VG150).
"""
from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any

import numpy as np

from fgalign.data.synth.scene import COLORS, SHAPES

COCO_NAMES = [
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog",
    "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella",
    "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite",
    "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle",
    "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange",
    "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch", "potted plant",
    "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone",
    "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors",
    "teddy bear", "hair drier", "toothbrush",
]

VG150_NAMES = [
    "airplane", "animal", "arm", "bag", "banana", "basket", "beach", "bear", "bed", "bench",
    "bike", "bird", "board", "boat", "book", "boot", "bottle", "bowl", "box", "boy", "branch",
    "building", "bus", "cabinet", "cap", "car", "cat", "chair", "child", "clock", "coat",
    "counter", "cow", "cup", "curtain", "desk", "dog", "door", "drawer", "ear", "elephant",
    "engine", "eye", "face", "fence", "finger", "flag", "flower", "food", "fork", "fruit",
    "giraffe", "girl", "glass", "glove", "guy", "hair", "hand", "handle", "hat", "head", "helmet",
    "hill", "horse", "house", "jacket", "jean", "kid", "kite", "lady", "lamp", "laptop", "leaf",
    "leg", "letter", "light", "logo", "man", "men", "motorcycle", "mountain", "mouth", "neck",
    "nose", "number", "orange", "pant", "paper", "paw", "people", "person", "phone", "pillow",
    "pizza", "plane", "plant", "plate", "player", "pole", "post", "pot", "racket", "railing",
    "rock", "roof", "room", "screen", "seat", "sheep", "shelf", "shirt", "shoe", "short",
    "sidewalk", "sign", "sink", "skateboard", "ski", "skier", "sneaker", "snow", "sock", "stand",
    "street", "surfboard", "table", "tail", "tie", "tile", "tire", "toilet", "towel", "tower",
    "track", "train", "tree", "truck", "trunk", "umbrella", "vase", "vegetable", "vehicle",
    "wave", "wheel", "window", "windshield", "wing", "wire", "woman", "zebra",
]

TAG_VOCABS: dict[str, list[str]] = {
    "shapes": [f"{c} {s}" for c in COLORS for s in SHAPES],
    "coco": COCO_NAMES,
    "vg": VG150_NAMES,
}

# backbone → {vocab tuple: (V, D) normalised text embeddings}; entries die with the backbone
_VOCAB_CACHE: weakref.WeakKeyDictionary[Any, dict[tuple[str, ...], np.ndarray]] = \
    weakref.WeakKeyDictionary()


def resolve_vocab(vocab: str | Sequence[str]) -> list[str]:
    """A vocabulary name from ``TAG_VOCABS`` or an explicit list → list of tags."""
    if isinstance(vocab, str):
        if vocab not in TAG_VOCABS:
            raise KeyError(f"unknown tag vocabulary {vocab!r}; known: {sorted(TAG_VOCABS)}")
        return list(TAG_VOCABS[vocab])
    tags = [str(t) for t in vocab]
    if not tags:
        raise ValueError("tag vocabulary is empty")
    return tags


def _normalize(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def vocab_embeddings(backbone: Any, vocab: str | Sequence[str]) -> np.ndarray:
    """(V, D) L2-normalised text embeddings of ``vocab``, computed once per backbone."""
    key = tuple(resolve_vocab(vocab))
    try:
        per_backbone = _VOCAB_CACHE.setdefault(backbone, {})
    except TypeError:  # not weak-referenceable: no cache
        per_backbone = {}
    if key not in per_backbone:
        per_backbone[key] = _normalize(backbone.encode_texts(list(key)))
    return per_backbone[key]


def tag_regions(region_embs: np.ndarray, backbone: Any,
                vocab: str | Sequence[str] = "shapes") -> tuple[list[str], np.ndarray]:
    """Tag each region with its most similar vocabulary entry.

    Args:
        region_embs: (R, D) region crop embeddings (normalised here).
        backbone: anything with ``encode_texts(list[str]) -> (N, D)``.
        vocab: a ``TAG_VOCABS`` name or an explicit list of tags.

    Returns:
        (tags, tag_scores): R tags and their cosine similarities, float32 (R,).
    """
    tags_list = resolve_vocab(vocab)
    region_embs = np.asarray(region_embs, dtype=np.float32)  # (R, D)
    if len(region_embs) == 0:
        return [], np.zeros((0,), np.float32)
    sims = _normalize(region_embs) @ vocab_embeddings(backbone, tags_list).T  # (R, V)
    best = sims.argmax(axis=1)  # first maximum on ties: deterministic
    return [tags_list[i] for i in best], sims[np.arange(len(best)), best].astype(np.float32)


def resolve_tags(labels: Sequence[str], region_embs: np.ndarray, backbone: Any,
                 vocab: str | Sequence[str] = "shapes") -> list[str]:
    """The proposer's label where it has one, else CLIP's best tag (R tags)."""
    labels = [str(x) for x in labels]
    if all(labels):
        return labels
    clip_tags, _ = tag_regions(region_embs, backbone, vocab)
    return [lab or tag for lab, tag in zip(labels, clip_tags)]
