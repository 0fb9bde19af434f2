"""fgalign predict: the three task shapes on real photos (scikit-image's coffee and astronaut),
with shapes-tiny and a ViT-B-32-sized random checkpoint; CLI table / JSON / errors."""
import json
import math
from pathlib import Path

import pytest
from PIL import Image

from fgalign.schema import SNLI_VE_LABELS

pytestmark = pytest.mark.slow
CONFIG = str(Path(__file__).resolve().parents[1] / "configs" / "demo.yaml")


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    data = pytest.importorskip("skimage.data")
    out = tmp_path_factory.mktemp("photos")
    Image.fromarray(data.coffee()).save(out / "coffee.png")
    Image.fromarray(data.astronaut()).save(out / "astronaut.jpg", quality=90)
    return {"coffee": out / "coffee.png", "astronaut": out / "astronaut.jpg"}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Overrides: a small synthetic world (generated on first use) and its own caches."""
    base = tmp_path_factory.mktemp("predict-world")
    return [f"data.root={base / 'w'}", "data.synth.images=30", "data.synth.image_size=64",
            "data.synth.seed=5", "tasks.snli_ve.train_limit=30", "tasks.snli_ve.val_limit=12",
            "tasks.snli_ve.steps=10", "tasks.vqa.val_limit=12",
            f"experiment.output_dir={base / 'runs'}"]


def finite(p) -> bool:
    return all(v is not None and math.isfinite(v) for c in p.candidates
               for v in c.scores.values())


def check_figure(path, photo) -> None:
    assert Path(path).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert Image.open(path).size == Image.open(photo).size


def test_vqa_with_answers_and_figure(photos, tmp_path):
    from fgalign import predict

    p = predict(photos["coffee"], "What is in the cup?", answers=["coffee", "tea", "milk"],
                config=CONFIG, figure=tmp_path / "fig.png")
    assert p.task == "vqa" and p.prediction in ("coffee", "tea", "milk")
    assert [c.text for c in p.candidates] == ["coffee", "tea", "milk"]
    assert p.candidates[0].statement == "coffee is in the cup"
    assert set(p.candidates[0].scores) == {"global", "region_word", "region_sentence",
                                           "tag_text", "count", "size", "relation",
                                           "fusion"} and finite(p)
    # "coffee is in the cup" makes no count / size / relation claim: no evidence, global
    for c in ("count", "size", "relation"):
        assert p.candidates[0].scores[c] == p.candidates[0].scores["global"]
    assert p.alignment and all(0 <= a["region"] and 0 < a["alpha"] <= 1 for a in p.alignment)
    check_figure(p.figure, photos["coffee"])
    json.loads(p.to_json())


def test_vqa_candidates_from_the_vocabulary(photos, world):
    from fgalign.tasks.predict import predict

    p = predict(photos["coffee"], "What color is the circle?", config=CONFIG, overrides=world)
    texts = [c.text for c in p.candidates]
    assert p.prediction in texts and 0 < len(texts) <= 32 and finite(p)
    assert "uncalibrated" in p.note


def test_vcr_choices(photos, tmp_path):
    from fgalign.tasks.predict import predict

    choices = ["she is happy", "a red circle", "two dogs", "it is raining"]
    p = predict(photos["astronaut"], "Why is she smiling?", choices=choices, config=CONFIG,
                figure=tmp_path / "vcr.png")
    assert p.task == "vcr" and [c.text for c in p.candidates] == choices
    assert p.prediction in choices and finite(p)
    check_figure(p.figure, photos["astronaut"])


def test_snli_ve_without_a_fit_reports_raw_scores(photos, tmp_path):
    from fgalign.tasks.predict import predict

    p = predict(photos["astronaut"], hypothesis="A woman is in a space suit.", config=CONFIG,
                overrides=[f"data.root={tmp_path / 'absent'}"])
    assert p.prediction is None and "no label" in p.note
    assert len(p.candidates) == 1 and p.candidates[0].statement == "A woman is in a space suit."
    assert finite(p)


def test_snli_ve_calibrated_then_cached(photos, world, tmp_path):
    from fgalign.tasks.predict import predict

    p = predict(photos["astronaut"], hypothesis="A woman is in a space suit.", config=CONFIG,
                overrides=world, calibrate=True, figure=tmp_path / "ve.png")
    assert p.prediction in SNLI_VE_LABELS and [c.text for c in p.candidates] == \
        list(SNLI_VE_LABELS) and finite(p) and "fitted now" in p.note
    assert "fusion" in p.candidates[0].scores  # class logits per variant
    check_figure(p.figure, photos["astronaut"])
    again = predict(photos["astronaut"], hypothesis="A woman is in a space suit.",
                    config=CONFIG, overrides=world)  # no --calibrate: the cached fit
    assert "cached" in again.note and again.prediction == p.prediction


def test_snli_ve_uses_the_fit_an_evaluate_run_cached(photos, world, tmp_path):
    """The documented path: ``fgalign evaluate`` of a config, then ``predict`` on it."""
    from fgalign.cli import main
    from fgalign.tasks.predict import predict

    over = [o for o in world if not o.startswith("experiment.output_dir")] + [
        f"experiment.output_dir={tmp_path / 'runs'}", "data.tasks=[snli_ve]", "data.limit=3",
        "logging.figures=0"]
    assert main(["evaluate", "--config", CONFIG] + [a for o in over for a in ("--set", o)]) == 0
    p = predict(photos["astronaut"], hypothesis="There is a red circle.", config=CONFIG,
                overrides=over)
    assert "the fit a run cached under" in p.note and str(tmp_path / "runs") in p.note
    assert p.prediction in SNLI_VE_LABELS and finite(p)


def test_model_built_once_per_process(photos, monkeypatch):
    from fgalign import embed
    from fgalign.tasks.predict import predict

    calls = []
    real = embed.create_backbone
    monkeypatch.setattr(embed, "create_backbone", lambda *a, **k: calls.append(a) or real(*a, **k))
    monkeypatch.setattr(embed, "_BACKBONES", {})
    for q in ("What is in the cup?", "What is on the plate?"):
        predict(photos["coffee"], q, answers=["coffee", "tea"], config=CONFIG)
    assert len(calls) == 1


def test_vit_b_32_sized_random_checkpoint(photos, tmp_path):
    """The open_clip path: a ViT-B-32 architecture with random weights from a local file."""
    open_clip = pytest.importorskip("open_clip")
    from safetensors.torch import save_file

    from fgalign.tasks.predict import predict

    model = open_clip.create_model("ViT-B-32", pretrained=None)
    ckpt = tmp_path / "vit-b-32-random.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(ckpt))
    del model
    over = ["model.name=ViT-B-32", f"model.checkpoint={ckpt}", "regions.tag_vocab=shapes"]
    p = predict(photos["coffee"], "What is in the cup?", answers=["coffee", "tea"],
                config=CONFIG, overrides=over, figure=tmp_path / "b32.png")
    assert p.prediction in ("coffee", "tea") and finite(p)
    check_figure(p.figure, photos["coffee"])
    p = predict(photos["astronaut"], "Who is this?", choices=["an astronaut", "a cat"],
                config=CONFIG, overrides=over)
    assert p.prediction in ("an astronaut", "a cat") and finite(p)
    p = predict(photos["astronaut"], hypothesis="A person smiles.", config=CONFIG,
                overrides=over + [f"data.root={tmp_path / 'absent'}"])
    assert p.prediction is None and finite(p)


def test_cli_table_and_json(photos, capsys):
    from fgalign.cli import main

    argv = ["predict", "--config", CONFIG, "--image", str(photos["coffee"]), "--question",
            "What is in the cup?", "--answers", "coffee, tea"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "prediction:" in out and "fusion" in out and "coffee is in the cup" in out
    assert main(argv + ["--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["prediction"] in ("coffee", "tea")
    assert [set(c) for c in got["candidates"]] == [{"text", "statement", "scores"}] * 2


@pytest.mark.parametrize("args, message", [
    (["--image", "{missing}", "--question", "What?"], "image not found"),
    (["--image", "{not_image}", "--question", "What?"], "not a readable image"),
    (["--image", "{photo}", "--question", "   "], "the question is empty"),
    (["--image", "{photo}", "--hypothesis", ""], "the hypothesis is empty"),
    (["--image", "{photo}", "--question", "What?", "--answers", " , "], "no non-empty"),
    (["--image", "{photo}", "--question", "What?", "--set", "data.root=null"],
     "data.root is not set"),
])
def test_cli_bad_input_is_one_line_exit_2(photos, tmp_path, capsys, args, message):
    from fgalign.cli import main

    (tmp_path / "notes.png").write_text("not an image")
    paths = {"missing": tmp_path / "nope.png", "not_image": tmp_path / "notes.png",
             "photo": photos["coffee"]}
    argv = ["predict", "--config", CONFIG] + [a.format(**paths) for a in args]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and err.startswith("fgalign predict:")


def test_typed_text_is_normalised_as_the_readers_do(photos):
    """Zero-width characters and decomposed accents change nothing; a duplicate option once."""
    from fgalign.tasks.predict import predict

    clean = predict(photos["coffee"], "What color is the cafe\u0301 cup?",
                    answers=["red", "white"], config=CONFIG)
    odd = predict(photos["coffee"], "What color is the\u200b caf\u00e9 cup?",
                  answers=["red\u200b", "white", "white\ufeff"], config=CONFIG)
    assert odd.text == clean.text == "What color is the caf\u00e9 cup?"
    assert [c.text for c in odd.candidates] == ["red", "white"]
    assert [c.scores for c in odd.candidates] == [c.scores for c in clean.candidates]


@pytest.mark.parametrize("kwargs, message", [
    ({"question": "What is it \ud83d?", "answers": ["a"]}, "question holds a character"),
    ({"question": "What is it?", "answers": ["a\udc00"]}, "option holds a character"),
    ({"hypothesis": "\u200b\u200d"}, "the hypothesis is empty"),
])
def test_text_that_cannot_be_read_is_one_input_error(photos, kwargs, message):
    from fgalign.errors import InputError
    from fgalign.tasks.predict import predict

    with pytest.raises(InputError, match=message):
        predict(photos["coffee"], config=CONFIG, **kwargs)


def test_missing_evidence_is_named(tmp_path):
    """A blank image has no region; "." has no keyword: the note says so."""
    from fgalign.tasks.predict import predict

    Image.new("RGB", (64, 64), (128, 128, 128)).save(tmp_path / "blank.png")
    p = predict(tmp_path / "blank.png", "What color is it?", answers=["red", "."],
                config=CONFIG)
    assert "no fine-grained evidence" in p.note and "no region" in p.note
    assert "no keyword" in p.note and finite(p)
    # the region components fall back to the global score, never 0
    assert all(c.scores["region_word"] == c.scores["global"] for c in p.candidates)
