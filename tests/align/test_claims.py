"""Claims of a statement (fgalign.align.claims): every pattern of the module docstring, both
parsers, and negation."""
import pytest

from fgalign.align.claims import Claim, clean_np, number_of, parse_claims, rule_claims

CASES = [  # text, claims both parsers must give
    ("there are two red circles", [Claim("count", ("red circles",), ("eq", 2))]),
    ("There are 3 blue squares.", [Claim("count", ("blue squares",), ("eq", 3))]),
    ("there is no gray cross", [Claim("count", ("gray cross",), ("eq", 0))]),
    ("there is a purple cross", [Claim("count", ("purple cross",), ("eq", 1))]),
    ("there are several stars", [Claim("count", ("stars",), ("ge", 2))]),
    ("there are more blue objects than gray objects",
     [Claim("count", ("blue objects", "gray objects"), ("gt", None))]),
    ("there are not more blue objects than gray objects",
     [Claim("count", ("blue objects", "gray objects"), ("gt", None), True)]),
    ("the orange star is bigger than the circle",
     [Claim("size", ("orange star", "circle"), "larger")]),
    ("the triangle is not bigger than the green cross",
     [Claim("size", ("triangle", "green cross"), "larger", True)]),
    ("[3] is small and [0] is large.",
     [Claim("size", ("[3]",), "small"), Claim("size", ("[0]",), "large")]),
    ("[1] and [0] are both small.",
     [Claim("size", ("[1]",), "small"), Claim("size", ("[0]",), "small")]),
    ("The yellow star is left of the green star.",
     [Claim("relation", ("yellow star", "green star"), "left")]),
    ("[2] is above [0].", [Claim("relation", ("[2]", "[0]"), "above")]),
    ("the yellow object right of the circle",
     [Claim("relation", ("yellow object", "circle"), "right")]),
    ("The red circle is to the left of the blue star.",
     [Claim("relation", ("red circle", "blue star"), "left")]),
    ("The orange star is fragile.", []),
    ("It is a circle.", []),
]


@pytest.mark.parametrize("parser", ["rule", "spacy"])
@pytest.mark.parametrize("text,want", CASES)
def test_patterns(parser, text, want):
    assert parse_claims(text, parser) == want


def test_attributive_size_and_count_together():
    got = parse_claims("There is a large yellow star in the picture.", "rule")
    assert Claim("count", ("large yellow star",), ("eq", 1)) in got
    assert Claim("size", ("yellow star",), "large") in got


def test_size_word_does_not_swallow_the_predicate():
    assert rule_claims("The large star is heavy.") == [Claim("size", ("star",), "large")]


def test_helpers():
    assert clean_np("the two Red circles") == "red circles"
    assert clean_np("[3]") == "[3]"
    assert number_of("7") == 7 and number_of("no") == 0 and number_of("red") is None


def test_unknown_parser():
    with pytest.raises(ValueError, match="unknown claim parser"):
        parse_claims("x", "regex")
