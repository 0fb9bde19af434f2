"""Contrastive multi-task adaptation over frozen cached embeddings, tested leave-one-task-out.

    store = open_store(cfg, {"vqa/train": path, "vcr/val": path, ...}, target="snli_ve")
    result, fit_result = leave_one_out(cfg, "snli_ve", store)
    result["zero_shot"], result["adapted"], result["delta"]["ci95"]
"""
from fgalign.adapt.data import TargetAccessError, TaskData, TaskStore, read_rows
from fgalign.adapt.losses import candidate_nce, in_batch_nce
from fgalign.adapt.module import AdaptedScorer, ResidualAdapter
from fgalign.adapt.protocol import (
                                    evaluate_target,
                                    leave_one_out,
                                    open_store,
                                    tag_filters,
                                    target_scores,
                                    zero_shot_model,
)
from fgalign.adapt.train import FitResult, fit, instance_scores, save_state, sources_of

__all__ = [
    "AdaptedScorer", "FitResult", "ResidualAdapter", "TargetAccessError", "TaskData",
    "TaskStore", "candidate_nce", "evaluate_target", "fit", "in_batch_nce", "instance_scores",
    "leave_one_out", "open_store", "read_rows", "save_state", "sources_of", "tag_filters",
    "target_scores", "zero_shot_model",
]
