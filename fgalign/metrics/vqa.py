"""Official VQA accuracy, re-implemented to agree with the official evaluator to 2 decimals.

Reference: GT-Vision-Lab/VQA ``PythonEvaluationTools/vqaEvaluation/vqaEval.py``, current
master (the version that GT-Vision-Lab/VQA issue #14 quotes). Its algorithm, per question:

1. ``\\n`` and ``\\t`` → space, then ``strip()``, on the result answer and on every human answer.
2. **Only when the ten human answers are not all identical** (after step 1), both the human
   answers and the result answer are normalised: ``processPunctuation`` then
   ``processDigitArticle``. When they are unanimous nothing is normalised, so an answer must
   match them exactly (OCR-style answers stay verbatim; "Red." against ten "red" scores 0).
3. For each human answer h: acc_h = min(1, #(other human answers == result) / 3), where
   "other" drops every answer record equal to h (records are whole dicts, so equal
   records are all dropped, exactly as the official list comprehension does).
   The question's accuracy is the mean of acc_h (not rounded).
4. overall / per answer type / per question type = round(100 * mean, 2).

Normalisation details kept verbatim in behaviour: the punctuation rule tests the *input*
text (``p + " "`` or ``" " + p`` present, or a digit,digit comma anywhere → delete ``p``,
else replace ``p`` by a space); the period regex ``(?!<=\\d)(\\.)(?!\\d)`` (a look-*ahead*
typo, so it removes every "." not followed by a digit); ``periodStrip.sub("", text,
re.UNICODE)`` passes ``re.UNICODE`` (= 32) as the *count*, so at most 32 periods go;
lower-casing and whitespace splitting, number words "none".."ten" → digits, articles
a/an/the dropped, then the contractions table word by word.

Other copies differ and give other numbers: LAVIS (``lavis/common/vqa_tools/vqa_eval.py``)
and older GT-Vision-Lab revisions always normalise the result answer but only
punctuation-normalise the human answers (and only when they disagree); the oldest revision
also scores per-type averages with the last ``acc`` instead of the question mean, and uses a
different punctuation list (with ``:`` and ``'``, without ``-``, ``!``, ``{``, ``}``).
"""
from __future__ import annotations

import copy
import re
from typing import Any

CONTRACTIONS = {
    "aint": "ain't", "arent": "aren't", "cant": "can't", "couldve": "could've",
    "couldnt": "couldn't", "couldn'tve": "couldn't've", "couldnt've": "couldn't've",
    "didnt": "didn't", "doesnt": "doesn't", "dont": "don't", "hadnt": "hadn't",
    "hadnt've": "hadn't've", "hadn'tve": "hadn't've", "hasnt": "hasn't", "havent": "haven't",
    "hed": "he'd", "hed've": "he'd've", "he'dve": "he'd've", "hes": "he's", "howd": "how'd",
    "howll": "how'll", "hows": "how's", "Id've": "I'd've", "I'dve": "I'd've", "Im": "I'm",
    "Ive": "I've", "isnt": "isn't", "itd": "it'd", "itd've": "it'd've", "it'dve": "it'd've",
    "itll": "it'll", "let's": "let's", "maam": "ma'am", "mightnt": "mightn't",
    "mightnt've": "mightn't've", "mightn'tve": "mightn't've", "mightve": "might've",
    "mustnt": "mustn't", "mustve": "must've", "neednt": "needn't", "notve": "not've",
    "oclock": "o'clock", "oughtnt": "oughtn't", "ow's'at": "'ow's'at", "'ows'at": "'ow's'at",
    "'ow'sat": "'ow's'at", "shant": "shan't", "shed've": "she'd've", "she'dve": "she'd've",
    "she's": "she's", "shouldve": "should've", "shouldnt": "shouldn't",
    "shouldnt've": "shouldn't've", "shouldn'tve": "shouldn't've",
    "somebody'd": "somebodyd",  # sic: the official table maps this one backwards
    "somebodyd've": "somebody'd've", "somebody'dve": "somebody'd've",
    "somebodyll": "somebody'll", "somebodys": "somebody's", "someoned": "someone'd",
    "someoned've": "someone'd've", "someone'dve": "someone'd've", "someonell": "someone'll",
    "someones": "someone's", "somethingd": "something'd", "somethingd've": "something'd've",
    "something'dve": "something'd've", "somethingll": "something'll", "thats": "that's",
    "thered": "there'd", "thered've": "there'd've", "there'dve": "there'd've",
    "therere": "there're", "theres": "there's", "theyd": "they'd", "theyd've": "they'd've",
    "they'dve": "they'd've", "theyll": "they'll", "theyre": "they're", "theyve": "they've",
    "twas": "'twas", "wasnt": "wasn't", "wed've": "we'd've", "we'dve": "we'd've",
    "weve": "we've", "werent": "weren't", "whatll": "what'll", "whatre": "what're",
    "whats": "what's", "whatve": "what've", "whens": "when's", "whered": "where'd",
    "wheres": "where's", "whereve": "where've", "whod": "who'd", "whod've": "who'd've",
    "who'dve": "who'd've", "wholl": "who'll", "whos": "who's", "whove": "who've",
    "whyll": "why'll", "whyre": "why're", "whys": "why's", "wont": "won't",
    "wouldve": "would've", "wouldnt": "wouldn't", "wouldnt've": "wouldn't've",
    "wouldn'tve": "wouldn't've", "yall": "y'all", "yall'll": "y'all'll", "y'allll": "y'all'll",
    "yall'd've": "y'all'd've", "y'alld've": "y'all'd've", "y'all'dve": "y'all'd've",
    "youd": "you'd", "youd've": "you'd've", "you'dve": "you'd've", "youll": "you'll",
    "youre": "you're", "youve": "you've",
}
NUMBER_WORDS = {"none": "0", "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4",
                "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9", "ten": "10"}
