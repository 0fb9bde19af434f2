"""SNLI-VE: the official ``snli_ve_{split}.jsonl`` files and Flickr30k image names.

Source: https://github.com/necla-ml/SNLI-VE (Xie et al. 2019, generated from SNLI), splits
train / dev / test. One JSON object per line::

    {"Flikr30kID": "123.jpg" | "Flickr30K_ID": "123",   # the image, either spelling
     "sentence1": str,          # premise: a Flickr30k caption of the image
     "sentence2": str,          # hypothesis
     "gold_label": "entailment" | "neutral" | "contradiction" | "-",   # "-": no majority
     "annotator_labels": [str, ...], "captionID": "123.jpg#0", "pairID": "123.jpg#0r1n", ...}

``Flikr30kID`` (sic) is the original release's spelling (file name), ``Flickr30K_ID`` the newer
generator's (id without extension). Images: ``flickr30k_images/<id>.jpg`` relative to the root.

    write_split(root, "test", [pair("123.jpg", 0, 1, premise, hyp, "neutral")])
    for lineno, obj in read_split(root, "test"): ...   # obj None for a malformed line
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fgalign.data.formats.jsonio import COMPACT, JsonStyle, record, write_jsonl
from fgalign.data.paths import iter_jsonl

FILE = "snli_ve_{split}.jsonl"
IMAGES_DIR = "flickr30k_images"
IMAGE_ID_KEYS = ("Flikr30kID", "Flickr30K_ID")  # original release / newer generator
NO_MAJORITY = "-"  # gold_label of a pair without an annotator majority
FIELDS = (*IMAGE_ID_KEYS, "sentence1", "sentence2", "gold_label", "annotator_labels",
          "captionID", "pairID")


def split_file(root: str | Path, split: str) -> Path:
    """``root/snli_ve_{split}.jsonl``."""
    return Path(root) / FILE.format(split=split)


def image_relpath(file_name: str) -> str:
    """``flickr30k_images/<file_name>``: an image relative to the dataset root."""
    return f"{IMAGES_DIR}/{file_name}"


def pair(image: str, caption: int, hypothesis: int, premise: str, text: str, label: str,
         id_key: str = "Flikr30kID", annotator_labels: list[str] | None = None) -> dict[str, Any]:
    """One line: ``image`` the file name ("123.jpg"; stored without extension under
    ``Flickr30K_ID``), ``caption`` the premise's index among the image's captions
    (``captionID`` "123.jpg#0"), ``hypothesis`` the hypothesis number in ``pairID``
    ("123.jpg#0r1n": caption, "r", number, the label's initial)."""
    caption_id = f"{image}#{caption}"
    value = image if id_key == "Flikr30kID" else image.rsplit(".", 1)[0]
    return record(FIELDS, **{id_key: value}, sentence1=premise, sentence2=text, gold_label=label,
                  annotator_labels=[label] if annotator_labels is None else annotator_labels,
                  captionID=caption_id, pairID=f"{caption_id}r{hypothesis}{label[0]}")


def write_split(root: str | Path, split: str, pairs: list[dict],
                style: JsonStyle = COMPACT) -> Path:
    """Write ``snli_ve_{split}.jsonl`` in ``root``, one line per pair; returns its path."""
    return write_jsonl(split_file(root, split), pairs, style)


def read_split(root: str | Path, split: str) -> Iterator[tuple[int, dict | None]]:
    """``(line number, object)`` per non-blank line, ``object`` None for a malformed line.

    Raises:
        FileNotFoundError: ``snli_ve_{split}.jsonl`` is missing (naming it).
    """
    return iter_jsonl(split_file(root, split))
