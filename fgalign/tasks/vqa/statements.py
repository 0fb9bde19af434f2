"""Rules that restate a VQA question with one answer as a declarative statement (spaCy parse).

    statement(nlp("what is in the cup?"), "coffee")      # ("coffee is in the cup", "wh_subject")

Input: a spaCy ``Doc`` of the question, whitespace-normalised and lower-cased by the caller.
Output: ``(statement, rule)`` — lower-case words joined by single spaces, no final period
(CLIP-style captions); ``rule`` names the rule that fired, ``"fallback"`` when none did
(``"the answer is A"``: still a sentence, never the question with the answer appended).

Rules, by question shape (VQAv2's question types, ``../shared/formats/vqav2_question_types.txt``):

    what color|size BE NP                 → NP with the answer before its head ("the red bus")
    what|which [WH-NP] BE PREP/VERB ...   → answer as subject ("coffee is in the cup",
                                            "tennis is being played", "a star is left of ...")
    what|which [WH-NP] BE SUBJ VERB|PREP  → answer as object ("the man is holding bat",
                                            "the wall is made of brick", "the man is surfing")
    what|which [WH-NP] BE NP              → answer as predicate ("this is a rocket", "the name
                                            of the dog is max", "the pet is a dog")
    what|which [WH-NP] DO|MODAL SUBJ VERB → "the sign says stop", "you can see a bus"
    how many NP AUX ...                   → "there are two dogs", "you can see three birds"
    AUX SUBJ PRED (yes/no)                → "the man is happy" / "there is no text in the image"
    AUX SUBJ X or Y                       → the chosen option ("the door is open")
    who|where|why|how AUX SUBJ ...        → "the man is holding the umbrella", "the cat is on
                                            couch", "the street is wet because of rain"

Articles: "a"/"an" is put before a one-word singular answer only where the question names a
countable category ("what animal is this" → "this is a dog"; "what is this" → "this is a
rocket"), never for categories in ``NO_ARTICLE`` ("this is tennis", "the brand of the laptop is
apple") nor for numbers or plurals.
"""
from __future__ import annotations

BE = {"is", "are", "was", "were", "am"}
DO = {"do", "does", "did"}
MODAL = {"can", "could", "will", "would", "should", "may", "might", "must", "has", "have", "had"}
AUX = BE | DO | MODAL
ADJ_QUESTIONS = {"color", "colour", "size"}
GENERIC_HEADS = {"object", "objects", "thing", "things", "one", "shape", "item"}
PRONOUNS = {"this", "that", "these", "those", "it", "they", "he", "she", "you", "we", "i",
            "there"}
KIND_WORDS = {"kind", "type", "sort"}
NO_ARTICLE = {"sport", "game", "time", "number", "color", "colour", "brand", "material", "food",
              "weather", "name", "language", "flavor", "flavour", "season", "meal", "make",
              "model", "year", "day", "month", "letter", "word", "words", "gender",
              "direction", "pattern", "style", "drink", "sauce", "topping", "toppings", "size",
              "kind", "type", "sort", "breed", "age", "temperature", "surface", "fabric"}
SURFACES = {"table", "couch", "sofa", "bed", "floor", "ground", "street", "road", "beach", "grass",
            "plate", "field", "sidewalk", "shelf", "desk", "counter", "bench", "chair", "wall",
            "snow", "water", "tracks", "track", "runway", "court", "pole", "tree", "roof",
            "board", "skateboard", "surfboard", "bike", "motorcycle", "horse", "train", "boat"}
PLACE_WORDS = {"outside", "inside", "outdoors", "indoors", "here", "there", "home", "upstairs",
               "downstairs", "left", "right", "behind", "above", "below", "nowhere", "everywhere",
               "background", "foreground", "air", "sky"}
NEGATIVE_SUBJECT = {"anyone": "no one", "anybody": "nobody", "anything": "nothing",
                    "someone": "no one", "somebody": "nobody", "something": "nothing"}
POSITIVE_SUBJECT = {"anyone": "someone", "anybody": "somebody", "anything": "something"}
NUMBER_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
                "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
                "seventeen", "eighteen", "nineteen", "twenty")
IRREGULAR_SINGULAR = {"people": "person", "men": "man", "women": "woman", "children": "child",
                      "feet": "foot", "teeth": "tooth", "mice": "mouse", "geese": "goose"}
