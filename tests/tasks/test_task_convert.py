"""Question → statement converters: exact rule outputs, and the T5 code path (tiny random T5)."""
import pytest

from fgalign.tasks.vqa.convert import CONVERTERS, create_converter, number_word

CASES = [
    ("What color is the triangle?", "red", "the red triangle"),
    ("What color is the object left of the green circle?", "red",
     "the red object left of the green circle"),
    ("What shape is the red object?", "star", "the red star"),
    ("What shape is left of the green circle?", "star", "a star is left of the green circle"),
    ("What animal is the pet?", "dog", "the pet is a dog"),
    ("How many red objects are there?", "2", "there are two red objects"),
    ("How many circles are there?", "1", "there is one circle"),
    ("How many red objects are there?", "0", "there are no red objects"),
    ("Is there a blue star?", "yes", "there is a blue star"),
    ("Is there a blue star?", "no", "there is no blue star"),
    ("Is the red star bigger than the blue circle?", "no",
     "the red star is not bigger than the blue circle"),
    ("What is the man holding?", "bat", "the man is holding bat"),
    ("Why is the sky blue?", "rain", "the sky is blue because of rain"),
]


@pytest.fixture(scope="module")
def rule():
    return create_converter("rule")


@pytest.mark.parametrize("question,answer,statement", CASES)
def test_rule_converter(rule, question, answer, statement):
    assert rule([question], [[answer]]) == [[statement]]


def test_rule_converter_batches_keep_order(rule):
    out = rule([q for q, _, _ in CASES], [[a] for _, a, _ in CASES])
    assert [o[0] for o in out] == [s for _, _, s in CASES]


def test_number_words():
    assert number_word("3") == "three" and number_word("0") == "no" and number_word("42") == "42"
    assert sorted(CONVERTERS.list()) == ["rule", "t5"]


def test_t5_converter_code_path(tmp_path):
    """A tiny randomly initialised T5 + word-level tokenizer saved locally: no download."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast, T5Config, T5ForConditionalGeneration

    words = ["<pad>", "</s>", "<unk>", "question", ":", "answer", "what", "color", "is", "the",
             "triangle", "?", "red", "blue"]
    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="</s>",
                                   unk_token="<unk>")
    fast.save_pretrained(tmp_path)
    cfg = T5Config(vocab_size=len(words), d_model=16, d_ff=32, d_kv=8, num_layers=1,
                   num_heads=2, decoder_start_token_id=0, pad_token_id=0, eos_token_id=1)
    T5ForConditionalGeneration(cfg).save_pretrained(tmp_path)
    conv = create_converter("t5", model=str(tmp_path), max_new_tokens=4, batch_size=2)
    out = conv(["what color is the triangle ?", "what color is the triangle ?"],
               [["red", "blue", "red"], ["blue"]])
    assert [len(x) for x in out] == [3, 1]
    assert all(isinstance(s, str) for x in out for s in x)
    assert out[0][0] == out[0][2]  # greedy decoding is deterministic


def test_t5_needs_a_model_path():
    with pytest.raises(ValueError, match="t5_model"):
        create_converter("t5")
