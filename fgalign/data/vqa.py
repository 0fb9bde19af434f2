"""VQAv2 reader: official questions / annotations JSON → unified rows.

The files and their fields: ``fgalign.data.formats.vqav2`` (read through its ``read_split``).
Images: ``{vqa_images_dir}/{vqa_image_template}`` relative to the root (DataCfg), e.g.
``val2014/COCO_val2014_000000000042.jpg``. Test splits ship no annotations file: their rows
have ``target == []`` and empty ``question_type`` / ``answer_type`` (unlabelled, not errors);
so does an annotation whose ``answers`` is absent, null or empty.

Row columns: the common schema plus question_id, image_id, question_type, answer_type.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from fgalign.config import DataCfg
from fgalign.data.formats import vqav2
from fgalign.data.paths import (
    DataFileError,
    RowError,
    base_row,
    clean_record,
    error_row,
    need,
    need_text,
    safe_relpath,
)
from fgalign.metrics.vqa import id_mismatch

TASK = "vqa"


def _parse(q: Any, ann_by_id: dict | None, split: str, cfg: DataCfg) -> dict[str, Any]:
    if not isinstance(q, dict):
        raise RowError("malformed_record")
    q = clean_record(q)
    qid = need(q, "question_id", int)
    row = base_row(TASK, split, qid)
    row["question_id"] = qid
    row["text"] = need_text(q, "question")
    image_id = need(q, "image_id", int)
    row["image_id"] = image_id
    if ann_by_id is not None:
        ann = ann_by_id.get(qid)
        if ann is None:  # "7" in the annotations for question 7 is another type, not absent
            raise RowError("annotation_id_type" if str(qid) in ann_by_id else "missing_annotation")
        if not isinstance(ann, dict):
            raise RowError("malformed_record")
        ann = clean_record(ann)
        answers = ann.get("answers") or []  # absent / null / []: unlabelled question
        if not isinstance(answers, list) or not all(
                isinstance(a, dict) and isinstance(a.get("answer"), str) for a in answers):
            raise RowError("bad_field")
        row["target"] = [a["answer"] for a in answers]
        if answers:
            row["question_type"] = need(ann, "question_type", str)
            row["answer_type"] = need(ann, "answer_type", str)
    images_dir = cfg.vqa_images_dir.format(split=split)
    file_name = cfg.vqa_image_template.format(split=split, image_id=image_id)
    row["image_path"] = safe_relpath(images_dir, file_name) if images_dir else safe_relpath(file_name)
    return row


def _check_id_types(questions: list, ann_by_id: dict, q_path: Path, a_path: Path) -> None:
    """Refuse an annotations file none of whose ids matches a question id except as text
    (``"7"`` for 7): every row would otherwise fail as unannotated, hiding the cause."""
    qids = {q["question_id"] for q in questions if isinstance(q, dict)
            and isinstance(q.get("question_id"), (int, str))}
    if qids and ann_by_id and not qids & set(ann_by_id) \
            and {str(q) for q in qids} & {str(a) for a in ann_by_id}:
        raise DataFileError(f"{a_path} does not annotate {q_path.name}: "
                            + id_mismatch(set(ann_by_id), qids, "annotations", "questions"))


def read_vqa(root: str | Path, split: str, data_cfg: DataCfg | None = None) -> list[dict]:
    """Read one VQAv2 split into unified rows (one per question, in file order).

    Raises:
        FileNotFoundError: the questions file is missing.
        DataFileError: a file is not JSON or lacks its top-level list, or the annotations'
            question ids match the questions' only as text (another type: ``"7"`` vs 7).
    """
    cfg = data_cfg or DataCfg()
    files = vqav2.read_split(root, split)
    questions, ann_by_id = files.questions, None
    if files.annotations is not None:
        ann_by_id = {a["question_id"]: a for a in files.annotations
                     if isinstance(a, dict) and "question_id" in a}
        _check_id_types(questions, ann_by_id, files.questions_path, files.annotations_path)
    rows = []
    for i, q in enumerate(questions):
        try:
            rows.append(_parse(q, ann_by_id, split, cfg))
        except RowError as e:
            qid = q.get("question_id") if isinstance(q, dict) else None
            native = qid if isinstance(qid, (int, str)) and qid != "" else f"record{i}"
            partial = {"question_id": qid if isinstance(qid, int) else -1}
            if isinstance(q, dict):
                partial["text"] = q.get("question") if isinstance(q.get("question"), str) else ""
                img = q.get("image_id")
                partial["image_id"] = img if isinstance(img, int) else -1
            rows.append(error_row(TASK, split, native, e.reason, partial))
    return rows