THIRD_PERSON = {"have": "has", "do": "does", "go": "goes", "be": "is"}


def number_word(answer: str) -> str:
    """"2" → "two" (0-20; "0" → "no"); anything else unchanged."""
    return NUMBER_WORDS[int(answer)] if answer.isdigit() and int(answer) < len(NUMBER_WORDS) \
        else answer


def join(words: list[str]) -> str:
    """Words joined by single spaces, clitics ("'s", "n't") glued to the word before."""
    out: list[str] = []
    for w in (w for part in words for w in str(part).split()):
        if out and (w.startswith("'") or w == "n't"):
            out[-1] += w
        else:
            out.append(w)
    return " ".join(out)


def third_person(verb: str) -> str:
    """Present third-person singular of a base verb ("say" → "says", "watch" → "watches")."""
    if verb in THIRD_PERSON:
        return THIRD_PERSON[verb]
    if verb.endswith(("s", "sh", "ch", "x", "z", "o")):
        return verb + "es"
    if verb.endswith("y") and len(verb) > 1 and verb[-2] not in "aeiou":
        return verb[:-1] + "ies"
    return verb + "s"


def _singular_word(a: str) -> bool:
    return a.isalpha() and " " not in a and not (a.endswith("s") and not a.endswith("ss")) \
        and a not in ("yes", "no")


def _plural_word(a: str) -> bool:
    return a.isalpha() and a.endswith("s") and not a.endswith(("ss", "us", "is"))


def with_article(a: str, category: str | None) -> str:
    """``a``/``an`` + answer when ``category`` (the noun the question asks for, "" for a bare
    "what") is countable and the answer one singular word; else the answer."""
    if category is None or category in NO_ARTICLE or not _singular_word(a) \
            or (category.endswith("s") and not category.endswith("ss")):
        return a
    return ("an " if a[0] in "aeiou" else "a ") + a


def _neg(aux: str) -> list[str]:
    return ["cannot"] if aux == "can" else [aux, "not"]


class _Q:
    """The parsed question: words ``w`` (no punctuation), tokens ``t``, noun chunks."""

    def __init__(self, doc):
        self.t = [t for t in doc if not t.is_punct]
        self.w = [t.text.lower() for t in self.t]
        self.chunks = list(doc.noun_chunks)
        self.pos = {t.i: k for k, t in enumerate(self.t)}

    def subject_end(self, k: int) -> int:
        """End (exclusive, word index) of the noun phrase starting at word ``k`` ("the color of
        the bus", "all the lights", "the dog's name"); ``k`` when none starts there."""
        if k >= len(self.w):
            return k
        if self.w[k] in PRONOUNS and not (k + 1 < len(self.w) and self.t[k + 1].pos_ in
                                          ("NOUN", "PROPN", "ADJ", "NUM")
                                          and self.w[k] in ("this", "that", "these", "those")):
            return k + 1
        end = k
        for c in self.chunks:
            s, e = self.pos.get(c.start, -1), self.pos.get(c.end - 1, -2) + 1
            if s <= k < e or (s == k + 1 and self.w[k] in ("all", "both", "each")):
                end = max(end, e)
        if end == k:
            end = self._pos_np_end(k)  # the parser found no chunk here: fall back on POS tags
        if end == k:
            return k
        while end + 1 < len(self.w) and self.w[end] == "of":  # "the color of the bus"
            nxt = next((self.pos[c.end - 1] + 1 for c in self.chunks
                        if self.pos.get(c.start) == end + 1), None)
            if nxt is None:
                break
            end = nxt
        return end

    def _pos_np_end(self, k: int) -> int:
        """End of a determiner/adjective/noun run from word ``k`` ending on a noun; else k."""
        end, i = k, k
        while i < len(self.t) and (self.t[i].pos_ in ("DET", "ADJ", "NUM", "NOUN", "PROPN")
                                   or self.t[i].tag_ in ("PRP$", "POS")):
            if self.t[i].pos_ in ("NOUN", "PROPN"):
                end = i + 1
            i += 1
        return end

    def clause_subject_end(self, k: int) -> int:
        """``subject_end`` for a clause that needs a predicate after its subject: a noun chunk
        swallowing the rest ("is this pizza homemade", "why is the street wet": the small
        model tags the adjective as a noun) gives its last word back as the predicate."""
        end = self.subject_end(k)
        if end == len(self.w) and end - k >= 2:
            return end - 1
        return end if end > k else k + 1

    def is_verbish(self, k: int) -> bool:
        if k < len(self.w) and self.w[k] in ("left", "right"):  # "left of" is a relation
            return False
        return k < len(self.t) and (self.t[k].tag_ in ("VBG", "VBN", "VB", "VBP", "VBZ", "VBD")
                                    or self.w[k] == "being")

    def is_prep(self, k: int) -> bool:
        return k < len(self.t) and (self.t[k].pos_ == "ADP" or self.w[k] in ("next", "near"))


