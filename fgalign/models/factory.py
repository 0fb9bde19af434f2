"""The backbone registry: one way to get a CLIP model, its preprocess and tokenizer by name.

    create_backbone("shapes-tiny")                               # bundled, offline, < 5 s
    create_backbone("ViT-B-32", pretrained="openai")             # open_clip, downloaded online
    create_backbone("ViT-B-32", checkpoint="/ckpt/vitb32.pt")    # local open_clip weights
    create_backbone("runs/bb/shapes-tiny.safetensors")           # a bundle the trainer wrote
    create_backbone("test-tiny", checkpoint="x.safetensors")     # registered arch, other weights
    list_backbones()                                             # ['shapes-tiny', 'test-tiny']

Resolution order of ``name``: a registered name, an open_clip architecture
(``open_clip.list_models()``), a path to a bundle (``.safetensors`` with its ``.json``).
open_clip is imported on use (``fgalign.models.bundle``'s docstring says why).
Models without weights are never silently random: an open_clip architecture needs a
``pretrained`` tag or a ``checkpoint``; only the explicit ``test-tiny`` is random by design.
"""
from __future__ import annotations

from pathlib import Path

from fgalign import counters
from fgalign.errors import InputError
from fgalign.models.backbone import Backbone, resolve_device
from fgalign.models.bundle import (
    build_clip,
    build_preprocess,
    bundle_paths,
    check_models_allowed,
    load_bundle,
)
from fgalign.models.tokenizer import SPECIALS, WordTokenizer
from fgalign.registry import Registry

ASSETS = Path(__file__).resolve().parent.parent / "assets"
BACKBONES = Registry("backbone")


class BackboneWeightsError(InputError, RuntimeError):
    """The requested backbone's weights are not available (offline or not downloaded)."""


def list_backbones() -> list[str]:
    """Registered backbone names (open_clip architectures are accepted too)."""
    return BACKBONES.list()


def create_backbone(name: str, pretrained: str | None = None, checkpoint: str | None = None,
                    device: str = "cpu", precision: str = "fp32") -> Backbone:
    """Builds a backbone by name.

    Args:
        name: a registered name (``list_backbones()``), an open_clip architecture, or a path
            to a bundle written by ``fgalign train-backbone``.
        pretrained: open_clip pretrained tag (``openai``, ``laion2b_s34b_b79k``, ...).
        checkpoint: local weights for the architecture: ``.safetensors`` or ``.pt``
            (loaded with ``torch.load(weights_only=True)``).
        device: ``cpu`` | ``cuda`` | ``cuda:N`` | ``auto``.
        precision: ``fp32`` | ``fp16`` | ``bf16`` (autocast on CUDA; CPU stays fp32).

    Raises:
        KeyError: unknown name (the message lists the known ones).
        BackboneWeightsError: no weights available; the message says what to download.
        FileNotFoundError: a checkpoint path that does not exist.
        ModelForbiddenError: inside ``forbid_models`` (a sweep trial).
    """
    import open_clip

    check_models_allowed()
    if checkpoint is not None and not Path(checkpoint).is_file():
        raise FileNotFoundError(f"checkpoint not found: {checkpoint}")
    if name in BACKBONES:
        factory = BACKBONES.get(name)
        bb = factory(pretrained=pretrained, checkpoint=checkpoint)
    elif name in open_clip.list_models():
        bb = _create_open_clip(name, pretrained, checkpoint)
    elif Path(name).suffix in (".safetensors", ".json") and Path(name).exists():
        bb = _from_bundle(name, checkpoint)
    else:
        raise KeyError(
            f"unknown backbone {name!r}; known: {', '.join(list_backbones())}, any open_clip "
            f"architecture (e.g. ViT-B-32, see open_clip.list_models()) with pretrained= or "
            f"checkpoint=, or a path to a bundle .safetensors written by fgalign train-backbone")

    counters.count("build", what=f"backbone:{name}")
    bb.device = resolve_device(device)
    bb.precision = precision
    bb.model.to(bb.device).eval()
    return bb


def _from_bundle(path: str | Path, checkpoint: str | None = None, name: str | None = None
                 ) -> Backbone:
    model, tokenizer, config = load_bundle(path, checkpoint)
    pre = config["preprocess"]
    return Backbone(model=model, preprocess=build_preprocess(pre), tokenizer=tokenizer,
                    embed_dim=int(config["model_cfg"]["embed_dim"]), image_size=int(pre["size"]),
                    name=name or config.get("name", str(path)), info=config)


