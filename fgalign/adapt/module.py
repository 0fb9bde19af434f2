"""The adaptation module: residual adapters, learnable fusion and τ over frozen embeddings.

It reads an ``AlignBatch`` of cached (frozen) CLIP embeddings, passes the image-side vectors
(image, regions) through one residual adapter and the text-side vectors (statements, keywords,
region tags) through another, re-normalises them, and scores with the method's own component
functions (``fgalign.align.score_components``). What it learns:

    adapters      x + W_up·GELU(W_down·x), W_down (D → rank), W_up (rank → D) zero-init,
                  so the module starts as the identity
    box features  (``adapt.box_features``) region r ← normalise(r + W_2·GELU(W_1·g)) with g the
                  region's normalised box (cx, cy, w, h, area; ``fgalign.adapt.geometry``),
                  W_1 (5 → 32), W_2 (32 → D) zero-init: size and position reach the
                  region-based fine components (region_word, region_sentence); image side only
    fusion        λ_i of each fine component (init: ``adapt.fusion_init`` or ``align.weights``)
    temperature   τ of the attention, as log τ (init: ``adapt.temperature_init`` or ``align.tau``)
    logit scale   multiplies scores into the contrastive logits (loss only; argmax unaffected)

At initialisation ``AdaptedScorer(batch)`` therefore equals the zero-shot fusion of the config.
"""
from __future__ import annotations

import math
from dataclasses import replace

import torch
import torch.nn.functional as F
from torch import nn

from fgalign.adapt.geometry import GEOM_DIM
from fgalign.align import AlignBatch, score_components
from fgalign.align.scores import COMPOSE_KINDS
from fgalign.config import AdaptCfg, AlignCfg
from fgalign.variants import FINE, Variant


