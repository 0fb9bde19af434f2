"""spaCy and rule extractors on hand-written sentences: exact expected keywords."""
import pytest

from fgalign.keywords import create_extractor, dedupe, list_extractors

EXTRACTORS = ["rule", "spacy"]

# sentences on which both extractors must agree exactly
SHARED = {
    "Is the red circle left of two blue squares?":
        ["red circle", "two blue squares", "red", "circle", "left", "two", "blue", "square"],
    "There are 3 small crosses.": ["3 small crosses", "3", "small", "cross"],
    "The circle is red.": ["red circle", "circle", "red"],
    "The color of the circle is gray.": ["gray circle", "color", "circle", "gray"],
    "There is a cyan hexagon.": ["cyan hexagon", "cyan", "hexagon"],
    "Two squares are green.": ["two squares", "green squares", "two", "square", "green"],
    "The red circle is big.": ["red circle", "big circle", "red", "circle", "big"],
    "The square is left of the circle.": ["square", "left", "circle"],
    "": [],
}


@pytest.fixture(scope="module", params=EXTRACTORS)
def extractor(request):
    return create_extractor(request.param, max_keywords=8)


@pytest.mark.parametrize("text", list(SHARED))
def test_shared_sentences(extractor, text):
    assert extractor.extract([text]) == [SHARED[text]]


def test_batch_keeps_order_and_caps(extractor):
    texts = list(SHARED)
    assert extractor.extract(texts) == [SHARED[t] for t in texts]
    capped = create_extractor("rule", max_keywords=3).extract(texts[:1])
    assert capped == [["red circle", "two blue squares", "red"]]


def test_spacy_lemmatises_verbs_and_drops_stop_words():
    ex = create_extractor("spacy")
    assert ex.extract(["A man is holding a brown dog.", "A woman throws two frisbees."]) == [
        ["brown dog", "man", "hold", "brown", "dog"],
        ["two frisbees", "woman", "throw", "two", "frisbee"]]


def test_rule_singulars_and_stop_words():
    ex = create_extractor("rule")
    assert ex.extract(["How many boxes and crosses are there?"]) == [["box", "cross"]]
    assert ex.extract(["Berries, buses and glasses."]) == [["berry", "buse", "glass"]]


def test_registry():
    assert list_extractors() == ["rule", "spacy"]
    with pytest.raises(KeyError, match="known: rule, spacy"):
        create_extractor("bert")


def test_dedupe():
    assert dedupe(["a", "", "b", "a", "c"], limit=2) == ["a", "b"]


@pytest.mark.parametrize("name", EXTRACTORS)
def test_references_become_object_keywords_with_indices(name):
    ex = create_extractor(name)
    names = ["person", "person", "dog"]
    kws, refs = ex.extract_with_refs(
        ["Person 1 is looking at the dog.", "Why is [1] sad ?", "the circle is red",
         "Nobody is there ."],
        refs=[[0, 2], [1], [("the circle", 0)], [2]],
        names=[names, names, None, names])
    verb = "look" if name == "spacy" else "looking"
    assert kws[0] == ["person", "dog", verb] and refs[0] == [[0], [2], []]
    assert kws[1] == ["person", "sad"] and refs[1] == [[1], []]
    assert kws[2] == ["circle", "red"] and refs[2] == [[0], []]  # mention cut: no "red circle"
    assert kws[3][0] == "dog" and refs[3][0] == [2]  # not found in text: still a keyword
    assert all(r == [] for r in refs[3][1:])
    two = ex.extract_with_refs(["[0] and [1] are both red ."], refs=[[0, 1]], names=[names])
    assert two == ([["person", "person", "red"]], [[[0], [1], []]])


@pytest.mark.parametrize("name", EXTRACTORS)
def test_references_rendered_by_the_vcr_reader(name):
    from fgalign.data.vcr import object_labels, render_tokens

    names = ["person", "person", "dog", "star"]
    text, refs = render_tokens(["Why", "is", [1], "looking", "at", [2, 3], "?"],
                               object_labels(names))
    assert text == "Why is person 2 looking at the dog and the star?"
    kws, kw_refs = create_extractor(name).extract_with_refs([text], [refs], [names])
    assert kws[0][:3] == ["person", "dog", "star"] and kw_refs[0][:3] == [[1], [2], [3]]
    assert "2" not in kws[0] and kw_refs[0][3:] == [[]] * (len(kws[0]) - 3)