def _wh_answer(a: str, wh: list[str], slot: str) -> str:
    """The answer phrase for a wh-noun phrase ``wh`` ("kind of dog", "color shirt", "sport")
    in a ``slot`` (``subject`` | ``object`` | ``predicate``)."""
    if not wh:
        return a
    head = wh[-1]
    if wh[0] in KIND_WORDS and "of" in wh:  # "what kind of dog is this" → "this is a beagle"
        return with_article(a, head)
    if wh[0] in ("color", "colour") and len(wh) > 1:
        return join([a] + wh[1:])
    if wh[0] == "brand" and "of" in wh:
        return join([with_article(a, head), head])
    if wh[0] == "number":
        return join(["number", a])
    if wh[0] == "which" and len(wh) > 1:
        noun = wh[1:]
        if slot == "subject":
            return join(["the", a])
        return a if a.endswith(noun[-1]) else join([a] + noun)
    if head in GENERIC_HEADS and head != "shape":
        return a
    return with_article(a, head)


def _wh(q: _Q, a: str) -> tuple[str, str] | None:
    """Questions opening with what / which."""
    w = q.w
    k = next((i for i in range(1, len(w)) if w[i] in AUX), None)
    if k is None:
        return None
    wh = w[1:k] if w[0] == "what" else ["which"] + w[1:k]
    aux, rest_at = w[k], k + 1
    if w[0] == "which" and not w[1:k]:
        wh = []
    if not w[rest_at:]:
        return None
    cat = wh[-1] if wh else ""
    if aux in BE:
        first = rest_at
        if q.is_prep(first) or q.is_verbish(first) or w[first] in ("left", "right") \
                or q.t[first].pos_ in ("ADJ", "ADV") and q.subject_end(first) == first:
            subj = _wh_answer(a, wh, "subject")
            if wh and wh[0] in ("color", "colour", "size") and len(wh) == 1:
                subj = a
            if aux in ("is", "was") and not wh and _plural_word(a):  # "flowers are in the vase"
                aux = "are" if aux == "is" else "were"
            return join([subj, aux] + w[first:]), "wh_subject"
        end = q.subject_end(first)
        if end == first:
            return None
        np_words, tail = w[first:end], w[end:]
        if wh and wh[0] in ADJ_QUESTIONS and len(wh) == 1:
            if any(q.is_verbish(i) for i in range(end, len(w))):  # what color is he wearing
                return _object_slot(np_words, [aux], tail, a, q, end)
            if np_words[0] in PRONOUNS:
                return join(np_words + [aux, a] + tail), "color_predicate"
            head = _head_offset(q, first, end)
            return join(np_words[:head] + [a] + np_words[head:] + tail), "color_np"
        if not tail:
            if wh and wh[-1] in GENERIC_HEADS:
                head = _head_offset(q, first, end)
                if np_words[head] in GENERIC_HEADS:
                    return join(np_words[:head] + [a] + np_words[head + 1:]), "generic_head"
            if wh == ["number"]:  # what number is the player → the player is number 23
                return join(np_words + [aux, "number", a]), "wh_predicate"
            if wh and cat in NO_ARTICLE and np_words[0] not in PRONOUNS and wh[0] != "which":
                return join(["the", cat, "of"] + np_words + [aux, a]), "wh_predicate"
            if wh:
                return join(np_words + [aux, _wh_answer(a, wh, "predicate")]), "wh_predicate"
            subj_head = q.w[_head_offset(q, first, end) + first]
            cat = None if subj_head in NO_ARTICLE or subj_head in ("weather",) else ""
            return join(np_words + [aux, with_article(a, cat)]), "wh_predicate"
        return _object_slot(np_words, [aux], tail, _wh_answer(a, wh, "object"), q, end)
    if aux in DO or aux in MODAL:
        end = q.subject_end(rest_at)
        if end == rest_at or end >= len(w):
            return None
        verb, tail = w[end], w[end + 1:]
        obj = _wh_answer(a, wh, "object")
        if aux == "does":
            verbs = [third_person(verb)]
        elif aux == "do":
            verbs = [verb]
        else:
            verbs = [aux, verb]
        if tail and q.is_prep(len(w) - 1) and len(tail) == 1:
            return join(w[rest_at:end] + verbs + tail + [obj]), "wh_do"
        return join(w[rest_at:end] + verbs + [obj] + tail), "wh_do"
    return None


