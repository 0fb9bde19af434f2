"""Question + answer → declarative statement (VQA), rule-based over the spaCy parse or T5.

    conv = create_converter("rule")                       # or ("t5", model="path/to/t5")
    conv(["What color is the triangle?"], [["red", "blue"]])
    # [["the red triangle", "the blue triangle"]]
    conv(["What is in the cup?"], [["coffee"]])           # [["coffee is in the cup"]]

The rule converter normalises each question first (whitespace collapsed, lower case) and
restates it with each answer by the rules of ``fgalign.tasks.vqa.statements`` (lower-cased, numbers
written as words, no final period: CLIP-style captions, and the bundled word-level backbone has
no "." token). A question no rule covers gives "the answer is A" — a sentence, not the question
with the answer appended. ``RuleConverter.rules`` says which rule made each statement
(``rule_coverage`` summarises them).
"""
from __future__ import annotations

from collections import Counter
from typing import Any

from fgalign.keywords.spacy_extractor import load_spacy
from fgalign.registry import Registry
from fgalign.tasks.vqa.statements import number_word, statement

CONVERTERS = Registry("converter")
__all__ = ["CONVERTERS", "RuleConverter", "T5Converter", "create_converter", "normalize_question",
           "number_word", "rule_coverage"]


def normalize_question(question: str) -> str:
    """Whitespace collapsed to single spaces, stripped, lower-cased."""
    return " ".join(str(question).split()).lower()


@CONVERTERS.register("rule")
class RuleConverter:
    """Rule-based converter; spaCy is loaded once, questions are parsed with ``nlp.pipe``."""

    def __init__(self, nlp: Any = None, batch_size: int = 256):
        self.nlp = nlp if nlp is not None else load_spacy()
        self.batch_size = batch_size

    def rules(self, questions: list[str], answers: list[list[str]]
              ) -> list[list[tuple[str, str]]]:
        """``(statement, rule name)`` per question and answer (``"fallback"``: no rule)."""
        docs = self.nlp.pipe([normalize_question(q) for q in questions],
                             batch_size=self.batch_size)
        return [[statement(doc, str(a)) for a in cands] for doc, cands in zip(docs, answers)]

    def __call__(self, questions: list[str], answers: list[list[str]]) -> list[list[str]]:
        return [[s for s, _ in row] for row in self.rules(questions, answers)]


def rule_coverage(rule_names_by_type: dict[str, list[str]]) -> dict[str, Any]:
    """Share of question types every example of which a rule (not the fallback) handles.

    Args:
        rule_names_by_type: question type → the rule names of its examples.

    Returns:
        ``{"types": n, "covered": n, "coverage": covered / types, "fallback_types": [...],
        "rules": {rule: count}}``.
    """
    fallback = sorted(t for t, names in rule_names_by_type.items() if "fallback" in names)
    n = len(rule_names_by_type)
    return {"types": n, "covered": n - len(fallback),
            "coverage": (n - len(fallback)) / n if n else 0.0, "fallback_types": fallback,
            "rules": dict(Counter(r for names in rule_names_by_type.values() for r in names))}


@CONVERTERS.register("t5")
class T5Converter:
    """Seq2seq converter: ``"question: Q answer: A"`` → statement with a local T5 model.

    Args:
        model: local path (or hub name when online) of a T5 model + tokenizer.
        batch_size: (question, answer) pairs per generate call.
        max_new_tokens: statement length cap.
        device: torch device for generation.
    """

    def __init__(self, model: str | None = None, batch_size: int = 64, max_new_tokens: int = 32,
                 device: str = "cpu"):
        if not model:
            raise ValueError("converter t5 needs tasks.vqa.t5_model (a local T5 model path)")
        try:
            from transformers import AutoModelForSeq2SeqLM, AutoTokenizer
        except ImportError as e:  # pragma: no cover - transformers is a core dependency
            raise ImportError("converter t5 needs transformers: pip install transformers") from e
        self.tokenizer = AutoTokenizer.from_pretrained(model)
        self.model = AutoModelForSeq2SeqLM.from_pretrained(model).to(device).eval()
        self.device, self.batch_size, self.max_new_tokens = device, batch_size, max_new_tokens

    def __call__(self, questions: list[str], answers: list[list[str]]) -> list[list[str]]:
        import torch

        prompts = [f"question: {q} answer: {a}" for q, cands in zip(questions, answers)
                   for a in cands]
        flat: list[str] = []
        with torch.inference_mode():
            for i in range(0, len(prompts), self.batch_size):
                enc = self.tokenizer(prompts[i:i + self.batch_size], return_tensors="pt",
                                     padding=True).to(self.device)
                out = self.model.generate(**enc, max_new_tokens=self.max_new_tokens,
                                          do_sample=False)
                flat += [s.strip() for s in self.tokenizer.batch_decode(
                    out, skip_special_tokens=True)]
        it = iter(flat)
        return [[next(it) for _ in cands] for cands in answers]


def create_converter(name: str, **kwargs: Any) -> Any:
    """Converter by name (``rule`` | ``t5``); unknown names list the known ones."""
    return CONVERTERS.create(name, **kwargs)
