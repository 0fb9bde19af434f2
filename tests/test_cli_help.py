"""Help texts: plain text (no reStructuredText markup), and every verb describes itself."""
import argparse

from fgalign.cli import build_parser, plain_text


def _parsers(parser, path=("fgalign",)):
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from _parsers(child, (*path, name))


def test_plain_text_drops_rst_markup():
    assert plain_text("run ``fgalign evaluate`` via :func:`fgalign.cli.main`") == \
        "run fgalign evaluate via fgalign.cli.main"


def test_every_verb_has_a_plain_description():
    parsers = list(_parsers(build_parser()))
    assert {p[1:] for p, _ in parsers} >= {("eval-vqa",), ("data", "stats"), ("evaluate",)}
    for path, parser in parsers:
        text = parser.format_help()
        assert parser.description, " ".join(path)
        assert "``" not in text and ":func:" not in text, " ".join(path)