def _head_offset(q: _Q, start: int, end: int) -> int:
    """Offset in words [start, end) of the noun phrase's head (its first noun's last noun)."""
    for c in q.chunks:
        if q.pos.get(c.start) == start:
            return q.pos.get(c.root.i, start) - start
    return end - start - 1


def _object_slot(subj: list[str], aux: list[str], tail: list[str], obj: str, q: _Q, end: int
                 ) -> tuple[str, str]:
    """SUBJ AUX VERB|PREP ... with the answer where the question's gap is."""
    if tail == ["like"]:  # "what is the weather like" → "the weather is sunny"
        return join(subj + aux + [obj]), "wh_object"
    if tail and tail[-1] == "doing" and obj.split()[0].endswith("ing"):
        return join(subj + aux + tail[:-1] + [obj]), "wh_object"
    if q.is_prep(len(q.w) - 1):  # dangling preposition: "made of", "sitting on"
        return join(subj + aux + tail + [obj]), "wh_object"
    k = next((i for i, _ in enumerate(tail) if q.is_verbish(end + i)), None)
    if k is None:
        return join(subj + aux + tail + [obj]), "wh_object"
    return join(subj + aux + tail[:k + 1] + [obj] + tail[k + 1:]), "wh_object"


def _how_many(q: _Q, a: str) -> tuple[str, str] | None:
    w = q.w
    aux = next((k for k in range(2, len(w)) if w[k] in AUX), None)
    if aux is None:
        return None
    np_toks = q.t[2:aux]
    if a == "1" and np_toks:
        last = np_toks[-1].text.lower()
        np_words = [t.text.lower() for t in np_toks[:-1]] + [
            IRREGULAR_SINGULAR.get(last, np_toks[-1].lemma_.lower())]
        be = "is" if w[aux] == "are" else "was" if w[aux] == "were" else w[aux]
    else:
        np_words, be = [t.text.lower() for t in np_toks], w[aux]
    num = number_word(a)
    rest = w[aux + 1:]
    if rest[:1] == ["there"]:
        return join(["there", be, num] + np_words + rest[1:]), "how_many"
    if w[aux] in BE or not rest:
        return join([num] + np_words + [be] + rest), "how_many"
    end = q.subject_end(aux + 1)
    if end == aux + 1 or end >= len(w):
        return join([num] + np_words + [be] + rest), "how_many"
    verbs = [third_person(w[end])] if w[aux] == "does" else [w[end]] if w[aux] == "do" \
        else [w[aux], w[end]]
    return join(w[aux + 1:end] + verbs + [num] + np_words + w[end + 1:]), "how_many"


def _yes_no(q: _Q, a: str) -> tuple[str, str] | None:
    w = q.w
    aux = w[0]
    end = q.clause_subject_end(1)
    subj, pred = w[1:end], w[end:]
    if aux in DO:
        if not pred:
            return None
        verb = pred[0]
        if a == "yes":
            verbs = [third_person(verb)] if aux == "does" else [verb] if aux == "do" \
                else ["did", verb]
            return join(subj + verbs + pred[1:]), "yes_no"
        return join(subj + [aux, "not"] + pred), "yes_no"
    if subj[:2] == ["any", "of"]:  # "are any of the people ..." → none of / some of
        subj = ["some" if a == "yes" else "none"] + subj[1:]
        return join(subj + [aux] + pred), "yes_no"
    if a == "yes":
        subj = [POSITIVE_SUBJECT.get(x, x) for x in subj]
        if subj == ["there"] and pred[:1] == ["any"]:  # "are there any people" → "there are people"
            pred = pred[1:]
        return join(subj + [aux] + pred), "yes_no"
    if subj == ["there"] and pred[:1] not in (["more"], ["fewer"], ["less"]):  # not "no more"
        if pred and pred[0] in ("a", "an", "any", "some"):
            pred = pred[1:]
        return join(["there", aux, "no"] + pred), "yes_no"
    if len(subj) == 1 and subj[0] in NEGATIVE_SUBJECT:
        return join([NEGATIVE_SUBJECT[subj[0]], aux] + pred), "yes_no"
    return join(subj + _neg(aux) + pred), "yes_no"


