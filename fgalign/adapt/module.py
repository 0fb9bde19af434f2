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
    fusion        λ_i of each fine component (init: ``adapt.fusion_init`` or ``align.weights``),
                  the compositional ``count`` / ``size`` / ``relation`` included: their δ
                  (``compose_delta``, from the frozen boxes and claims) is added to the adapted
                  global score, so only their λ is learned; ``adapt.fusion_anchor_weight``
                  pulls every λ toward its zero-shot value (``fusion_anchor``).
                  ``adapt.compose_delta_only``: a compositional component is global + δ and
                  global where it has no evidence, so its λ also re-weights the global score on
                  every row without evidence; with this option the global copy keeps λ⁰ and
                  the learned λ weighs δ alone (equal at initialisation)
    pairwise      (``adapt.pairwise``) a learned score over pairs of keywords of a statement and
                  the relative geometry of the regions they attend to (``PairwiseRegionTerm``),
                  added to the fused score; its output layer is zero-init, so it starts at 0
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

from fgalign.adapt.geometry import GEOM_DIM, PAIR_DIM, pair_geometry
from fgalign.align import AlignBatch, score_components
from fgalign.align.scores import COMPOSE_KINDS, region_word_alpha
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


class PairwiseRegionTerm(nn.Module):
    """A learned statement score over pairs of its keywords and the regions they attend to.

    For a statement with keywords k₁ ≠ k₂ (ordered pairs, both valid) and region-word
    attentions α_k (``fgalign.align.scores.region_word_alpha`` on the adapted embeddings, the
    learned τ), the pair's expected geometry is

        e(k₁, k₂) = Σ_{r₁, r₂} α_k₁(r₁)·α_k₂(r₂)·g(r₁, r₂)  ⊕  Σ_r α_k₁(r)·α_k₂(r)

    with g = (dx, dy, log area ratio, IoU) of the two boxes (``fgalign.adapt.geometry.
    pair_geometry``) and the last number the chance both attend to the same region. The pair
    scores ``w·GELU(W_g·e + W_s·s + W_1·k₁ + W_2·k₂ + b)`` (s: the statement embedding, which
    carries the relation word; k₁, k₂: the keyword embeddings, whose order carries the
    arguments'), and the term is the mean over the statement's pairs: 0 for a statement with
    fewer than two keywords, a row with fewer than two regions, or a batch without
    ``region_geom``. ``w`` and its bias are zero-init, so the term starts at exactly 0.

    Args:
        dim: embedding width D.
        hidden: width H of the pair MLP.
    """

    def __init__(self, dim: int, hidden: int = 32):
        super().__init__()
        self.geom = nn.Linear(PAIR_DIM, hidden)
        self.stmt = nn.Linear(dim, hidden, bias=False)
        self.first = nn.Linear(dim, hidden, bias=False)
        self.second = nn.Linear(dim, hidden, bias=False)
        self.out = nn.Linear(hidden, 1)
        nn.init.zeros_(self.out.weight)
        nn.init.zeros_(self.out.bias)

    def forward(self, batch: AlignBatch, tau: torch.Tensor | float) -> torch.Tensor:
        """(B, C) pairwise term of each candidate (0 on padded candidates)."""
        b, c = batch.cand_mask.shape
        if batch.region_geom is None:
            return batch.stmts.new_zeros((b, c))
        _, alpha = region_word_alpha(batch, tau)  # (B, C, K, R)
        g = pair_geometry(batch.region_geom)  # (B, R, R, 4)
        e = torch.einsum("bcls,bcksf->bcklf", alpha,
                         torch.einsum("bckr,brsf->bcksf", alpha, g))  # (B, C, K, K, 4)
        same = torch.einsum("bckr,bclr->bckl", alpha, alpha)[..., None]  # (B, C, K, K, 1)
        h = (self.geom(torch.cat([e, same], -1))
             + self.stmt(batch.stmts)[:, :, None, None, :]
             + self.first(batch.kws)[:, :, :, None, :]
             + self.second(batch.kws)[:, :, None, :, :])  # (B, C, K, K, H)
        s = self.out(F.gelu(h)).squeeze(-1)  # (B, C, K, K)
        k = batch.kw_mask.shape[-1]
        eye = torch.eye(k, dtype=torch.bool, device=s.device)
        pair = batch.kw_mask[..., :, None] & batch.kw_mask[..., None, :] & ~eye  # (B, C, K, K)
        pair = pair & (batch.region_mask.sum(-1) >= 2)[:, None, None, None] \
            & batch.cand_mask[:, :, None, None]
        n = pair.sum((-1, -2))  # (B, C)
        return (s * pair).sum((-1, -2)) / n.clamp(min=1)


