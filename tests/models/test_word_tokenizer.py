"""The word-level tokenizer of the tiny backbones."""
from __future__ import annotations

import pytest
import torch

from fgalign.models.tokenizer import WordTokenizer, split_words

CORPUS = ["A red circle.", "Two blue squares, left of a red circle.", "a red star"]


def test_vocab_and_ids():
    tok = WordTokenizer.from_texts(CORPUS, context_length=8)
    assert tok.vocab[:4] == ["<pad>", "<unk>", "<sot>", "<eot>"]
    assert tok.vocab[4:6] == ["a", "red"]  # most frequent first, ties alphabetical
    ids = tok(["a red circle", "purple circle"])
    assert ids.dtype == torch.long and ids.shape == (2, 8)
    a, red, circle = tok.index["a"], tok.index["red"], tok.index["circle"]
    assert ids[0].tolist() == [2, a, red, circle, 3, 0, 0, 0]
    assert ids[1].tolist() == [2, 1, circle, 3, 0, 0, 0, 0]  # unknown word → <unk>


def test_round_trip_and_truncation():
    tok = WordTokenizer.from_texts(CORPUS, context_length=8)
    text = "Two blue squares, left of a red circle."
    assert tok.decode(tok([text])[0][:5]) == "two blue squares ,"
    full = WordTokenizer.from_dict(tok.to_dict())
    long = full([text])[0]  # 10 words + SOT/EOT > 8: truncated, EOT kept last
    assert long.tolist()[-1] == 3 and long.tolist()[0] == 2
    wide = WordTokenizer(tok.vocab, context_length=16)
    assert wide.decode(wide([text])[0]) == " ".join(split_words(text))


def test_bad_vocab():
    with pytest.raises(ValueError, match="must start with"):
        WordTokenizer(["a", "b"])
    with pytest.raises(ValueError, match="duplicate"):
        WordTokenizer(["<pad>", "<unk>", "<sot>", "<eot>", "a", "a"])
