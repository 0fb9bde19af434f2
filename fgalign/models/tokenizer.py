"""A small word-level tokenizer for the bundled backbones.

open_clip's BPE tokenizer has a 49k-row embedding table, which would dominate a tiny model's
weights. The synthetic world speaks a closed vocabulary of a few hundred words, so the tiny
backbones use one token per word (plus punctuation). The output matches open_clip's tokenizer
contract: ``tokenizer(list[str]) -> LongTensor (N, context_length)``, zero-padded, each row
``[SOT, w1, ..., wk, EOT, PAD...]``; the text tower pools at the EOT token (``pool_type="eos"``).

    tok = WordTokenizer.from_texts(["a red circle", "two blue squares"], context_length=32)
    ids = tok(["a red circle"])          # (1, 32) int64
    tok.decode(ids[0])                   # "a red circle"
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

import torch

PAD, UNK, SOT, EOT = "<pad>", "<unk>", "<sot>", "<eot>"
SPECIALS = (PAD, UNK, SOT, EOT)  # ids 0, 1, 2, 3
_WORD = re.compile(r"[a-z0-9]+|[^\sa-z0-9]")


def split_words(text: str) -> list[str]:
    """Lower-cased words and single punctuation marks of ``text``."""
    return _WORD.findall(text.lower())


class WordTokenizer:
    """Maps words to ids from a fixed vocabulary; unknown words map to ``<unk>``.

    Args:
        vocab: the token list; must start with ``<pad>, <unk>, <sot>, <eot>`` (ids 0-3).
        context_length: tokens per row, SOT and EOT included; longer texts are truncated
            (EOT is kept as the last token so pooling still sees it).
    """

    def __init__(self, vocab: Sequence[str], context_length: int = 32):
        if tuple(vocab[: len(SPECIALS)]) != SPECIALS:
            raise ValueError(f"vocab must start with {SPECIALS}, got {tuple(vocab[:4])}")
        if len(set(vocab)) != len(vocab):
            raise ValueError("vocab has duplicate tokens")
        if context_length < 3:
            raise ValueError(f"context_length must be >= 3, got {context_length}")
        self.vocab = list(vocab)
        self.context_length = context_length
        self.index = {w: i for i, w in enumerate(self.vocab)}
        self.pad_id, self.unk_id, self.sot_id, self.eot_id = range(4)

    @classmethod
    def from_texts(cls, texts: Iterable[str], context_length: int = 32,
                   min_count: int = 1) -> WordTokenizer:
        """Builds the vocabulary of a corpus: words seen ``min_count`` times, most common first."""
        counts = Counter(w for t in texts for w in split_words(t))
        words = sorted((w for w, c in counts.items() if c >= min_count),
                       key=lambda w: (-counts[w], w))
        return cls(list(SPECIALS) + words, context_length)

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def encode(self, text: str) -> list[int]:
        """Ids of ``text`` without SOT/EOT or padding."""
        return [self.index.get(w, self.unk_id) for w in split_words(text)]

    def __call__(self, texts: str | Sequence[str],
                 context_length: int | None = None) -> torch.Tensor:
        """Tokenizes ``texts`` → LongTensor (N, context_length)."""
        if isinstance(texts, str):
            texts = [texts]
        n_ctx = context_length or self.context_length
        out = torch.full((len(texts), n_ctx), self.pad_id, dtype=torch.long)  # (N, L)
        for row, text in enumerate(texts):
            ids = [self.sot_id] + self.encode(text)[: n_ctx - 2] + [self.eot_id]
            out[row, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        return out

    def decode(self, ids: Sequence[int] | torch.Tensor) -> str:
        """Text of one row of ids (specials dropped, words joined by spaces)."""
        ids = ids.tolist() if isinstance(ids, torch.Tensor) else list(ids)
        words = [self.vocab[i] for i in ids if i >= len(SPECIALS) or i == self.unk_id]
        return " ".join(words)

    def to_dict(self) -> dict:
        """JSON-able form (stored in the backbone's JSON config)."""
        return {"type": "word", "context_length": self.context_length, "vocab": self.vocab}

    @classmethod
    def from_dict(cls, d: dict) -> WordTokenizer:
        if d.get("type") != "word":
            raise ValueError(f"not a word tokenizer config: type={d.get('type')!r}")
        return cls(d["vocab"], int(d["context_length"]))
