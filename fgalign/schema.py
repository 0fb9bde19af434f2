"""The data contracts shared by readers, stages, the Ray pipeline and adaptation.

1. Unified row (what readers yield; one row = one task instance; plain JSON-able dict)
   ------------------------------------------------------------------------------------
   uid          str        "{task}:{split}:{native id}" (question_id, pairID, annot_id)
   task         str        "vqa" | "snli_ve" | "vcr"
   split        str        split name
   image_path   str        relative to the dataset root, never escapes it ("" on error)
   text         str        question / hypothesis / VCR question with references rendered
   candidates   list[str]  VQA: [] from the reader (the task adapter fills the answer
                           vocabulary); SNLI-VE: LABELS; VCR: the 4 rendered answers
   target       VQA: list[str] of the 10 human answers ([] when unannotated);
                SNLI-VE / VCR: int label index (-1 when unannotated or on error)
   given_boxes  list[list[float]]  [x1, y1, x2, y2] boxes from the dataset (VCR), else []
   error        str        "" when fine, else "<stage>:<reason>" (e.g. "read:missing_field")
   Task-specific extra columns (present on every row of that task, error rows included):
   VQA      question_id int, image_id int, question_type str, answer_type str
   SNLI-VE  premise str (sentence1), pair_id str
   VCR      annot_id str, object_names list[str], text_refs list[int],
            candidate_refs list[list[int]], rationales list[str],
            rationale_refs list[list[int]], rationale_label int
   Readers never drop a row: a bad row keeps its uid (or a line-number uid) and an error.

2. Stage columns (each stage adds columns, never drops rows; fgalign.experiment.plan)
   ------------------------------------------------------------------------------------
   statements   list[str]        one statement per candidate (tasks adapters)
   boxes        float32 (R, 4)   region proposals in pixels, R ≤ regions.max_regions
   box_scores   float32 (R,)     proposer scores
   box_labels   list[str]        proposer labels ("" when the proposer has none)
   keywords     list[list[str]]  keywords of each statement (per candidate)
   image_emb    float32 (D,)     L2-normalised global image embedding
   region_embs  float32 (R, D)   L2-normalised region crop embeddings
   region_tags  list[str]        tag per region (proposer label or CLIP best tag)
   tag_embs     float32 (R, D)   text embedding of each region tag
   stmt_embs    float32 (C, D)   statement embeddings
   kw_embs      float32 (C, K, D) keyword embeddings, zero-padded; kw_mask bool (C, K)
   truncated_texts  int       texts of the row cut to the text encoder's context (embed)
   scores_<component>  float32 (C,)  per-candidate score of each component
   vscore_<variant>    float32 (C,)  fused score of each variant (SNLI-VE: (3,) class logits);
                       both names come from fgalign.variants.score_column / variant_column
   score        float32 (C,)     fused score;  pred int: argmax candidate index
   no_regions   bool             no valid region: region-based components are the global score
   no_keywords  int              candidates without a keyword: their region_word is global

3. Padded alignment batch (what scoring and adaptation consume; torch tensors)
   ------------------------------------------------------------------------------------
   AlignBatch in fgalign.align: image (B, D), regions (B, R, D), region_mask (B, R),
   tags (B, R, D), stmts (B, C, D), cand_mask (B, C), kws (B, C, K, D), kw_mask (B, C, K),
   label (B,) long (-1 when unknown).
"""
from __future__ import annotations

BUILTIN_TASKS = ("vqa", "snli_ve", "vcr")  # fgalign/tasks/<name>.py; every task: fgalign.tasks.task_names()
STAGE_NAMES = ("regions", "images", "candidates", "keywords", "embed", "score")  # the stage graph, in order
IMAGE_STAGES = ("regions", "images")  # run once per distinct image, not per row
ROW_STAGES = ("candidates", "keywords", "embed", "score")  # run per row (input set)
SNLI_VE_LABELS = ("entailment", "neutral", "contradiction")

COMMON_FIELDS = ("uid", "task", "split", "image_path", "text", "candidates", "target",
                 "given_boxes", "error")
TASK_FIELDS = {
    "vqa": ("question_id", "image_id", "question_type", "answer_type"),
    "snli_ve": ("premise", "pair_id"),
    "vcr": ("annot_id", "object_names", "text_refs", "candidate_refs", "rationales",
            "rationale_refs", "rationale_label"),
}


def make_uid(task: str, split: str, native_id: object) -> str:
    """``"{task}:{split}:{native id}"``."""
    return f"{task}:{split}:{native_id}"