class AdaptedScorer(nn.Module):
    """Scores an ``AlignBatch`` like the zero-shot fusion, with learnable pieces (see module doc).

    Args:
        dim: embedding width D.
        adapt: the ``adapt`` config section (rank, inits).
        align: the ``align`` config section (zero-shot τ and fusion weights).
        components: fine components to fuse (default: those of the ``fusion`` variant,
            ``fgalign.variants``: computed and with a non-zero zero-shot λ; ``count``,
            ``size``, ``relation`` only with ``adapt.compose``: they read the items'
            ``compose_delta``, which ``fgalign.adapt.data`` computes as the score stage does).
        use_adapters: False (or ``adapt.rank == 0``) learns only fusion and temperature;
            ``adapt.sides`` says which side(s) get an adapter. ``adapt.box_features`` adds a
            ``BoxAdapter`` on the regions either way, ``adapt.pairwise`` a
            ``PairwiseRegionTerm`` (batches must then carry ``region_geom``).
    """

    def __init__(self, dim: int, adapt: AdaptCfg, align: AlignCfg,
                 components: list[str] | None = None, use_adapters: bool = True):
        super().__init__()
        self.dim = dim
        if components is None:  # adapt.compose=false: the fusion of before issue 20
            components = [c for c in Variant("fusion").components(align)
                          if adapt.compose or c not in COMPOSE_KINDS]
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
        zero_shot = [align.weights.get(c, 0.0) for c in self.components]
        self.register_buffer("fusion_zero_shot", torch.tensor(zero_shot, dtype=torch.float32),
                             persistent=False)
        self.pairwise = PairwiseRegionTerm(dim, adapt.pairwise_hidden) if adapt.pairwise \
            else None
        self.compose_delta_only = adapt.compose_delta_only
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

    def fusion_anchor(self) -> torch.Tensor:
        """() Σ_i (λ_i − λ_i⁰)², λ⁰ the config's zero-shot weights (``align.weights``)."""
        return (self.fusion - self.fusion_zero_shot).pow(2).sum()

    def pair_term(self, ab: AlignBatch) -> torch.Tensor | None:
        """(B, C) pairwise term of an adapted image batch, or None without ``adapt.pairwise``."""
        return None if self.pairwise is None else self.pairwise(ab, self.tau)

    def forward(self, batch: AlignBatch) -> tuple[torch.Tensor, AlignBatch]:
        """Fused scores (B, C) (``-inf`` on padded candidates) and the adapted batch."""
        comps, ab = self.component_scores(batch)  # name → (B, C)
        # fgalign.align.fuse casts λ to float; with learnable λ the same sum is written here.
        fused = comps["global"]
        for lam, lam0, name in zip(self.fusion, self.fusion_zero_shot, self.components):
            if self.compose_delta_only and name in COMPOSE_KINDS:
                # component = global + δ (δ = 0 without evidence): its global copy keeps the
                # zero-shot λ⁰, only the evidence's weight is learned
                fused = fused + lam0 * comps["global"] + lam * (comps[name] - comps["global"])
            else:
                fused = fused + lam * comps[name]
        pair = self.pair_term(ab)
        if pair is not None:
            fused = fused + pair
        return fused.masked_fill(~batch.cand_mask, float("-inf")), ab

    def describe(self) -> dict[str, float]:
        """Current learnable scalars, for logs: τ, logit scale and each fusion weight."""
        out = {"tau": self.tau.item(), "logit_scale": self.logit_scale.item()}
        out.update({f"fusion_{c}": w.item() for c, w in zip(self.components, self.fusion)})
        return out
