"""Question + answer → declarative statement (VQA), rule-based over the spaCy parse or T5.

    conv = create_converter("rule")                       # or ("t5", model="path/to/t5")
    conv(["What color is the triangle?"], [["red", "blue"]])
    # [["the red triangle", "the blue triangle"]]

Rules of ``RuleConverter`` (lower-cased, numbers written as words, no final period: CLIP-style
captions, and the bundled word-level backbone has no "." token):

    what color|size BE NP        → NP with the answer before its head noun ("the red triangle")
    what N BE NP                 → NP with a generic head (object, thing) replaced by the answer,
                                   else "NP BE a A" ("the red star", "the pet is a dog")
    what N BE PRED (no NP)       → "a A BE PRED" ("a star is left of the green circle")
    how many NP BE there REST    → "there BE A NP REST" (singular noun for 1)
    AUX there|NP PRED            → yes: "there is a blue star" / "NP AUX PRED";
                                   no: "there is no blue star" / "NP AUX not PRED"
    what|which AUX NP VERB       → "NP AUX VERB A" ("the man is holding a bat")
    anything else                → "QUESTION A"
"""
from __future__ import annotations

from typing import Any

from fgalign.keywords.spacy_extractor import load_spacy
from fgalign.registry import Registry

CONVERTERS = Registry("converter")
AUX = {"is", "are", "was", "were", "do", "does", "did", "can", "could", "has", "have", "will",
       "would", "should"}
BE = {"is", "are", "was", "were"}
ADJ_QUESTIONS = {"color", "colour", "size"}
GENERIC_HEADS = {"object", "objects", "thing", "things", "one", "shape", "item"}
NUMBER_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
                "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
                "seventeen", "eighteen", "nineteen", "twenty")


def number_word(answer: str) -> str:
    """"2" → "two" (0-20; "0" → "no"); anything else unchanged."""
    return NUMBER_WORDS[int(answer)] if answer.isdigit() and int(answer) < len(NUMBER_WORDS) \
        else answer


def _join(words: list[str]) -> str:
    return " ".join(w for w in words if w).strip()


def _lead_chunk(doc, start: int):
    """The noun chunk starting at token ``start`` (None if no chunk starts there)."""
    return next((c for c in doc.noun_chunks if c.start == start), None)


def _statement(doc, answer: str) -> str:
    toks = [t for t in doc if not t.is_punct]
    w = [t.text.lower() for t in toks]
    a = answer.lower().strip()
    if len(w) >= 3 and w[0] == "what" and w[2] in BE:
        chunk = _lead_chunk(doc, toks[3].i) if len(toks) > 3 else None
        if chunk is not None:
            head = chunk.root.i - chunk.start
            np_words = [t.text.lower() for t in chunk]
            tail = [t.text.lower() for t in toks if t.i >= chunk.end]
            if w[1] in ADJ_QUESTIONS:
                return _join(np_words[:head] + [a] + np_words[head:] + tail)
            if np_words[head] in GENERIC_HEADS:
                return _join(np_words[:head] + [a] + np_words[head + 1:] + tail)
            return _join(np_words + tail + [w[2], "a", a])
        if w[1] not in ADJ_QUESTIONS and len(w) > 3:
            return _join(["a", a, w[2]] + w[3:])
    if len(w) >= 4 and w[:2] == ["how", "many"]:
        aux = next((k for k in range(2, len(w)) if w[k] in AUX), None)
        if aux is not None:
            np_toks = toks[2:aux]
            if a == "1" and np_toks:
                np_words = [t.text.lower() for t in np_toks[:-1]] + [np_toks[-1].lemma_.lower()]
                be = "is" if w[aux] == "are" else w[aux]
            else:
                np_words, be = [t.text.lower() for t in np_toks], w[aux]
            num = number_word(a)
            if aux + 1 < len(w) and w[aux + 1] == "there":
                return _join(["there", be, num] + np_words + w[aux + 2:])
            return _join([num] + np_words + [be] + w[aux + 1:])
    if len(w) >= 2 and w[0] in AUX and a in ("yes", "no"):
        if w[1] == "there":
            subj, pred = ["there"], w[2:]
        else:
            chunk = _lead_chunk(doc, toks[1].i)
            n = (chunk.end - chunk.start) if chunk is not None else 1
            subj, pred = w[1:1 + n], w[1 + n:]
        if a == "yes":
            return _join(subj + [w[0]] + pred)
        if subj == ["there"] and pred and pred[0] in ("a", "an", "any"):
            return _join(["there", w[0], "no"] + pred[1:])
        return _join(subj + [w[0], "not"] + pred)
    if len(w) >= 4 and w[0] in ("what", "which") and w[1] in AUX and toks[-1].pos_ == "VERB":
        return _join(w[2:-1] + [w[1], w[-1], a])
    return _join([doc.text.strip().rstrip("?").lower(), a])


@CONVERTERS.register("rule")
class RuleConverter:
    """Rule-based converter; spaCy is loaded once, questions are parsed with ``nlp.pipe``."""

    def __init__(self, nlp: Any = None, batch_size: int = 256):
        self.nlp = nlp if nlp is not None else load_spacy()
        self.batch_size = batch_size

    def __call__(self, questions: list[str], answers: list[list[str]]) -> list[list[str]]:
        docs = self.nlp.pipe(questions, batch_size=self.batch_size)
        return [[_statement(doc, a) for a in cands] for doc, cands in zip(docs, answers)]


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