@BACKBONES.register("shapes-tiny")
def _shapes_tiny(pretrained: str | None = None, checkpoint: str | None = None) -> Backbone:
    """The bundled tiny CLIP trained on the synthetic shapes world (fgalign/assets/)."""
    weights, _ = bundle_paths(ASSETS / "shapes-tiny")
    if not weights.is_file():
        raise BackboneWeightsError(
            f"bundled weights missing: {weights}. Rebuild them with "
            f"`fgalign train-backbone --out {ASSETS}` (see pipelines/train_backbone.py).")
    return _from_bundle(ASSETS / "shapes-tiny", checkpoint, name="shapes-tiny")


# A tiny random architecture for unit tests: 32 px images, width 32, one layer per tower.
TEST_TINY_VOCAB = list(SPECIALS) + [
    "a", "an", "the", "of", "is", "are", "there", "and", "left", "right", "above", "below",
    "small", "large", "big", "red", "green", "blue", "yellow", "purple", "orange", "cyan", "gray",
    "white", "black", "circle", "square", "triangle", "star", "cross", "diamond", "hexagon",
    "object", "objects", "shape",
]
TEST_TINY_CFG = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "patch_size": 8, "width": 32, "layers": 1, "head_width": 16},
    "text_cfg": {"context_length": 16, "vocab_size": len(TEST_TINY_VOCAB), "width": 32,
                 "heads": 2, "layers": 1, "pool_type": "eos", "eos_id": 3},
}


@BACKBONES.register("test-tiny")
def _test_tiny(pretrained: str | None = None, checkpoint: str | None = None,
               seed: int = 0) -> Backbone:
    """Randomly initialised (deterministic by ``seed``) tiny CLIP; for tests only."""
    model = build_clip(TEST_TINY_CFG, seed=seed)
    if checkpoint is not None:
        import open_clip

        open_clip.load_checkpoint(model, checkpoint, strict=True, weights_only=True)
    pre = {"size": 32}
    tok = WordTokenizer(TEST_TINY_VOCAB, TEST_TINY_CFG["text_cfg"]["context_length"])
    return Backbone(model=model.eval(), preprocess=build_preprocess(pre), tokenizer=tok,
                    embed_dim=32, image_size=32, name="test-tiny",
                    info={"model_cfg": TEST_TINY_CFG, "preprocess": pre,
                          "tokenizer": tok.to_dict()})


def _create_open_clip(name: str, pretrained: str | None, checkpoint: str | None) -> Backbone:
    """An open_clip architecture with a pretrained tag or local checkpoint (never random)."""
    import open_clip

    tags = open_clip.list_pretrained_tags_by_model(name)
    if pretrained is None and checkpoint is None:
        raise BackboneWeightsError(
            f"{name} needs weights: pass pretrained=<tag> (one of {tags}; model.pretrained in "
            f"the config) to download them when online, or checkpoint=<path to .safetensors/.pt> "
            f"(model.checkpoint). Refusing to run a randomly initialised {name}.")
    try:
        model, _, preprocess = open_clip.create_model_and_transforms(
            name, pretrained=checkpoint or pretrained, weights_only=True)
    except RuntimeError as e:
        if checkpoint is not None:
            raise
        raise BackboneWeightsError(_download_hint(name, pretrained, tags, e)) from e
    visual_size = model.visual.image_size
    size = visual_size[0] if isinstance(visual_size, (tuple, list)) else int(visual_size)
    embed_dim = int(open_clip.get_model_config(name)["embed_dim"])
    return Backbone(model=model, preprocess=preprocess, tokenizer=open_clip.get_tokenizer(name),
                    embed_dim=embed_dim, image_size=size,
                    name=f"{name}:{pretrained}" if pretrained else name,
                    info={"open_clip": name, "pretrained": pretrained, "checkpoint": checkpoint})


def _download_hint(name: str, tag: str, tags: list[str], err: Exception) -> str:
    import open_clip

    cfg = open_clip.get_pretrained_cfg(name, tag) or {}
    source = (f"https://huggingface.co/{cfg['hf_hub'].rstrip('/')}" if cfg.get("hf_hub")
              else cfg.get("url") or f"(unknown tag; known tags for {name}: {tags})")
    return (f"could not get weights for {name} pretrained={tag!r} ({err}). Offline? Download "
            f"{source} (open_clip_model.safetensors or open_clip_pytorch_model.bin) on a machine "
            f"with network, copy it here and pass checkpoint=<that file> (model.checkpoint in "
            f"the config), or pre-fill the Hugging Face cache (HF_HOME) and retry.")
