"""``fgalign eval-vqa``: official VQA accuracy of a results file (GT-Vision-Lab/VQA master rules).

    fgalign eval-vqa --questions v2_OpenEnded_mscoco_val2014_questions.json \
        --annotations v2_mscoco_val2014_annotations.json --results results.json --json
    {"overall": 100.0, "perAnswerType": {...}, "perQuestionType": {...}}

Exit status 1 with a message naming the ids when the results' question ids differ from the
annotations' (the official tool refuses such files too); 2 when a file cannot be read.
``--subset`` scores only the annotated questions the results answer (the results of a
``data.limit`` run) and says how many of the file's questions that is.
"""
from __future__ import annotations

import argparse
import json
import sys


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("eval-vqa", help="official VQA accuracy of a results file")
    p.add_argument("--questions", required=True, help="v2_OpenEnded_mscoco_<split>_questions.json")
    p.add_argument("--annotations", required=True, help="v2_mscoco_<split>_annotations.json")
    p.add_argument("--results", required=True, help="[{question_id, answer}] results JSON")
    p.add_argument("--json", action="store_true", help="print the accuracies as JSON")
    p.add_argument("--subset", action="store_true",
                   help="score only the questions the results answer (e.g. a data.limit run)")
    p.set_defaults(func=run)


def _load(path: str):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except FileNotFoundError:
        raise FileNotFoundError(f"file not found: {path}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{path} is not valid JSON: {e}") from None


def _ids(results, annotations) -> tuple[set, set]:
    """(question ids the results answer, question ids annotated); empty when malformed."""
    anns = annotations.get("annotations") if isinstance(annotations, dict) else annotations
    ids = lambda recs: {r.get("question_id") for r in recs if isinstance(r, dict)} \
        if isinstance(recs, list) else set()
    return ids(results), ids(anns)


def run(args: argparse.Namespace) -> int:
    """Evaluate and print ``{"overall", "perAnswerType", "perQuestionType"}`` (×100, 2 dp)."""
    from fgalign.metrics import vqa_evaluate

    try:
        questions, annotations, results = (_load(p) for p in
                                           (args.questions, args.annotations, args.results))
    except ValueError as e:
        print(f"fgalign eval-vqa: error: {e}", file=sys.stderr)
        return 2
    try:
        acc = vqa_evaluate(questions, annotations, results, subset=args.subset)
    except ValueError as e:
        answered, annotated = _ids(results, annotations)
        partial = not args.subset and answered and answered < annotated
        hint = "; pass --subset to score only the questions the results answer" if partial else ""
        print(f"fgalign eval-vqa: error: {e}{hint}", file=sys.stderr)
        return 1
    if args.subset:
        answered, annotated = _ids(results, annotations)
        print(f"--subset: scoring {len(answered)} of the {len(annotated)} questions of "
              f"{args.annotations}", file=sys.stderr)
    if args.json:
        print(json.dumps(acc))
        return 0
    print(f"Overall Accuracy is: {acc['overall']:.2f}")
    print("Per Answer Type Accuracy is the following:")
    for name, value in acc["perAnswerType"].items():
        print(f"  {name} : {value:.2f}")
    print("Per Question Type Accuracy is the following:")
    for name, value in acc["perQuestionType"].items():
        print(f"  {name} : {value:.2f}")
    return 0
