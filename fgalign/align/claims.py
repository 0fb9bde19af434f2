"""Compositional claims of a statement: counts, sizes and spatial relations (phrase parse).

    parse_claims("the red circle is left of two blue squares", parser="rule")
    # [Claim(kind="relation", args=("red circle", "blue squares"), value="left"),
    #  Claim(kind="count", args=("blue squares",), value=("eq", 2))]

A ``Claim`` is what ``fgalign.align.compose`` checks against region boxes:

    kind       args                      value
    count      (NP,) or (NP_a, NP_b)     ("eq", n) | ("ge", n) | ("gt"|"lt", None) for two NPs
    size       (NP,) or (NP_a, NP_b)     "large" | "small" (one NP, against the image);
                                         "larger" | "smaller" (NP_a against NP_b)
    relation   (NP_a, NP_b)              "left" | "right" | "above" | "below" | "on" | "under"
                                         | "near" | "inside"

``negated`` is True under a "not" / "n't" of the same clause ("the X is not bigger than the
Y"). An argument is the noun phrase without determiners ("the", "a", numbers), lower-case,
or a VCR object reference kept as ``"[i]"``.

Two parsers give the same claims (``parse_claims(text, parser=...)``):

``spacy`` (default) — the dependency parse of ``en_core_web_sm`` (``fgalign.keywords.
spacy_extractor.load_spacy``; labels of the ClearNLP / spaCy English scheme, spaCy docs
"Linguistic features: dependency parse"):
    count     a noun with a ``nummod`` child (a digit or number word: "two blue squares",
              "3 circles") or a ``det`` child "no" / "a" / "an" / "one" (n = 0 / 1), or an
              ``amod`` "several" (n ≥ 2) under an existential "there is / are" (``expl``
              subject) — the noun's phrase is the argument; "more/fewer <NP_a> than <NP_b>":
              an ``amod`` "more"/"fewer" on NP_a with a ``prep``/``mark`` "than" whose object
              is NP_b (the small model attaches "than" either way; both are read).
    size      an ``amod`` or ``acomp`` size adjective (``SIZE_WORDS``) on a noun or on the
              copula's ``nsubj`` ("the large circle", "the circle is small"); a comparative
              ``acomp`` ("bigger", "larger", "smaller") with ``prep`` "than" → NP_b.
    relation  a copula / verb whose ``nsubj`` is NP_a and whose ``prep`` / ``advmod`` /
              ``acomp`` is a relation word (``RELATION_WORDS``: "left of", "to the right of",
              "above", "on top of", "next to", "inside", ...) with ``pobj`` NP_b; or a noun
              modified by such a prepositional phrase ("the object left of the circle").
``rule`` — the same patterns as regular expressions over the lower-cased text
(``RULES``), used when spaCy's model is not installed, and as the fallback of the spaCy
parser for a clause whose parse yields no claim (the small model mis-tags "left" as a verb
in some sentences, and attaches "no" / "more ... than" in several ways).

The synthetic world's templates (``fgalign.data.synth.questions``) and VQAv2's common
question types ("how many", "is the X bigger than", "what is on the table", "is there a")
were the sources of the patterns; every pattern has a test in tests/align/test_claims.py.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from fgalign.keywords.spacy_extractor import load_spacy

NUMBER_WORDS = {"no": 0, "zero": 0, "none": 0, "a": 1, "an": 1, "one": 1, "single": 1,
                "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
                "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12}
SIZE_WORDS = {"large": "large", "big": "large", "huge": "large", "giant": "large",
              "small": "small", "little": "small", "tiny": "small"}
COMPARATIVES = {"bigger": "larger", "larger": "larger", "smaller": "smaller"}
RELATION_WORDS = {  # phrase → relation (longest phrases first when matching)
    "to the left of": "left", "left of": "left", "on the left of": "left",
    "to the right of": "right", "right of": "right", "on the right of": "right",
    "on top of": "on", "on": "on", "above": "above", "over": "above",
    "below": "below", "beneath": "under", "under": "under", "underneath": "under",
    "next to": "near", "beside": "near", "near": "near", "close to": "near",
    "inside": "inside", "inside of": "inside", "within": "inside", "in": "inside",
}
DETERMINERS = {"the", "a", "an", "this", "that", "these", "those", "some", "any", "other",
               "several", "many"}
NEGATIONS = {"not", "n't", "no longer"}
_REF = re.compile(r"\[\d+\]")


@dataclass(frozen=True)
class Claim:
    """One compositional claim of a statement (see the module docstring)."""

    kind: str  # "count" | "size" | "relation"
    args: tuple[str, ...]
    value: Any
    negated: bool = False


def clean_np(words: str) -> str:
    """A noun phrase without determiners, numbers and punctuation (refs ``[i]`` kept)."""
    toks = re.findall(r"\[\d+\]|[a-z]+", words.lower())
    return " ".join(t for t in toks if t not in DETERMINERS and t not in NUMBER_WORDS
                    and t != "same")


def number_of(word: str) -> int | None:
    """The integer a digit string or number word states (``NUMBER_WORDS``), else None."""
    w = word.lower()
    if w.isdigit():
        return int(w)
    return NUMBER_WORDS.get(w)


# ---- rule parser ---------------------------------------------------------------------------
_NUM = r"(\d+|" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True)) + r")"
_NP = r"((?:\[\d+\]|[a-z]+)(?: (?:\[\d+\]|[a-z]+)){0,4}?)"
_REL = "|".join(re.escape(p) for p in sorted(RELATION_WORDS, key=len, reverse=True))
_BE = r"(?:is|are|was|were|sits|lies|stands|appears)"
_NOT = r"(not |n't )?"
RULES = {
    # "there are no more red objects than blue objects" / "there are more X than Y"
    "count_cmp": re.compile(r"there (?:is|are) " + _NOT + r"(more|fewer|less) " + _NP
                            + r" than " + _NP + r"$"),
    # "there are two red circles" / "there is a star" / "there is no blue square" / several
    "count": re.compile(r"there (?:is|are) " + _NOT + r"(?:(several|many)|" + _NUM + r") " + _NP
                        + r"(?: (?:in|on) (?:the|this) (?:picture|image|photo|scene))?$"),
    # "X is not bigger than Y"
    "size_cmp": re.compile(_NP + r" " + _BE + r" " + _NOT + r"(bigger|larger|smaller) than "
                           + _NP + r"$"),
    # "[0] is small and [2] is large" / "[0] and [2] are both small"
    "size_pair": re.compile(_NP + r" (?:is|are) (small|large|big|little|tiny|huge) and "
                            + _NP + r" (?:is|are) (small|large|big|little|tiny|huge)$"),
    "size_both": re.compile(_NP + r" and " + _NP + r" are both (small|large|big|little|tiny|huge)$"),
    # "the circle is small"
    "size_pred": re.compile(_NP + r" " + _BE + r" " + _NOT
                            + r"(small|large|big|little|tiny|huge)$"),
    # "X is (to the) left of Y"
    "relation": re.compile(_NP + r" " + _BE + r" " + _NOT + r"(" + _REL + r") " + _NP + r"$"),
    # "the red object left of the blue circle" (no copula)
    "relation_np": re.compile(r"^" + _NP + r" (" + _REL + r") " + _NP + r"$"),
}
_SIZE_ADJ = re.compile(r"\b(large|big|huge|small|little|tiny) ((?:(?!(?:is|are|was|were)\b)"
                       r"[a-z]+ ){0,2}(?!(?:is|are|was|were)\b)[a-z]+)")


def normalize(text: str) -> str:
    """Lower case, refs kept, other punctuation dropped, one space between words."""
    t = text.lower().replace("n't", " n't")
    t = re.sub(r"[^a-z0-9\[\]' ]+", " ", t)
    return " ".join(t.split())


def _neg(g: str | None) -> bool:
    return bool(g)


def rule_claims(text: str) -> list[Claim]:
    """Claims of one text by the regular expressions ``RULES`` (see the module docstring)."""
    out: list[Claim] = []
    for clause in re.split(r"[.;!?]| but | while | because ", text.lower()):
        t = normalize(clause)
        t = re.sub(r"^(?:yes|no) ", "", t)
        if not t:
            continue
        m = RULES["count_cmp"].search(t)
        if m:
            op = "gt" if m.group(2) == "more" else "lt"
            out.append(Claim("count", (clean_np(m.group(3)), clean_np(m.group(4))), (op, None),
                             _neg(m.group(1))))
            continue
        m = RULES["count"].search(t)
        if m:
            neg = _neg(m.group(1))
            if m.group(2):
                out.append(Claim("count", (clean_np(m.group(4)),), ("ge", 2), neg))
            else:
                n = number_of(m.group(3))
                out.append(Claim("count", (clean_np(m.group(4)),), ("eq", n), neg))
            # "there is a large red circle": also a size claim on the object
            sm = _SIZE_ADJ.search(m.group(4))
            if sm:
                out.append(Claim("size", (clean_np(sm.group(2)),), SIZE_WORDS[sm.group(1)]))
            continue
        m = RULES["size_cmp"].search(t)
        if m:
            out.append(Claim("size", (clean_np(m.group(1)), clean_np(m.group(4))),
                             COMPARATIVES[m.group(3)], _neg(m.group(2))))
            continue
        m = RULES["size_pair"].search(t)
        if m:
            out.append(Claim("size", (clean_np(m.group(1)),), SIZE_WORDS[m.group(2)]))
            out.append(Claim("size", (clean_np(m.group(3)),), SIZE_WORDS[m.group(4)]))
            continue
        m = RULES["size_both"].search(t)
        if m:
            for g in (1, 2):
                out.append(Claim("size", (clean_np(m.group(g)),), SIZE_WORDS[m.group(3)]))
            continue
        m = RULES["size_pred"].search(t)
        if m:
            out.append(Claim("size", (clean_np(m.group(1)),), SIZE_WORDS[m.group(3)],
                             _neg(m.group(2))))
            continue
        m = RULES["relation"].search(t)
        if m:
            a, b = clean_np(m.group(1)), clean_np(m.group(4))
            if a and b:
                out.append(Claim("relation", (a, b), RELATION_WORDS[m.group(3)], _neg(m.group(2))))
            continue
        m = RULES["relation_np"].search(t)
        if m:
            a, b = clean_np(m.group(1)), clean_np(m.group(3))
            if a and b and RELATION_WORDS[m.group(2)] != "inside":  # "X in the picture"
                out.append(Claim("relation", (a, b), RELATION_WORDS[m.group(2)]))
            continue
        sm = _SIZE_ADJ.search(t)  # attributive size word anywhere: "the large red circle"
        if sm:
            out.append(Claim("size", (clean_np(sm.group(2)),), SIZE_WORDS[sm.group(1)]))
    return [c for c in out if all(c.args)]


# ---- spaCy parser --------------------------------------------------------------------------
def _subtree_np(tok) -> str:
    """The noun phrase of ``tok``: its left modifiers (compound, amod, nummod, det) + itself,
    plus refs; prepositional phrases are left out."""
    left = [t for t in tok.subtree if t.i <= tok.i and t.i >= tok.left_edge.i]
    words = " ".join(t.text for t in left)
    return clean_np(words)


def _has_neg(tok) -> bool:
    return any(c.dep_ == "neg" for c in tok.children)


def _rel_of(tok) -> tuple[str, Any] | None:
    """(relation, object token) of a relation word ``tok`` and its pobj, else None."""
    words = [tok.lower_]
    obj = None
    cur = tok
    for _ in range(3):  # "to the left of": to → left → of → pobj
        pobj = [c for c in cur.children if c.dep_ == "pobj"]
        preps = [c for c in cur.children if c.dep_ in ("prep", "pcomp")]
        if cur is not tok:
            words.append(cur.lower_)
        if pobj and cur.lower_ not in ("to",):
            obj = pobj[0]
            if obj.lower_ in ("left", "right", "top") and preps == []:
                pass
            else:
                # "to the left of": to → pobj left → prep of → pobj circle
                inner = [c for c in obj.children if c.dep_ == "prep"]
                if obj.lower_ in ("left", "right", "top") and inner:
                    words.append(obj.lower_)
                    cur = inner[0]
                    words.append(cur.lower_)
                    objs = [c for c in cur.children if c.dep_ == "pobj"]
                    obj = objs[0] if objs else None
                break
        if pobj and cur.lower_ == "to":
            nxt = pobj[0]
            words.append(nxt.lower_)
            inner = [c for c in nxt.children if c.dep_ == "prep"]
            if not inner:
                obj = None
                break
            cur = inner[0]
            continue
        if preps:
            cur = preps[0]
            continue
        break
    if obj is None:
        return None
    phrase = " ".join(w for w in words if w not in ("the",))
    for p in sorted(RELATION_WORDS, key=len, reverse=True):
        ptoks = p.split()
        if [w for w in phrase.split() if w != "the"][: len([x for x in ptoks if x != "the"])] == \
                [x for x in ptoks if x != "the"]:
            return RELATION_WORDS[p], obj
    return None


def spacy_doc_claims(doc) -> list[Claim]:
    """Claims of one parsed text (see the module docstring, ``spacy``)."""
    out: list[Claim] = []
    existential = any(t.dep_ == "expl" for t in doc)
    for t in doc:
        if t.pos_ not in ("NOUN", "PROPN", "PRON", "X", "PUNCT", "NUM") and not _REF.fullmatch(t.text):
            continue
        # count: nummod / det children of a noun in an existential clause
        if existential and t.pos_ in ("NOUN", "PROPN") and t.dep_ in ("attr", "nsubj", "dobj"):
            kids = {c.lower_: c for c in t.children}
            num = [c for c in t.children if c.dep_ == "nummod" and number_of(c.lower_) is not None]
            neg = _has_neg(t.head)
            more = [c for c in t.children if c.dep_ == "amod" and c.lower_ in ("more", "fewer", "less")]
            if more:
                than = [g for c in list(t.children) + list(more[0].children)
                        if c.lower_ == "than" for g in c.children if g.dep_ == "pobj"]
                if than:
                    op = "gt" if more[0].lower_ == "more" else "lt"
                    a = clean_np(" ".join(x.text for x in t.lefts if x not in more) + " " + t.text)
                    out.append(Claim("count", (a, _subtree_np(than[0])), (op, None), neg))
                    continue
            if num:
                out.append(Claim("count", (_subtree_np(t),), ("eq", number_of(num[0].lower_)), neg))
            elif "several" in kids or "many" in kids:
                out.append(Claim("count", (_subtree_np(t),), ("ge", 2), neg))
            elif any(c.dep_ == "det" and c.lower_ in ("no", "a", "an", "one") for c in t.children):
                d = next(c.lower_ for c in t.children if c.dep_ == "det")
                out.append(Claim("count", (_subtree_np(t),), ("eq", NUMBER_WORDS[d]), neg))
        # attributive size: "the large circle"
        if t.pos_ in ("NOUN", "PROPN"):
            for c in t.children:
                if c.dep_ == "amod" and c.lower_ in SIZE_WORDS:
                    out.append(Claim("size", (_subtree_np(t).replace(c.lower_, "").strip()
                                              or t.lemma_,), SIZE_WORDS[c.lower_]))
    for t in doc:  # clauses: copula / verb heads
        subj = [c for c in t.children if c.dep_ in ("nsubj", "nsubjpass")]
        if not subj or t.dep_ == "expl":
            continue
        a = _subtree_np(subj[0])
        conj = [c for c in subj[0].children if c.dep_ == "conj"]
        neg = _has_neg(t)
        for c in t.children:
            if c.dep_ in ("acomp", "attr", "oprd") and c.lower_ in SIZE_WORDS:
                for s in [subj[0]] + conj:
                    out.append(Claim("size", (_subtree_np(s),), SIZE_WORDS[c.lower_], neg))
            if c.dep_ in ("acomp", "attr", "advmod") and c.lower_ in COMPARATIVES:
                than = [g for p in c.children if p.lower_ == "than" for g in p.children
                        if g.dep_ == "pobj"]
                if than:
                    out.append(Claim("size", (a, _subtree_np(than[0])), COMPARATIVES[c.lower_], neg))
            if c.dep_ in ("prep", "advmod", "acomp", "npadvmod", "attr", "dobj", "ccomp"):
                rel = _rel_of(c)
                if rel is not None and rel[0] != "inside" or (rel is not None and c.lower_ != "in"):
                    b = _subtree_np(rel[1])
                    if a and b and b not in ("picture", "image", "photo", "scene"):
                        out.append(Claim("relation", (a, b), rel[0], neg))
    return [c for c in out if all(c.args)]


_CACHE: dict[tuple[str, str], tuple[Claim, ...]] = {}  # (text, parser) → claims, per process
_CACHE_MAX = 500_000


def _clauses(text: str) -> list[str]:
    return [re.sub(r"\s+([.,;!?])", r"\1", c) for c in re.split(r"(?<=[.;!?])\s+", text.strip())
            if c.strip()]


def _remember(key: tuple[str, str], claims: list[Claim]) -> tuple[Claim, ...]:
    if len(_CACHE) >= _CACHE_MAX:
        _CACHE.clear()
    _CACHE[key] = tuple(dict.fromkeys(claims))
    return _CACHE[key]


def prefetch(texts: list[str], parser: str = "spacy", batch_size: int = 256) -> None:
    """Parse the texts not parsed yet in one batched ``nlp.pipe`` (the spaCy parser; the rule
    parser needs none), so ``parse_claims`` of each is a cache look-up."""
    if parser != "spacy":
        return
    todo = list(dict.fromkeys(t for t in texts if (t, parser) not in _CACHE))
    if not todo:
        return
    try:
        nlp = load_spacy(None)
    except OSError:
        return
    parts = {t: _clauses(t) for t in todo}
    flat = list(dict.fromkeys(c for cs in parts.values() for c in cs))
    docs = dict(zip(flat, nlp.pipe(flat, batch_size=batch_size)))
    for t, cs in parts.items():
        claims: list[Claim] = []
        for c in cs:
            got = spacy_doc_claims(docs[c])
            claims += got if got else rule_claims(c)  # fallback: no parse pattern fired
        _remember((t, parser), claims)


def parse_claims(text: str, parser: str = "spacy") -> list[Claim]:
    """Count, size and relation claims of ``text`` (see the module docstring); cached per text.

    Args:
        text: one statement (any case; VCR references as "[i]").
        parser: ``"spacy"`` (dependency parse, rule fallback per clause; the rule parser when
            no spaCy model is installed) or ``"rule"``.
    Raises:
        ValueError: an unknown parser name.
    """
    if parser not in ("spacy", "rule"):
        raise ValueError(f"unknown claim parser {parser!r}; known: spacy, rule")
    key = (text, parser)
    if key not in _CACHE:
        prefetch([text], parser)
    if key not in _CACHE:  # the rule parser, or no spaCy model installed
        _remember(key, rule_claims(text))
    return list(_CACHE[key])
