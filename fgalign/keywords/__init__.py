"""Keyword extraction: extractors by name (``spacy``, ``rule``), VCR references, the stage.

    from fgalign.keywords import create_extractor, KeywordExtractor
    create_extractor("rule").extract(["Is the red circle left of the square?"])
"""
from fgalign.keywords import rule, spacy_extractor  # noqa: F401  (register extractors)
from fgalign.keywords.base import (
    EXTRACTORS,
    KeywordExtractorBase,
    create_extractor,
    dedupe,
    list_extractors,
    register_extractor,
)
from fgalign.keywords.stage import KeywordExtractor

__all__ = [
    "EXTRACTORS",
    "KeywordExtractor",
    "KeywordExtractorBase",
    "create_extractor",
    "dedupe",
    "list_extractors",
    "register_extractor",
]
