"""VQAv2: the official questions / annotations JSON files and COCO image names.

Source: https://visualqa.org/download.html (VQAv2, Goyal et al. 2017), the files
``v2_OpenEnded_mscoco_{split}_questions.json`` and ``v2_mscoco_{split}_annotations.json``
(in the root, or in the ``Questions/`` / ``Annotations/`` folders of the official zips)::

    questions:   {"info": {...}, "license": {...}, "data_type": "mscoco", "data_subtype": split,
                  "task_type": "Open-Ended",
                  "questions": [{"image_id": int, "question": str, "question_id": int}, ...]}
    annotations: {"info": {...}, "license": {...}, "data_type": "mscoco", "data_subtype": split,
                  "annotations": [{"question_id": int, "image_id": int, "question_type": str,
                                   "answer_type": "yes/no" | "number" | "other",
                                   "multiple_choice_answer": str,
                                   "answers": [{"answer": str, "answer_confidence":
                                                "yes" | "maybe" | "no", "answer_id": 1..10}]
                                               x 10}, ...]}

Test splits ship no annotations file. Images (COCO): ``{split}/COCO_{split}_{image_id:012d}.jpg``
(test-dev2015 uses the test2015 images). ``question_type`` is one of the official prefixes
(``question_types()``, from ``fgalign/assets/vqav2_question_types.txt``, most frequent first).

    write_split(root, "val2014", questions, annotations, description="my set")
    read_split(root, "val2014").questions        # the "questions" list, file order
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from fgalign.data.formats.jsonio import COMPACT, JsonStyle, record, write_json
from fgalign.data.paths import DataFileError, load_json

QUESTIONS_FILE = "v2_OpenEnded_mscoco_{split}_questions.json"
ANNOTATIONS_FILE = "v2_mscoco_{split}_annotations.json"
QUESTIONS_DIR, ANNOTATIONS_DIR = "Questions", "Annotations"  # the official zips' folders
IMAGES_DIR = "{split}"
N_ANSWERS = 10
QUESTION_FIELDS = ("image_id", "question", "question_id")
ANNOTATION_FIELDS = ("question_id", "image_id", "question_type", "answer_type",
                     "multiple_choice_answer", "answers")
ANSWER_FIELDS = ("answer", "answer_confidence", "answer_id")
# top-level keys besides the record list, in the order written (bytes only; see write_split)
QUESTIONS_HEAD = ("info", "license", "data_type", "data_subtype", "task_type")
ANNOTATIONS_HEAD = ("info", "license", "data_type", "data_subtype")


def image_template(ext: str = "jpg") -> str:
    """COCO's image file name, a ``str.format`` template of ``split`` and ``image_id``
    (``COCO_val2014_000000000042.jpg``); ``ext`` for a set stored in another format."""
    return "COCO_{split}_{image_id:012d}." + ext


IMAGE_TEMPLATE = image_template()


def image_relpath(split: str, image_id: int) -> str:
    """``{split}/COCO_{split}_{image_id:012d}.jpg``: an image relative to the dataset root."""
    return f"{IMAGES_DIR.format(split=split)}/{IMAGE_TEMPLATE.format(split=split, image_id=image_id)}"


def split_files(root: str | Path, split: str) -> tuple[Path, Path]:
    """Paths of the questions and annotations files: in ``root``, else in the official
    ``Questions/`` / ``Annotations/`` sub-folder when the file is there (neither need exist)."""
    root = Path(root)
    out = []
    for name, sub in ((QUESTIONS_FILE, QUESTIONS_DIR), (ANNOTATIONS_FILE, ANNOTATIONS_DIR)):
        name = name.format(split=split)
        path = root / name
        if not path.is_file() and (root / sub / name).is_file():
            path = root / sub / name
        out.append(path)
    return out[0], out[1]


@functools.lru_cache(maxsize=1)
def question_types() -> tuple[str, ...]:
    """The official question-type prefixes (values of ``question_type``), most frequent first."""
    text = resources.files("fgalign").joinpath("assets/vqav2_question_types.txt").read_text()
    return tuple(t.strip() for t in text.splitlines() if t.strip())


def question(question_id: int, image_id: int, text: str) -> dict[str, Any]:
    """One entry of the ``questions`` list."""
    return record(QUESTION_FIELDS, image_id=image_id, question=text, question_id=question_id)


def annotation(question_id: int, image_id: int, question_type: str, answer_type: str,
               multiple_choice_answer: str, answers: list[str],
               confidences: list[str] | None = None) -> dict[str, Any]:
    """One entry of the ``annotations`` list; ``answers``: the 10 human answers (``answer_id``
    1..10), ``confidences`` their ``answer_confidence`` (default all "yes")."""
    conf = confidences or ["yes"] * len(answers)
    return record(ANNOTATION_FIELDS, question_id=question_id, image_id=image_id,
                  question_type=question_type, answer_type=answer_type,
                  multiple_choice_answer=multiple_choice_answer,
                  answers=[record(ANSWER_FIELDS, answer=a, answer_confidence=c, answer_id=j + 1)
                           for j, (a, c) in enumerate(zip(answers, conf, strict=True))])


def _head(split: str, description: str, keys: tuple[str, ...]) -> dict[str, Any]:
    values = {"info": {"description": description, "version": "2.0"}, "license": {},
              "data_type": "mscoco", "data_subtype": split, "task_type": "Open-Ended"}
    return {k: values[k] for k in keys}


def write_split(root: str | Path, split: str, questions: list[dict], annotations: list[dict],
                *, description: str, style: JsonStyle = COMPACT,
                questions_head: tuple[str, ...] = QUESTIONS_HEAD,
                annotations_head: tuple[str, ...] = ANNOTATIONS_HEAD) -> tuple[Path, Path]:
    """Write ``split``'s questions and annotations files in ``root``; returns their paths.

    Args:
        questions, annotations: the entries (``question`` / ``annotation``), in file order.
        description: ``info.description``.
        style: the JSON byte layout (``jsonio.SORTED`` for the synthetic world).
        questions_head, annotations_head: which top-level keys (of ``QUESTIONS_HEAD``) precede
            the list, in this order; only the bytes of sets written before this module depend
            on it (the photo sets'), the content is the same.
    """
    root = Path(root)
    q_path = write_json(root / QUESTIONS_FILE.format(split=split),
                        {**_head(split, description, questions_head), "questions": questions},
                        style)
    a_path = write_json(root / ANNOTATIONS_FILE.format(split=split),
                        {**_head(split, description, annotations_head),
                         "annotations": annotations}, style)
    return q_path, a_path


@dataclass(frozen=True)
class VQAv2Split:
    """The records of one split as stored: ``annotations`` None when the split has no
    annotations file (test splits)."""

    questions: list
    annotations: list | None
    questions_path: Path
    annotations_path: Path


def _records(data: Any, key: str, path: Path) -> list:
    if not isinstance(data, dict) or not isinstance(data.get(key), list):
        raise DataFileError(f"{path}: expected a JSON object with a {key!r} list")
    return data[key]


def read_split(root: str | Path, split: str) -> VQAv2Split:
    """The ``questions`` and ``annotations`` lists of ``split`` (records unchecked).

    Raises:
        FileNotFoundError: the questions file is missing (naming it).
        DataFileError: a file is not JSON or lacks its top-level list.
    """
    q_path, a_path = split_files(root, split)
    questions = _records(load_json(q_path), "questions", q_path)
    annotations = (_records(load_json(a_path), "annotations", a_path)
                   if a_path.is_file() else None)
    return VQAv2Split(questions, annotations, q_path, a_path)
