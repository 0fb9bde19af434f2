"""Evaluation metrics: official VQA accuracy, SNLI-VE / VCR accuracy, paired bootstrap."""
from fgalign.metrics.bootstrap import paired_bootstrap
from fgalign.metrics.classification import accuracy, per_class_accuracy, vcr_accuracy
from fgalign.metrics.vqa import normalize_answer, vqa_accuracy, vqa_evaluate

__all__ = ["accuracy", "normalize_answer", "paired_bootstrap", "per_class_accuracy",
           "vcr_accuracy", "vqa_accuracy", "vqa_evaluate"]