class ResidualAdapter(nn.Module):
    """Bottleneck MLP added to its input, output re-normalised; identity at initialisation."""

    def __init__(self, dim: int, rank: int):
        super().__init__()
        self.down = nn.Linear(dim, rank)
        self.up = nn.Linear(rank, dim)
        nn.init.zeros_(self.up.weight)
        nn.init.zeros_(self.up.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (..., D) L2-normalised (or all-zero padding) → (..., D), padding stays zero."""
        real = (x.abs().sum(-1, keepdim=True) > 0).to(x.dtype)  # (..., 1)
        y = x + self.up(F.gelu(self.down(x)))
        return F.normalize(y, dim=-1) * real


class BoxAdapter(nn.Module):
    """Adds an MLP of each region's box geometry to its embedding; identity at initialisation.

    Args:
        dim: embedding width D.
        hidden: MLP width (``BOX_HIDDEN``).
    """

    def __init__(self, dim: int, hidden: int = 32):
        super().__init__()
        self.down = nn.Linear(GEOM_DIM, hidden)
        self.up = nn.Linear(hidden, dim)
        nn.init.zeros_(self.up.weight)
        nn.init.zeros_(self.up.bias)

    def forward(self, regions: torch.Tensor, geom: torch.Tensor) -> torch.Tensor:
        """regions (B, R, D) L2-normalised (zero padding), geom (B, R, 5) → (B, R, D)
        re-normalised; padded regions stay zero."""
        real = (regions.abs().sum(-1, keepdim=True) > 0).to(regions.dtype)  # (B, R, 1)
        y = regions + self.up(F.gelu(self.down(geom)))
        return F.normalize(y, dim=-1) * real


class AdaptedScorer(nn.Module):
    """Scores an ``AlignBatch`` like the zero-shot fusion, with learnable pieces (see module doc).

    Args:
        dim: embedding width D.
        adapt: the ``adapt`` config section (rank, inits).
        align: the ``align`` config section (zero-shot τ and fusion weights).
        components: fine components to fuse (default: those of the ``fusion`` variant,
            ``fgalign.variants``: computed and with a non-zero zero-shot λ, except ``count``,
            ``size``, ``relation``, which adaptation batches cannot compute yet).
        use_adapters: False (or ``adapt.rank == 0``) learns only fusion and temperature;
            ``adapt.sides`` says which side(s) get an adapter. ``adapt.box_features`` adds a
            ``BoxAdapter`` on the regions either way (batches must then carry ``region_geom``).
    """

    def __init__(self, dim: int, adapt: AdaptCfg, align: AlignCfg,
                 components: list[str] | None = None, use_adapters: bool = True):
        super().__init__()
        self.dim = dim
        if components is None:  # the compositional components (fgalign.align.compose) need
            # the score stage's claims and boxes, which adaptation batches do not carry yet:
            # without them they would be the global score again, so they are left out (issue 20)
            components = [c for c in Variant("fusion").components(align)
                          if c not in COMPOSE_KINDS]
        unknown = set(components) - set(FINE)
        if unknown:
            raise ValueError(f"unknown fine components {sorted(unknown)}; known: {FINE}")
        self.components = list(components)
        use_adapters = use_adapters and adapt.rank > 0
        self.image_adapter = ResidualAdapter(dim, adapt.rank) \
            if use_adapters and adapt.sides in ("both", "image") else None
        self.text_adapter = ResidualAdapter(dim, adapt.rank) \
            if use_adapters and adapt.sides in ("both", "text") else None
        self.box_adapter = BoxAdapter(dim) if adapt.box_features else None
        init = [adapt.fusion_init if adapt.fusion_init is not None else align.weights.get(c, 0.0)
                for c in self.components]
        self.fusion = nn.Parameter(torch.tensor(init, dtype=torch.float32))  # (F,)
        tau = adapt.temperature_init if adapt.temperature_init is not None else align.tau
        self.log_tau = nn.Parameter(torch.tensor(math.log(tau)))
        self.log_scale = nn.Parameter(torch.tensor(math.log(adapt.logit_scale_init)))

    @property
    def tau(self) -> torch.Tensor:
        return self.log_tau.exp().clamp(1e-3, 1.0)

    @property
    def logit_scale(self) -> torch.Tensor:
        return self.log_scale.exp().clamp(max=100.0)

    def adapt_batch(self, batch: AlignBatch, text_premise: bool = False) -> AlignBatch:
        """The batch with adapted, re-normalised embeddings (masks and labels unchanged).

        ``text_premise``: the "image" and "regions" are text (SNLI-VE's text-only protocol:
        a caption and its noun phrases stand in for them), so the text adapter maps them and
        the box adapter is not applied (phrases have no box).

        Raises:
            ValueError: the model has box features and an image batch has no ``region_geom``.
        """
        txt = self.text_adapter or nn.Identity()
        img = txt if text_premise else (self.image_adapter or nn.Identity())
        regions = img(batch.regions)
        if self.box_adapter is not None and not text_premise:
            if batch.region_geom is None:
                raise ValueError("adapt.box_features: the batch has no region_geom; open the "
                                 "TaskStore with image_size (fgalign.adapt.open_store does)")
            regions = self.box_adapter(regions, batch.region_geom)
        return replace(batch, image=img(batch.image), regions=regions,
                       tags=txt(batch.tags), stmts=txt(batch.stmts), kws=txt(batch.kws))

    def component_scores(self, batch: AlignBatch, text_premise: bool = False
                         ) -> tuple[dict[str, torch.Tensor], AlignBatch]:
        """``{"global": (B, C), <component>: (B, C)}`` of the adapted batch, and that batch."""
        ab = self.adapt_batch(batch, text_premise)
        return score_components(ab, self.components, tau=self.tau), ab

    def forward(self, batch: AlignBatch) -> tuple[torch.Tensor, AlignBatch]:
        """Fused scores (B, C) (``-inf`` on padded candidates) and the adapted batch."""
        comps, ab = self.component_scores(batch)  # name → (B, C)
        # fgalign.align.fuse casts λ to float; with learnable λ the same sum is written here.
        fused = comps["global"]
        for lam, name in zip(self.fusion, self.components):
            fused = fused + lam * comps[name]
        return fused.masked_fill(~batch.cand_mask, float("-inf")), ab

    def describe(self) -> dict[str, float]:
        """Current learnable scalars, for logs: τ, logit scale and each fusion weight."""
        out = {"tau": self.tau.item(), "logit_scale": self.logit_scale.item()}
        out.update({f"fusion_{c}": w.item() for c, w in zip(self.components, self.fusion)})
        return out
