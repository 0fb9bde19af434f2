"""A fourth task in one module: VQAv2's yes/no questions as a two-choice task.

This file is all it takes to add a task (issue 13): a ``Task`` subclass registered by name.
It reuses VQAv2's files (``fgalign.data.vqa.read_vqa``); rows are the yes/no questions
(inferred from the question words, never from the annotation), candidates ``["yes", "no"]``,
the target the majority human answer (-1 when it is neither or unannotated). Statements come
from the rule converter, credit is accuracy, everything else is the ``Task`` default.
"""
from __future__ import annotations

from collections import Counter

from fgalign.config import Config
from fgalign.data.vqa import read_vqa
from fgalign.schema import TASK_FIELDS
from fgalign.tasks import Task, register_task
from fgalign.tasks.vqa.answers import infer_answer_type, majority_answer
from fgalign.tasks.vqa.convert import create_converter

NAME = "vqa_yes_no"
CHOICES = ["yes", "no"]


def read_yes_no(root, split, data_cfg) -> tuple[list[dict], dict[str, int]]:
    """The yes/no questions of a VQAv2 split (error rows kept), and the skipped count."""
    rows, skipped = [], Counter()
    for r in read_vqa(root, split, data_cfg):
        if not r["error"] and infer_answer_type(r["text"]) != "yes/no":
            skipped["not a yes/no question"] += 1
            continue
        major = majority_answer(r["target"]) if r["target"] else ""
        rows.append(dict(r, task=NAME, uid=f"{NAME}:{r['uid'].split(':', 1)[1]}",
                         candidates=list(CHOICES),
                         target=CHOICES.index(major) if major in CHOICES else -1))
    return rows, dict(skipped)


@register_task
class YesNoVQA(Task):
    """VQAv2 yes/no questions, two choices (see the module docstring)."""

    name = NAME
    reader = staticmethod(read_yes_no)
    fields = TASK_FIELDS["vqa"]
    n_choices = 2

    def add_statements(self, cfg: Config, ctx: dict, rows: list[dict]) -> list[dict]:
        convert = create_converter("rule")
        ok = [r for r in rows if not r.get("error")]
        for r in rows:
            r["statements"], r["cand_group"], r["labels"] = [], [], [int(r["target"])]
        for r, stmts in zip(ok, convert([r["text"] for r in ok], [CHOICES] * len(ok))):
            r["statements"], r["cand_group"] = stmts, [0] * len(stmts)
        return rows