ARTICLES = ("a", "an", "the")
PUNCT = (";", "/", "[", "]", '"', "{", "}", "(", ")", "=", "+", "\\", "_", "-", ">", "<", "@",
         "`", ",", "?", "!")
PERIOD_STRIP = re.compile(r"(?!<=\d)(\.)(?!\d)")
COMMA_STRIP = re.compile(r"(\d)(,)(\d)")
PERIOD_STRIP_COUNT = int(re.UNICODE)  # the official call passes re.UNICODE as `count`


def process_punctuation(text: str) -> str:
    """The official ``processPunctuation``: delete or space out punctuation, strip periods."""
    out = text
    has_digit_comma = COMMA_STRIP.search(text) is not None
    for p in PUNCT:
        if (p + " " in text or " " + p in text) or has_digit_comma:
            out = out.replace(p, "")
        else:
            out = out.replace(p, " ")
    return PERIOD_STRIP.sub("", out, count=PERIOD_STRIP_COUNT)


def process_digit_article(text: str) -> str:
    """The official ``processDigitArticle``: lower, number words → digits, drop articles,
    then expand contractions word by word."""
    words = [NUMBER_WORDS.get(w, w) for w in text.lower().split()]
    words = [CONTRACTIONS.get(w, w) for w in words if w not in ARTICLES]
    return " ".join(words)


def normalize_answer(text: str) -> str:
    """Full official normalisation (punctuation, then digits/articles/contractions)."""
    return process_digit_article(process_punctuation(text))


def _clean(text: Any, what: str) -> str:
    if not isinstance(text, str):
        raise ValueError(f"{what} must be a string, got {text!r}")  # noqa: TRY004 (bad data)
    return text.replace("\n", " ").replace("\t", " ").strip()


def _score_records(res_ans: str, records: list[dict]) -> float:
    """Accuracy in [0, 1] of ``res_ans`` against answer records (mutated in place, as in
    the official code: cleaned, and normalised when the answers disagree)."""
    for rec in records:
        rec["answer"] = _clean(rec.get("answer"), "a human answer")
    res_ans = _clean(res_ans, "a result answer")
    if len({rec["answer"] for rec in records}) > 1:
        for rec in records:
            rec["answer"] = normalize_answer(rec["answer"])
        res_ans = normalize_answer(res_ans)
    accs = []
    for rec in records:
        n_match = sum(1 for other in records if other != rec and other["answer"] == res_ans)
        accs.append(min(1, float(n_match) / 3))
    return float(sum(accs)) / len(accs)


def vqa_accuracy(pred: str, answers: list[str]) -> float:
    """Official VQA accuracy of one predicted answer against the human answers, in [0, 1].

    Args:
        pred: predicted answer string.
        answers: the (ten) human answers; each is a distinct record (distinct answer_id).
    """
    if not answers:
        raise ValueError("vqa_accuracy needs at least one human answer")
    return _score_records(pred, [{"answer": a, "answer_id": i} for i, a in enumerate(answers)])


def _type_names(ids) -> str:
    return " and ".join(sorted({type(q).__name__ for q in ids}))


