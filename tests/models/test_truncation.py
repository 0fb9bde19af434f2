"""Texts longer than the text encoder's context are detected (they are cut by the tokenizer)."""
import pytest

from fgalign.models.backbone import Backbone
from fgalign.models.tokenizer import SPECIALS, WordTokenizer


def backbone_with(tokenizer) -> Backbone:
    return Backbone(model=None, preprocess=None, tokenizer=tokenizer, embed_dim=4, image_size=8,
                    name="tok-only")


def test_word_tokenizer_context_boundary():
    bb = backbone_with(WordTokenizer(list(SPECIALS) + ["red"], context_length=6))
    # SOT + 4 words + EOT = 6 fits; 5 words are cut; unknown words count as tokens too
    got = bb.truncated(["red " * 4, "red " * 5, "", "blue " * 4, "blue " * 9])
    assert got.tolist() == [False, True, False, False, True]


def test_open_clip_bpe_tokenizer_77_tokens():
    from open_clip.tokenizer import SimpleTokenizer

    bb = backbone_with(SimpleTokenizer())  # CLIP's BPE tokenizer, context 77, bundled vocab
    assert bb.tokenizer.context_length == 77
    got = bb.truncated(["a " * 75, "a " * 76, "a red circle", "word " * 1000])
    assert got.tolist() == [False, True, False, True]


def test_no_context_length_means_nothing_to_report():
    bb = backbone_with(lambda texts, context_length=None: None)
    assert bb.truncated(["x"]).tolist() == [False] and bb.truncated([]).shape == (0,)


@pytest.mark.slow
def test_embed_stage_counts_truncated_texts_per_row(tmp_path):
    from fgalign.embed import TextEmbedder
    from fgalign.engine.batch import rows_to_batch

    emb = TextEmbedder({"name": "test-tiny", "device": "cpu"}, {"text": str(tmp_path / "t")},
                       max_keywords=2)
    n_ctx = emb.backbone.tokenizer.context_length
    long = " ".join(["red"] * (n_ctx - 1))  # SOT + n_ctx-1 words + EOT: one token too many
    fits = " ".join(["red"] * (n_ctx - 2))
    row = {"error": "", "statements": [long, fits, long], "keywords": [[fits], [], []]}
    out = emb(rows_to_batch([row, {**row, "statements": [fits]}, {**row, "error": "read:x"}]))
    assert out["truncated_texts"].tolist() == [2, 0, 0]  # both long statements of row 0
