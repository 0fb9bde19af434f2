"""``rule``: keywords with no model — a regex tokenizer, a small stop list, a phrase rule.

Tokens are lowercase words/numbers; punctuation breaks phrases. A phrase is a run of modifiers
(colours, numbers, size/appearance adjectives) followed by one content word ("two blue
squares", "large red star"); a predicate binds too: "the circle is red" → "red circle",
"the color of the circle is gray" → "gray circle". Single words: every non-stop token, plural nouns singularised by
suffix rules ("squares" → "square", "boxes" → "box", "berries" → "berry"; "cross" stays).
"""
from __future__ import annotations

import re

from fgalign.data.synth.scene import COLORS
from fgalign.keywords.base import KeywordExtractorBase, register_extractor
from fgalign.numbers import Size

TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)?|\d+(?:\.\d+)?|[^\sa-z\d]")

STOP_WORDS = frozenset("""
a an the this that these those there here it its it's they them their he him his she her hers
we us our you your i me my what which who whom whose where when why how is are was were be been
being am do does did doing have has had having can could will would shall should may might must
of in on at by for with to from into onto over under about as than then so and or but nor not no
yes if also too very just only same other another each every any some all both either neither
many few several much more most less
there's what's is't isn't aren't don't doesn't object objects thing things one's s
above below behind beside between near next up down off out through across along around
""".split())  # noqa: SIM905 (a word list reads best as text)

COLOR_WORDS = frozenset(list(COLORS) + ["white", "black", "brown", "pink", "grey", "gold",
                                        "silver", "violet", "magenta", "beige"])
NUMBER_WORDS = frozenset("""zero one two three four five six seven eight nine ten eleven twelve
                            """.split())  # noqa: SIM905
ADJECTIVES = frozenset("""small large big little tiny huge tall short long wide narrow dark light
                          bright pale round striped dotted empty full old young new wooden
                          metal plastic shiny""".split())  # noqa: SIM905
MODIFIERS = COLOR_WORDS | NUMBER_WORDS | ADJECTIVES
COPULAS = frozenset({"is", "are", "was", "were"})


def tokenize(text: str) -> list[str]:
    """Lowercase word, number and punctuation tokens."""
    return TOKEN.findall(text.lower())


def singular(word: str) -> str:
    """Crude English singular of a plural noun; other words unchanged."""
    if len(word) <= 3 or not word.endswith("s") or word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("xes", "ches", "shes", "sses", "zes")):
        return word[:-2]
    return word[:-1]


def is_word(tok: str) -> bool:
    return tok[0].isalnum()


def is_modifier(tok: str) -> bool:
    return tok in MODIFIERS or tok.isdigit()


def predicate_phrase(toks: list[str], k: int) -> str | None:
    """At a copula ``toks[k]``: "<noun> is <modifiers>" → "<modifiers> <noun>", else None."""
    if k == 0 or toks[k] not in COPULAS:
        return None
    noun = toks[k - 1]
    run = []
    for tok in toks[k + 1:]:
        if not is_modifier(tok):
            if is_word(tok) and tok not in STOP_WORDS:  # "is red circle": not predicative
                return None
            break
        run.append(tok)
    if not run or not is_word(noun) or noun in STOP_WORDS or is_modifier(noun):
        return None
    return " ".join(run + [noun])


def rule_keywords(text: str) -> list[str]:
    """Phrases then single words of one text, in text order (may repeat)."""
    toks = tokenize(text)
    phrases, run = [], []
    for k, tok in enumerate(toks):
        if is_modifier(tok):
            run.append(tok)
            continue
        if run and is_word(tok) and tok not in STOP_WORDS:
            phrases.append(" ".join(run + [tok]))
        elif (bound := predicate_phrase(toks, k)) is not None:
            phrases.append(bound)
        run = []
    words = [t if t in MODIFIERS or t.isdigit() else singular(t)
             for t in toks if is_word(t) and t not in STOP_WORDS]
    return phrases + words


@register_extractor("rule")
class RuleExtractor(KeywordExtractorBase):
    """Model-free keyword extractor (see module docstring)."""

    def __init__(self, max_keywords: Size = 8):
        """Args: max_keywords: keywords kept per text (references first, then phrases, words)."""
        super().__init__(max_keywords)

    def plain(self, texts: list[str]) -> list[list[str]]:
        return [rule_keywords(t) for t in texts]
