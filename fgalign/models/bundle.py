"""The bundle format of the project's own backbones: ``NAME.safetensors`` + ``NAME.json``.

The JSON holds everything needed to rebuild the model without pickle::

    {"name": "shapes-tiny",
     "model_cfg": {"embed_dim": 128, "vision_cfg": {...}, "text_cfg": {...}},   # open_clip CLIP
     "preprocess": {"size": 64, "mean": [..], "std": [..], "resize_mode": "squash",
                    "interpolation": "bicubic"},
     "tokenizer": {"type": "word", "context_length": 32, "vocab": [...]},
     "provenance": {"command": "...", "seed": 0, "world": {...}, "train_time_s": ...}}

``model_cfg`` uses open_clip's own model-config schema, so ``open_clip.CLIP(**model_cfg)``
builds the architecture; weights load through ``open_clip.load_checkpoint``. open_clip (with
torchvision, timm and transformers: about 3.4 s on one core here) is imported when a model is
built, not when this module is: the Ray driver names the stage classes in its plan but never
builds a model, so ``fgalign run`` starts its actor pools that much sooner.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from PIL import Image
from safetensors.torch import save_file

from fgalign.models.tokenizer import WordTokenizer

if TYPE_CHECKING:
    import open_clip

DEFAULT_PREPROCESS = {"size": 64, "mean": [0.5, 0.5, 0.5], "std": [0.5, 0.5, 0.5],
                      "resize_mode": "squash", "interpolation": "bicubic"}


_REFUSALS: list[str] = []  # why building a model is forbidden here (innermost last)


class ModelForbiddenError(RuntimeError):
    """A CLIP model was about to be built inside ``forbid_models`` (e.g. in a sweep trial)."""


@contextmanager
def forbid_models(reason: str) -> Iterator[None]:
    """Inside the block, in this process, fgalign's model factories refuse to build a CLIP
    model: ``create_backbone`` and ``build_clip`` raise ``ModelForbiddenError(reason)``.

    A process-level guard at the factories fgalign owns (every model fgalign builds comes
    from one of them); nothing of open_clip is patched. Nestable; restored on exit.
    """
    _REFUSALS.append(reason)
    try:
        yield
    finally:
        _REFUSALS.pop()


def check_models_allowed() -> None:
    """Raise ``ModelForbiddenError`` inside ``forbid_models``."""
    if _REFUSALS:
        raise ModelForbiddenError(_REFUSALS[-1])


def build_clip(model_cfg: dict[str, Any], seed: int | None = None) -> open_clip.CLIP:
    """A randomly initialised open_clip ``CLIP`` from an open_clip model config dict.

    Args:
        model_cfg: ``{"embed_dim": D, "vision_cfg": {...}, "text_cfg": {...}}``.
        seed: when given, initialisation is deterministic and the global RNG is untouched.
    """
    import open_clip  # on use, not on import: the Ray driver never builds a model (module doc)

    check_models_allowed()
    if seed is None:
        return open_clip.CLIP(**model_cfg)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return open_clip.CLIP(**model_cfg)


def build_preprocess(cfg: dict[str, Any]) -> Callable[[Image.Image], torch.Tensor]:
    """The eval transform (open_clip ``image_transform``) described by a preprocess dict."""
    import open_clip

    cfg = {**DEFAULT_PREPROCESS, **cfg}
    return open_clip.image_transform(
        cfg["size"], is_train=False, mean=tuple(cfg["mean"]), std=tuple(cfg["std"]),
        resize_mode=cfg["resize_mode"], interpolation=cfg["interpolation"])


def bundle_paths(path: str | Path) -> tuple[Path, Path]:
    """(weights, json) paths of a bundle given either file or the common stem."""
    p = Path(path)
    stem = p.with_suffix("") if p.suffix in (".json", ".safetensors") else p
    return stem.with_suffix(".safetensors"), stem.with_suffix(".json")


def save_bundle(path: str | Path, model: torch.nn.Module, config: dict[str, Any]) -> Path:
    """Writes ``model``'s weights (safetensors) and ``config`` (JSON) beside each other.

    Args:
        path: the stem, or either file name (``out/shapes-tiny`` → ``out/shapes-tiny.{json,...}``).
        model: the CLIP model.
        config: the bundle JSON (``model_cfg``, ``preprocess``, ``tokenizer``, ...).

    Returns:
        The weights path.
    """
    weights, meta = bundle_paths(path)
    weights.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(weights), metadata={"format": "pt", "name": config.get("name", "")})
    meta.write_text(json.dumps(config, indent=1) + "\n")
    return weights


def read_bundle_config(path: str | Path) -> dict[str, Any]:
    """The JSON config of a bundle; a clear error when either file is missing."""
    weights, meta = bundle_paths(path)
    for f in (meta, weights):
        if not f.is_file():
            raise FileNotFoundError(f"backbone bundle file missing: {f} "
                                    f"(a bundle is {weights.name} + {meta.name})")
    return json.loads(meta.read_text())


def load_bundle(path: str | Path, checkpoint: str | Path | None = None
                ) -> tuple[open_clip.CLIP, WordTokenizer, dict[str, Any]]:
    """Rebuilds a bundled model: (model in eval mode on CPU, tokenizer, config).

    Args:
        path: the bundle (stem, ``.json`` or ``.safetensors``).
        checkpoint: other weights for the same architecture (``.safetensors`` or ``.pt``
            loaded with ``weights_only=True``); default: the bundle's own weights.
    """
    import open_clip

    config = read_bundle_config(path)
    weights = Path(checkpoint) if checkpoint else bundle_paths(path)[0]
    model = build_clip(config["model_cfg"])
    open_clip.load_checkpoint(model, str(weights), strict=True, weights_only=True)
    return model.eval(), WordTokenizer.from_dict(config["tokenizer"]), config
