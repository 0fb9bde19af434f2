"""CLIP tagging against a tag vocabulary, with a fake backbone of fixed embeddings."""
from typing import ClassVar

import numpy as np
import pytest

from fgalign.regions import TAG_VOCABS, resolve_tags, resolve_vocab, tag_regions


class FakeBackbone:
    """encode_texts maps each text to a fixed 3-d vector; counts calls."""

    table: ClassVar[dict[str, list[int]]] = {"red circle": [1, 0, 0], "blue square": [0, 1, 0], "green star": [0, 0, 1]}

    def __init__(self):
        self.calls = 0

    def encode_texts(self, texts):
        self.calls += 1
        return np.array([self.table[t] for t in texts], np.float32) * 2.0  # unnormalised


VOCAB = ["red circle", "blue square", "green star"]


def test_tags_are_the_best_matching_vocab_entries():
    bb = FakeBackbone()
    regions = np.array([[0.1, 0.9, 0.0], [3.0, 0.0, 4.0], [0.0, 0.0, -1.0]], np.float32)
    tags, scores = tag_regions(regions, bb, VOCAB)
    assert tags == ["blue square", "green star", "red circle"]
    np.testing.assert_allclose(scores, [0.9 / np.hypot(0.1, 0.9), 0.8, 0.0], atol=1e-6)
    assert scores.dtype == np.float32


def test_vocab_embeddings_are_computed_once_per_backbone():
    bb = FakeBackbone()
    for _ in range(3):
        tag_regions(np.eye(3, dtype=np.float32), bb, VOCAB)
    assert bb.calls == 1
    tag_regions(np.eye(3, dtype=np.float32), bb, VOCAB[:2])
    assert bb.calls == 2
    assert tag_regions(np.zeros((0, 3), np.float32), FakeBackbone(), VOCAB)[0] == []


def test_proposer_labels_win_over_clip_tags():
    bb = FakeBackbone()
    out = resolve_tags(["dog", ""], np.array([[1, 0, 0], [0, 0, 1]], np.float32), bb, VOCAB)
    assert out == ["dog", "green star"]
    assert resolve_tags(["a", "b"], np.zeros((2, 3)), bb, VOCAB) == ["a", "b"] and bb.calls == 1


def test_vocabularies():
    assert len(TAG_VOCABS["shapes"]) == 56 and "red circle" in TAG_VOCABS["shapes"]
    assert len(set(TAG_VOCABS["coco"])) == 80 and len(set(TAG_VOCABS["vg"])) == 150
    assert resolve_vocab(["a", "b"]) == ["a", "b"]
    with pytest.raises(KeyError, match="known"):
        resolve_vocab("imagenet")
    with pytest.raises(ValueError):
        resolve_vocab([])
