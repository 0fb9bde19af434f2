"""Contrastive losses of the adaptation: InfoNCE over candidates, plus in-batch image-statement.

Both are cross-entropies over similarity logits (InfoNCE). The candidate loss contrasts the
correct candidate of an instance with the other candidates of the *same* instance, with a soft
target where a task gives partial credit (VQA: min(#humans/3, 1)). The in-batch loss contrasts
each image with the true statement of every other instance in the batch (CLIP's symmetric loss),
masking pairs that are not real negatives (the same image, or the same statement text vector).

open_clip's ``ClipLoss`` computes the same symmetric cross-entropy but has no way to mask false
negatives; questions about one image often share a batch here, so the masked form is written out.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

NEG = -1e4  # logit given to masked entries (finite: keeps gradients free of NaN)


def candidate_nce(scores: torch.Tensor, cand_mask: torch.Tensor, target: torch.Tensor,
                  logit_scale: torch.Tensor) -> torch.Tensor:
    """InfoNCE over each instance's own candidates.

    Args:
        scores: (B, C) fused scores of every candidate.
        cand_mask: (B, C) bool, True for real (non-padding) candidates.
        target: (B, C) non-negative credit of each candidate (one-hot for a label; VQA accuracy
            for VQA). Rows whose credit sums to 0 (no correct candidate offered) are skipped.
        logit_scale: () multiplies scores into logits.

    Returns:
        () mean cross-entropy over rows with a correct candidate; 0 when there is none.
    """
    # padded candidates may hold -inf: zero them *before* scaling (0·-inf would poison the
    # gradient of the scale with NaN), then mask them out of the softmax
    logits = (scores.masked_fill(~cand_mask, 0.0) * logit_scale).masked_fill(~cand_mask, NEG)
    credit = target * cand_mask  # (B, C)
    total = credit.sum(dim=1)  # (B,)
    keep = total > 0
    if not bool(keep.any()):
        return scores.sum() * 0.0
    dist = credit[keep] / total[keep, None]  # (B', C) target distribution
    logp = F.log_softmax(logits[keep], dim=1)  # (B', C)
    return -(dist * logp).sum(dim=1).mean()


def in_batch_nce(image: torch.Tensor, stmt: torch.Tensor, valid: torch.Tensor,
                 logit_scale: torch.Tensor, same_tol: float = 1e-6) -> torch.Tensor:
    """CLIP's symmetric image↔statement InfoNCE across the batch, false negatives masked.

    Args:
        image: (B, D) L2-normalised image embeddings.
        stmt: (B, D) L2-normalised embedding of each instance's true statement.
        valid: (B,) bool, rows that have a true statement (others take no part).
        logit_scale: () multiplies cosines into logits.
        same_tol: two images (or statements) closer than this in squared distance are the same,
            so their off-diagonal pair is not used as a negative.

    Returns:
        () mean of the image→text and text→image cross-entropies; 0 with fewer than 2 rows.
    """
    image, stmt = image[valid], stmt[valid]  # (N, D)
    n = image.shape[0]
    if n < 2:
        return image.sum() * 0.0
    logits = logit_scale * image @ stmt.T  # (N, N)
    eye = torch.eye(n, dtype=torch.bool, device=image.device)
    with torch.no_grad():
        same_img = torch.cdist(image, image).pow(2) < same_tol  # (N, N)
        same_txt = torch.cdist(stmt, stmt).pow(2) < same_tol  # (N, N)
        false_neg = (same_img | same_txt) & ~eye
    logits = logits.masked_fill(false_neg, NEG)
    labels = torch.arange(n, device=image.device)
    return 0.5 * (F.cross_entropy(logits, labels) + F.cross_entropy(logits.T, labels))
