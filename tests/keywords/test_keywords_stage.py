"""The KeywordExtractor stage over dict-batches: rows in = rows out, references, errors."""
import numpy as np
import pytest

from fgalign.engine.batch import object_column
from fgalign.keywords import KeywordExtractor


@pytest.fixture(scope="module", params=["rule", "spacy"])
def stage(request):
    return KeywordExtractor(request.param, max_keywords=4)


def test_keywords_per_statement_and_error_rows_pass_through(stage):
    batch = {
        "uid": np.array(["a", "b", "c"], dtype=object),
        "statements": object_column([["The circle is red.", "The circle is blue."],
                                     ["x"], np.array(["There are two stars."], dtype=object)]),
        "text": np.array(["What color is the circle?", "x", "How many stars are there?"],
                         dtype=object),
        "error": np.array(["", "regions:missing", ""], dtype=object),
    }
    out = stage(batch)
    assert out["uid"].tolist() == ["a", "b", "c"] and out["error"].tolist() == batch["error"].tolist()
    assert out["keywords"][0] == [["red circle", "circle", "red"], ["blue circle", "circle", "blue"]]
    assert out["keywords"][1] == [] and out["kw_refs"][1] == []
    assert out["keywords"][2] == [["two stars", "two", "star"]]
    assert out["kw_refs"][0] == [[[], [], []], [[], [], []]]
    assert out["text_keywords"][0] == ["color", "circle"] and out["text_kw_refs"][0] == [[], []]
    assert out["text_keywords"][1] == []
    assert all(out[k].dtype == object and len(out[k]) == 3
               for k in ("keywords", "kw_refs", "text_keywords", "text_kw_refs"))


def test_vcr_references_are_carried(stage):
    batch = {
        "statements": object_column([["The circle is red.", "The star is left of the circle."]]),
        "text": np.array(["What color is the circle?"], dtype=object),
        "error": np.array([""], dtype=object),
        "object_names": object_column([np.array(["circle", "star"], dtype=object)]),
        "statement_refs": object_column([[np.array([0]), [1, 0]]]),
        "text_refs": object_column([np.array([0])]),
    }
    out = stage(batch)
    assert out["keywords"][0] == [["circle", "red"], ["star", "circle", "left"]]
    assert out["kw_refs"][0] == [[[0], []], [[1], [0], []]]
    assert out["text_keywords"][0] == ["circle", "color"]
    assert out["text_kw_refs"][0] == [[0], []]


def test_empty_batch(stage):
    out = stage({"statements": object_column([]), "text": np.array([], dtype=object)})
    assert len(out["keywords"]) == 0 and len(out["kw_refs"]) == 0
