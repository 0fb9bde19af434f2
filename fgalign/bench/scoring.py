"""Roofline of region-word scoring: ``score_components`` + ``fuse`` vs bare matmuls, same shapes.

Scoring is a handful of batched contractions over L2-normalised embeddings plus masking and
softmaxes. Its floor is the time of the contractions alone, so the ratio

    (matmul FLOPs / scoring time) / (matmul FLOPs / bare-matmul time) = t_matmul / t_scoring

says how close scoring runs to this machine's matmul rate for exactly its shapes (target
≥ 0.5). The contractions (B rows, C candidates, K keywords, R regions, D dims)::

    global           (B, 1, D)   @ (B, D, R=C)   cos(image, statement)
    region_word      (B, C·K, D) @ (B, D, R)     keyword × region
    region_sentence  (B, C, D)   @ (B, D, R)     statement × region
    tag_text         (B, C, D)   @ (B, D, R)     statement × region tag
"""
from __future__ import annotations

import torch

from fgalign.align import AlignBatch, fuse, score_components
from fgalign.bench.core import Measurement, best_time
from fgalign.variants import FINE


def random_batch(b: int, c: int, k: int, r: int, d: int, seed: int = 0) -> AlignBatch:
    """A padded batch of unit vectors with realistic masks (some padding on every axis)."""
    g = torch.Generator().manual_seed(seed)

    def unit(*shape: int) -> torch.Tensor:
        x = torch.randn(*shape, generator=g)
        return x / x.norm(dim=-1, keepdim=True)

    def mask(*shape: int, p: float) -> torch.Tensor:
        m = torch.rand(*shape, generator=g) < p
        m[..., 0] = True  # at least one valid entry per row
        return m

    return AlignBatch(image=unit(b, d), regions=unit(b, r, d), region_mask=mask(b, r, p=0.8),
                      tags=unit(b, r, d), stmts=unit(b, c, d), cand_mask=mask(b, c, p=0.9),
                      kws=unit(b, c, k, d), kw_mask=mask(b, c, k, p=0.6),
                      label=torch.zeros(b, dtype=torch.long))


def matmul_flops(b: int, c: int, k: int, r: int, d: int) -> int:
    """Multiply-add FLOPs of the four contractions (2 per multiply-add)."""
    return 2 * b * d * (c + c * k * r + 2 * c * r)


def bench_scoring_roofline(b: int = 64, c: int = 100, k: int = 8, r: int = 8, d: int = 512,
                           tau: float = 0.05, repeats: int = 5,
                           threads: int | None = None) -> Measurement:
    """Scoring throughput vs bare ``torch.bmm`` of the same shapes, on the same threads.

    Args:
        b, c, k, r, d: batch rows, candidates, keywords, regions, embedding width.
        tau: attention temperature.
        repeats: timed repetitions (the minimum is kept).
        threads: torch threads for both sides (None: leave as is).
    """
    old = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        batch = random_batch(b, c, k, r, d)
        weights = {"region_word": 1.0, "region_sentence": 1.0, "tag_text": 0.5}

        def score() -> torch.Tensor:
            with torch.inference_mode():
                comps = score_components(batch, list(FINE), tau=tau)  # each (B, C)
                return fuse(comps, weights, batch.cand_mask)

        q_img = batch.image[:, None, :]  # (B, 1, D)
        kws_flat = batch.kws.reshape(b, c * k, d)  # (B, C·K, D)
        # Transposed views: faster here than contiguous (B, D, N) copies (measured).
        stmts_t, regions_t, tags_t = (x.transpose(1, 2) for x in
                                      (batch.stmts, batch.regions, batch.tags))  # (B, D, ·)

        def matmuls() -> None:
            with torch.inference_mode():
                torch.bmm(q_img, stmts_t)  # (B, 1, C)
                torch.bmm(kws_flat, regions_t)  # (B, C·K, R)
                torch.bmm(batch.stmts, regions_t)  # (B, C, R)
                torch.bmm(batch.stmts, tags_t)  # (B, C, R)

        t_score = best_time(score, repeats)
        t_mm = best_time(matmuls, repeats)
        flops = matmul_flops(b, c, k, r, d)
        n = 1024
        big = torch.randn(n, n)
        t_peak = best_time(lambda: big @ big, repeats)
        threads_used = torch.get_num_threads()
    finally:
        torch.set_num_threads(old)
    gf = lambda t: flops / t / 1e9
    return Measurement(
        "scoring_roofline", "Region-word scoring / bare matmul rate (same shapes)",
        t_mm / t_score, ">= 0.5",
        detail=(f"scoring {gf(t_score):.2f} GFLOP/s ({b / t_score:.0f} rows/s), matmul "
                f"{gf(t_mm):.2f} GFLOP/s; B={b} C={c} K={k} R={r} D={d}, {threads_used} threads; "
                f"1024² GEMM {2 * n**3 / t_peak / 1e9:.1f} GFLOP/s"),
        extra={"t_scoring_s": t_score, "t_matmul_s": t_mm, "flops": flops,
               "shape": {"B": b, "C": c, "K": k, "R": r, "D": d}, "threads": threads_used,
               "gemm1024_gflops": 2 * n**3 / t_peak / 1e9})