def _choice(q: _Q, a: str) -> tuple[str, str] | None:
    """AUX SUBJ ... X or Y with the answer one of the options: the statement of that option."""
    w = q.w
    k = w.index("or")
    words = a.split()
    n, right = len(words), w[k + 1:]
    if w[max(0, k - n):k] == words:  # the first option: "is the door open or closed" + open
        start, option = k - n, words
    elif right[-n:] == words:  # the second: "is this a kitchen or a bathroom" + bathroom
        start, option = max(1, k - len(right)), right
    else:
        return None
    end = min(q.clause_subject_end(1), start)  # the subject may not swallow the option
    if end <= 1:
        return None
    return join(w[1:end] + [w[0]] + w[end:start] + option), "choice"


def _where_who_why_how(q: _Q, a: str) -> tuple[str, str] | None:
    w = q.w
    if len(w) < 2:
        return None
    if w[0] == "who" and w[1] in AUX:
        subj = a if a.split()[0] in NEGATIVE_SUBJECT.values() or a in PRONOUNS \
            or not _singular_word(a) else join(["the", a])
        return join([subj] + w[1:]), "who"
    if w[1] not in AUX:
        if w[0] == "how" and len(w) > 3 and w[2] in BE:  # how old|big|tall BE NP
            end = q.subject_end(3)
            if end == len(w) and end > 3:
                val = join([a, "years old"]) if w[1] == "old" and a.isdigit() else a
                return join(w[3:end] + [w[2], val]), "how"
        return None
    end = q.clause_subject_end(2) if w[0] == "why" else q.subject_end(2)
    if end == 2:
        return None
    subj, aux, tail = w[2:end], w[1], w[end:]
    if w[0] == "where":
        first = a.split()[0]
        place = a if first in PLACE_WORDS or q.t[0].doc.vocab[first].is_stop or first in (
            "on", "in", "at", "under", "behind", "near", "by") else \
            join(["on" if a.split()[-1] in SURFACES else "in", a])
        if aux in DO:
            if not tail:
                return None
            verbs = do_support(aux, tail[0])
            return join(subj + verbs + tail[1:] + [place]), "where"
        return join(subj + [aux] + tail + [place]), "where"
    if w[0] == "why":
        reason = a if a.split()[0] in ("to", "because", "so") else join(["because of", a])
        if aux in DO:
            if not tail:
                return None
            verbs = do_support(aux, tail[0])
            return join(subj + verbs + tail[1:] + [reason]), "why"
        return join(subj + [aux] + tail + [reason]), "why"
    if w[0] == "how":
        if aux in DO and tail:  # how does the food taste → the food tastes good
            verbs = do_support(aux, tail[0])
            return join(subj + verbs + tail[1:] + [a]), "how"
        if aux in BE:
            return join(subj + [aux] + tail + [a]), "how"
    return None


def do_support(aux: str, verb: str) -> list[str]:
    """The verb of a do-support question in its statement: "does" → third person ("taste" →
    "tastes"), "do" → as it is, "did" → kept before it ("did go")."""
    return [third_person(verb)] if aux == "does" else [verb] if aux == "do" else ["did", verb]


def statement(doc, answer: str) -> tuple[str, str]:
    """``(statement, rule)`` of one parsed question and one answer (see module docstring)."""
    q = _Q(doc)
    w = q.w
    a = join([answer.lower()])
    out = None
    if not w or not a:
        out = None
    elif len(w) >= 3 and w[:2] == ["how", "many"]:
        out = _how_many(q, a)
    elif w[0] in ("what", "which") and len(w) >= 3:
        out = _wh(q, a)
    elif w[0] in AUX and len(w) >= 2:
        if "or" in w[2:] and a not in ("yes", "no"):
            out = _choice(q, a)
        elif a in ("yes", "no"):
            out = _yes_no(q, a)
    elif w[0] in ("who", "where", "why", "how"):
        out = _where_who_why_how(q, a)
    return out if out is not None else (join(["the answer is", a]), "fallback")
