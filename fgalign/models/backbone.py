"""``Backbone``: an open_clip CLIP model with its eval preprocess and tokenizer, ready to embed.

    bb = create_backbone("shapes-tiny")            # fgalign.models
    img = bb.encode_images([pil_a, pil_b])         # (2, D) float32, L2-normalised
    txt = bb.encode_texts(["a red circle"])        # (1, D) float32, L2-normalised
    sims = img @ txt.T                              # cosine similarities

Embedding runs under ``torch.inference_mode`` in batches; on CUDA it autocasts to the
backbone's precision (``fp16``/``bf16``); on CPU it always runs in fp32.
Every call reports ``image_encoder`` / ``text_encoder`` work counters (``fgalign.counters``).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from PIL import Image

from fgalign import counters

_AUTOCAST = {"fp16": torch.float16, "bf16": torch.bfloat16}
TEXT_ROWS = 8  # rows of every text-encoder call are a multiple of this (``encode_texts``)


def resolve_device(device: str) -> str:
    """``"auto"`` → ``"cuda"`` when available else ``"cpu"``; other values pass through."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


@dataclass(eq=False)  # identity hash: per-backbone caches (regions.tags) key on it
class Backbone:
    """A CLIP model and what it needs to embed images and texts.

    Attributes:
        model: the open_clip ``CLIP`` (eval mode, on ``device``).
        preprocess: PIL image → CHW float tensor, the model's own eval transform.
        tokenizer: list[str] → LongTensor (N, context_length).
        embed_dim: D, the joint embedding width.
        image_size: input side in pixels.
        name: the name it was created by.
        device: torch device string.
        precision: ``fp32`` | ``fp16`` | ``bf16`` (autocast dtype, CUDA only).
        info: the backbone's config / provenance (JSON-able; empty for open_clip models).
    """

    model: torch.nn.Module
    preprocess: Callable[[Image.Image], torch.Tensor]
    tokenizer: Callable[[Sequence[str]], torch.Tensor]
    embed_dim: int
    image_size: int
    name: str
    device: str = "cpu"
    precision: str = "fp32"
    info: dict[str, Any] | None = None

    def autocast(self):
        """Autocast context for CUDA fp16/bf16; a no-op on CPU or fp32."""
        dtype = _AUTOCAST.get(self.precision)
        if dtype is not None and self.device.startswith("cuda"):
            return torch.autocast("cuda", dtype=dtype)
        return nullcontext()

    def preprocess_images(self, images: Sequence[Image.Image]) -> torch.Tensor:
        """PIL images → float tensor (N, 3, S, S) via the eval transform."""
        return torch.stack([self.preprocess(im.convert("RGB")) for im in images])

    def encode_images(self, images: Sequence[Image.Image] | torch.Tensor,
                      batch_size: int = 64) -> np.ndarray:
        """L2-normalised image embeddings.

        Args:
            images: PIL images, or an already preprocessed tensor (N, 3, S, S).
            batch_size: images per forward pass.

        Returns:
            float32 array (N, D).
        """
        out = []
        with counters.timed("image_encoder", len(images), model=self.name, device=self.device), \
                torch.inference_mode(), self.autocast():
            for i in range(0, len(images), batch_size):
                chunk = images[i: i + batch_size]
                x = chunk if isinstance(chunk, torch.Tensor) else self.preprocess_images(chunk)
                feats = self.model.encode_image(x.to(self.device), normalize=True)  # (B, D)
                out.append(feats.float().cpu())
        return _cat(out, self.embed_dim)

    def encode_texts(self, texts: Sequence[str], batch_size: int = 256) -> np.ndarray:
        """L2-normalised text embeddings: float32 array (N, D).

        Each call of the text encoder gets a multiple of ``TEXT_ROWS`` rows (the last batch
        padded with empty texts, whose outputs are dropped), so that a text's embedding does
        not depend on how many texts it was encoded with. On CPU, batches of 1, 3 or 7 texts
        take other kernel paths than batches of 8k: about 1e-7 apart in float32, which moves
        some values by one float16 step in the tables; with two embed actors the texts a call
        encodes depend on which actor met them first, and a metric moved by 0.4 points.
        Padded, 60 random subsets of 1-256 of 960 texts gave bit-equal embeddings to one
        batch (shapes-tiny, CPU; not verified on GPU kernels).
        """
        if isinstance(texts, str):
            raise TypeError("encode_texts takes a list of strings, not one string")
        out = []
        with counters.timed("text_encoder", len(texts), model=self.name, device=self.device), \
                torch.inference_mode(), self.autocast():
            for i in range(0, len(texts), batch_size):
                part = list(texts[i: i + batch_size])
                pad = [""] * (-len(part) % TEXT_ROWS)
                tokens = self.tokenizer(part + pad).to(self.device)  # (B + pad, L)
                emb = self.model.encode_text(tokens, normalize=True).float().cpu()
                out.append(emb[:len(part)])
        return _cat(out, self.embed_dim)

    def truncated(self, texts: Sequence[str]) -> np.ndarray:
        """Which texts are longer than the text encoder's context, so the tokenizer cuts them.

        Tokenizes with one more position than the context (``context_length + 1``): a text
        that fits leaves that position padding, a longer one does not. Works for every
        tokenizer that takes ``context_length`` (open_clip's BPE / HF / SigLIP ones and the
        word tokenizer). Returns (N,) bool; all False for a tokenizer without a context length.
        """
        n_ctx = getattr(self.tokenizer, "context_length", None)
        if not texts or not n_ctx:
            return np.zeros(len(texts), bool)
        longer = self.tokenizer(list(texts) + [""], context_length=n_ctx + 1)  # (N + 1, L + 1)
        pad = longer[-1, -1]  # the empty text's last position is padding
        return (longer[:-1, n_ctx] != pad).numpy()


def _cat(chunks: list[torch.Tensor], dim: int) -> np.ndarray:
    if not chunks:
        return np.zeros((0, dim), dtype=np.float32)
    # Re-normalise in fp32 (autocast outputs were normalised in half precision).
    x = torch.nn.functional.normalize(torch.cat(chunks), dim=-1)
    return x.numpy().astype(np.float32, copy=False)
