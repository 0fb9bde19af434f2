"""One numbering of VCR objects: texts, figures, keywords and the dataset's *_orig texts."""
from fgalign.data.synth.questions.vcr import orig
from fgalign.data.vcr import object_labels, object_number, render_tokens
from fgalign.experiment.figures import box_numbering
from fgalign.keywords import create_extractor

NAMES = ["circle", "star", "square", "star"]


def test_text_figure_and_orig_give_an_object_the_same_number():
    text, refs = render_tokens(["What", "color", "is", [3], "?"], object_labels(NAMES))
    assert text == "What color is star 4?" and refs == [3]
    assert orig("What color is [3] ?") == "What color is 4?"  # the dataset's own numbering
    row = {"object_names": NAMES, "box_labels": NAMES}  # dataset proposer: box r = object r
    kind, number = box_numbering(row, len(NAMES))
    assert (kind, number(3)) == ("object", 4) == ("object", object_number(3))


def test_unique_classes_carry_no_number_and_proposals_are_regions():
    assert object_labels(["person", "dog", "person"]) == ["person 1", "the dog", "person 3"]
    kind, number = box_numbering({"box_labels": ["", ""]}, 2)
    assert (kind, number(0)) == ("region", 1)


def test_keywords_resolve_the_rendered_number_to_its_object():
    text, refs = render_tokens(["Is", [1], "left", "of", [3], "?"], object_labels(NAMES))
    assert text == "Is star 2 left of star 4?"
    kws, kw_refs = create_extractor("rule").extract_with_refs([text], [refs], [NAMES])
    assert kws[0][:1] == ["star"] and kw_refs[0][:2] == [[1], [3]]
    assert "2" not in kws[0] and "4" not in kws[0]
