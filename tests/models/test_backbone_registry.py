"""Backbone registry: names, errors, checkpoint round-trips, encode shapes (no network, no Ray)."""
from __future__ import annotations

import numpy as np
import open_clip
import pytest
import torch
from PIL import Image

from fgalign.models import BackboneWeightsError, create_backbone, list_backbones
from fgalign.models.bundle import save_bundle


@pytest.fixture(scope="module")
def tiny():
    return create_backbone("test-tiny")


def _images():
    return [Image.new("RGB", (40, 30), (255, 0, 0)), Image.new("RGB", (20, 20), (0, 0, 255)),
            Image.new("L", (32, 32), 128)]


def test_registered_names():
    assert {"shapes-tiny", "test-tiny"} <= set(list_backbones())


def test_unknown_name_lists_known():
    with pytest.raises(KeyError, match="test-tiny") as e:
        create_backbone("no-such-model")
    assert "shapes-tiny" in str(e.value) and "ViT-B-32" in str(e.value)


def test_open_clip_without_weights_refuses_random_init():
    with pytest.raises(BackboneWeightsError, match="pretrained=<tag>.*checkpoint="):
        create_backbone("ViT-B-32")


def test_offline_pretrained_tag_says_what_to_download(monkeypatch):
    def offline(*args, **kwargs):
        raise OSError("Name or service not known")

    monkeypatch.setattr(open_clip.factory, "download_pretrained", offline)
    with pytest.raises(BackboneWeightsError, match="huggingface.co/timm/.*checkpoint="):
        create_backbone("RN50", pretrained="openai")


def test_missing_checkpoint_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.pt"):
        create_backbone("test-tiny", checkpoint=str(tmp_path / "nope.pt"))


def test_test_tiny_is_deterministic(tiny):
    again = create_backbone("test-tiny")
    for (k, a), b in zip(tiny.model.state_dict().items(), again.model.state_dict().values()):
        assert torch.equal(a, b), k


def test_encode_shapes_and_normalisation(tiny):
    img = tiny.encode_images(_images(), batch_size=2)
    assert img.shape == (3, 32) and img.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(img, axis=1), 1.0, atol=1e-5)
    txt = tiny.encode_texts(["a red circle", "two blue squares", "zzz unknown"], batch_size=2)
    assert txt.shape == (3, 32) and txt.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(txt, axis=1), 1.0, atol=1e-5)
    # A preprocessed tensor gives the same embeddings as the PIL images.
    x = tiny.preprocess_images(_images())  # (3, 3, 32, 32)
    assert x.shape == (3, 3, 32, 32)
    np.testing.assert_allclose(tiny.encode_images(x), img, atol=1e-6)
    assert tiny.encode_images([]).shape == (0, 32)
    with pytest.raises(TypeError):
        tiny.encode_texts("a red circle")


@pytest.mark.parametrize("name", ["test-tiny", "shapes-tiny"])
def test_a_texts_embedding_does_not_depend_on_its_batch(name, tiny):
    """The text tables store float16: a float32 difference of 1e-7 between a text encoded
    alone and in a batch moved values by one float16 step (and, with two embed actors, a
    metric). ``encode_texts`` pads every call to a multiple of ``TEXT_ROWS`` rows."""
    import random

    bb = tiny if name == "test-tiny" else create_backbone(name)
    cols, shapes = ["red", "blue", "green", "yellow", "purple"], ["circle", "square", "star"]
    texts = [f"a {c} {s} {p} the {c2} {s2}" for c in cols for s in shapes
             for p in ("left of", "above", "near") for c2 in cols[:2] for s2 in shapes[:2]]
    texts += ["", "a", "two red circles and a long sentence " * 6]
    whole = bb.encode_texts(texts, batch_size=256).astype(np.float16)
    rng = random.Random(0)
    for k in (1, 2, 3, 7, 9, 31, 100):
        idx = rng.sample(range(len(texts)), k)
        part = bb.encode_texts([texts[i] for i in idx], batch_size=256).astype(np.float16)
        assert np.array_equal(part, whole[idx]), k
    alone = np.concatenate([bb.encode_texts([t]) for t in texts[:20]]).astype(np.float16)
    assert np.array_equal(alone, whole[:20])


@pytest.mark.parametrize("suffix", [".safetensors", ".pt"])
def test_checkpoint_round_trip(tmp_path, tiny, suffix):
    other = create_backbone("test-tiny")
    with torch.no_grad():  # perturb so the loaded weights differ from the seed-0 init
        for p in other.model.parameters():
            p.add_(0.01 * torch.randn_like(p))
    path = tmp_path / f"w{suffix}"
    if suffix == ".pt":
        torch.save(other.model.state_dict(), path)
    else:
        save_bundle(path, other.model, {"name": "x"})
    loaded = create_backbone("test-tiny", checkpoint=str(path))
    texts = ["a red circle"]
    np.testing.assert_allclose(loaded.encode_texts(texts), other.encode_texts(texts), atol=1e-6)
    assert not np.allclose(loaded.encode_texts(texts), tiny.encode_texts(texts))


def test_bundle_loads_by_path(tmp_path, tiny):
    info = dict(tiny.info, name="my-tiny")
    save_bundle(tmp_path / "my-tiny", tiny.model, info)
    bb = create_backbone(str(tmp_path / "my-tiny.safetensors"))
    assert bb.name == "my-tiny" and bb.embed_dim == 32 and bb.image_size == 32
    np.testing.assert_allclose(bb.encode_images(_images()), tiny.encode_images(_images()),
                               atol=1e-6)
