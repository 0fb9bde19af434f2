"""The backbone probe: exact bookkeeping with an oracle backbone, and a real run on test-tiny."""
from __future__ import annotations

import json
from contextlib import nullcontext

import numpy as np
import pytest
import torch

from fgalign.models import create_backbone
from fgalign.models.probe import probe_backbone

WORDS = ["red", "blue", "circle", "square"]


def _vec(words: list[str]) -> np.ndarray:
    v = np.array([w in words for w in WORDS], dtype=np.float32)
    return v / np.linalg.norm(v)


class OracleModel(torch.nn.Module):
    """encode_text embeds the colour/shape words of each prompt (tokens index ``texts``)."""

    def __init__(self):
        super().__init__()
        self.texts: list[str] = []

    def tokenize(self, texts):
        self.texts += list(texts)
        return torch.arange(len(self.texts) - len(texts), len(self.texts))

    def encode_text(self, tokens, normalize=True):
        return torch.from_numpy(np.stack([_vec(self.texts[i].split()) for i in tokens.tolist()]))


class OracleBackbone:
    """Knows the tiny world's labels; gets the colour of the first crop wrong on purpose."""

    def __init__(self, world):
        self.model, self.device, self.embed_dim = OracleModel(), "cpu", len(WORDS)
        self.tokenizer = self.model.tokenize
        scenes = json.loads((world / "scenes_test.json").read_text())
        self.labels = [[o["color"], o["shape"]] for s in scenes for o in s["objects"]]
        self.labels[0][0] = "blue" if self.labels[0][0] == "red" else "red"
        lines = [json.loads(x) for x in (world / "captions_test.jsonl").read_text().splitlines()]
        self.caption_image = {x["caption"]: x["image"] for x in lines if x["box"] is None}

    def autocast(self):
        return nullcontext()

    def encode_images(self, images, batch_size=64):
        if images[0].size == (64, 64):  # whole images: one-hot of their position
            return np.eye(len(images), dtype=np.float32)
        return np.stack([_vec(label) for label in self.labels])

    def encode_texts(self, texts, batch_size=256):
        images = sorted(set(self.caption_image.values()))
        return np.eye(len(images), dtype=np.float32)[
            [images.index(self.caption_image[t]) for t in texts]]


def test_probe_bookkeeping_is_exact(tiny_world):
    result = probe_backbone(OracleBackbone(tiny_world), tiny_world, "test")
    assert result["crop_accuracy"] == {"color": 0.75, "shape": 1.0, "color_shape": 0.75}
    assert result["retrieval_r1"] == {"image_to_text": 1.0, "text_to_image": 1.0}
    assert result["n"] == {"crops": 4, "images": 2, "captions": 4}


def test_probe_runs_on_a_real_backbone(tiny_world):
    result = probe_backbone(create_backbone("test-tiny"), tiny_world, "test")
    values = list(result["crop_accuracy"].values()) + list(result["retrieval_r1"].values())
    assert all(0.0 <= v <= 1.0 for v in values)


def test_probe_missing_split(tiny_world):
    with pytest.raises(FileNotFoundError, match="scenes_nope.json"):
        probe_backbone(create_backbone("test-tiny"), tiny_world, "nope")