def id_mismatch(found: set, expected: set, found_name: str = "results",
                expected_name: str = "annotations", what: str = "question id") -> str:
    """Why two id sets differ, naming the cause: ids of another *type* (``"1"`` vs ``1``:
    equal as text, never equal in Python or in the official evaluator) are reported as a type
    difference, not as ids that are both missing and extra; ids absent on either side are
    listed (first five). Returns "" when the sets are equal."""
    if found == expected:
        return ""
    missing = sorted((q for q in expected if q not in found), key=str)
    extra = sorted((q for q in found if q not in expected), key=str)
    parts = []
    if _type_names(found) != _type_names(expected):
        as_text = {str(q) for q in missing} & {str(q) for q in extra}
        parts.append(f"{what}s differ in type: {found_name} have {_type_names(found)} ids, "
                     f"{expected_name} have {_type_names(expected)} ids")
        if as_text:
            e_ex = next(q for q in extra if str(q) in as_text)
            e_mi = next(q for q in missing if str(q) in as_text)
            parts[-1] += (f" ({len(as_text)} match only as text, e.g. {e_ex!r} in {found_name} "
                          f"vs {e_mi!r} in {expected_name}); write them as "
                          f"{_type_names(expected)} like the {expected_name}")
        missing = [q for q in missing if str(q) not in as_text]
        extra = [q for q in extra if str(q) not in as_text]
    if missing:
        parts.append(f"{len(missing)} {what}(s) missing from {found_name}, e.g. "
                     f"{', '.join(map(repr, missing[:5]))}")
    if extra:
        parts.append(f"{len(extra)} {what}(s) in {found_name} but not in {expected_name}, e.g. "
                     f"{', '.join(map(repr, extra[:5]))}")
    return "; ".join(parts)


def vqa_evaluate(questions: dict | list | None, annotations: dict | list,
                 results: list[dict], subset: bool = False) -> dict[str, Any]:
    """Official VQA evaluation: ``{"overall", "perAnswerType", "perQuestionType"}`` (×100, 2 dp).

    Args:
        questions: the questions file content (dict with ``questions``) or its list, or None.
            Used only like the official ``loadRes``: for the Multiple-Choice check.
        annotations: the annotations file content (dict with ``annotations``) or its list.
        results: ``[{"question_id": int, "answer": str}, ...]`` (official results format).
        subset: score only the annotated questions the results answer (e.g. a ``data.limit``
            run); results for questions without annotations are still refused.

    Raises:
        ValueError: result question ids differ from the annotation ids (names them), or a
            malformed record.
    """
    anns = annotations["annotations"] if isinstance(annotations, dict) else annotations
    if not isinstance(results, list):
        raise ValueError("results must be a JSON array of {question_id, answer} objects")  # noqa: TRY004
    if not anns:
        raise ValueError("annotations are empty")
    for ann in anns:
        need = ("question_id", "answers", "question_type", "answer_type")
        if not isinstance(ann, dict) or any(k not in ann for k in need):
            raise ValueError(f"malformed annotation {str(ann)[:200]}: needs {', '.join(need)}")
        answers = ann["answers"]
        if not isinstance(answers, list) or not answers or not all(
                isinstance(a, dict) for a in answers):
            raise ValueError(f"annotation {ann['question_id']}: answers must be a non-empty "
                             "list of {answer, answer_id, ...} objects")
    res = {}
    for r in results:
        if not isinstance(r, dict) or "question_id" not in r or "answer" not in r:
            raise ValueError(f"malformed result record {r!r}: needs question_id and answer")
        res[r["question_id"]] = r
    if subset:
        anns = [ann for ann in anns if ann["question_id"] in res]
        if not anns:
            raise ValueError("no result answers an annotated question")
    qa = {ann["question_id"]: copy.deepcopy(ann) for ann in anns}  # last record wins
    if set(res) != set(qa):
        raise ValueError("results do not match the annotations (the official evaluator refuses "
                         "them too): " + id_mismatch(set(res), set(qa)))
    if isinstance(questions, dict) and questions.get("task_type") == "Multiple Choice":
        choices = {q["question_id"]: q.get("multiple_choices", []) for q in questions["questions"]}
        if not set(res) <= set(choices):
            raise ValueError("results do not match the multiple-choice questions: "
                             + id_mismatch(set(res), set(choices), "results", "questions"))
        bad = [q for q, r in res.items() if r["answer"] not in choices.get(q, [])]
        if bad:
            raise ValueError(f"predicted answer is not one of the multiple choices for ids {bad[:5]}")

    acc_all: list[float] = []
    per_qtype: dict[str, list[float]] = {}
    per_atype: dict[str, list[float]] = {}
    for qid in (ann["question_id"] for ann in anns):  # the official order, duplicates included
        gt = qa[qid]
        acc = _score_records(res[qid]["answer"], gt["answers"])
        acc_all.append(acc)
        per_qtype.setdefault(gt["question_type"], []).append(acc)
        per_atype.setdefault(gt["answer_type"], []).append(acc)

    def pct(values: list[float]) -> float:
        return round(100 * float(sum(values)) / len(values), 2)

    return {"overall": pct(acc_all),
            "perAnswerType": {k: pct(v) for k, v in per_atype.items()},
            "perQuestionType": {k: pct(v) for k, v in per_qtype.items()}}
