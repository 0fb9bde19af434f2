"""Backbone weights are checked before any stage: one line naming what to download."""
import pytest

from fgalign.errors import InputError
from fgalign.load import build_config
from fgalign.models import weights
from fgalign.models.weights import WeightsUnavailableError, check_weights


def _model(**kw):
    return build_config({"model": kw}).model


def test_builtin_backbones_need_nothing():
    check_weights(_model(name="shapes-tiny"))


def test_missing_checkpoint_names_the_key(tmp_path):
    with pytest.raises(WeightsUnavailableError, match="model.checkpoint: file not found"):
        check_weights(_model(name="ViT-B-32", checkpoint=str(tmp_path / "none.pt")))


def test_existing_checkpoint_is_enough(tmp_path):
    ckpt = tmp_path / "w.safetensors"
    ckpt.write_bytes(b"x")
    check_weights(_model(name="ViT-B-32", checkpoint=str(ckpt)))


def test_architecture_without_weights_is_refused():
    with pytest.raises(WeightsUnavailableError, match=r"ViT-B-32 needs weights: set "
                       r"model.pretrained to one of openai, .*or model.checkpoint"):
        check_weights(_model(name="ViT-B-32"))


def test_offline_pretrained_says_what_to_download_and_which_key(monkeypatch):
    monkeypatch.setattr(weights, "_cached_hf", lambda repo, files: None)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(InputError) as e:
        check_weights(_model(name="ViT-B-32", pretrained="openai"))
    msg = str(e.value)
    assert "\n" not in msg
    assert ("download https://huggingface.co/timm/vit_base_patch32_clip_224.openai/resolve/main/"
            "open_clip_model.safetensors") in msg
    assert "set model.checkpoint to that file (--set model.checkpoint=PATH)" in msg


def test_reachable_host_or_cached_file_passes(monkeypatch, tmp_path):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(weights, "_cached_hf", lambda repo, files: None)
    monkeypatch.setattr(weights, "_reachable", lambda host, timeout=3.0: True)
    check_weights(_model(name="ViT-B-32", pretrained="openai"))
    monkeypatch.setattr(weights, "_reachable", lambda host, timeout=3.0: False)
    with pytest.raises(WeightsUnavailableError, match="cannot be reached"):
        check_weights(_model(name="ViT-B-32", pretrained="openai"))
    cached = tmp_path / "open_clip_model.safetensors"
    cached.write_bytes(b"x")
    monkeypatch.setattr(weights, "_cached_hf", lambda repo, files: str(cached))
    check_weights(_model(name="ViT-B-32", pretrained="openai"))


def test_cli_prints_one_line_and_exits_2(monkeypatch, capsys):
    from fgalign.cli import main

    monkeypatch.setattr(weights, "_cached_hf", lambda repo, files: None)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    rc = main(["evaluate", "--config", "configs/vqav2.yaml"])
    err = capsys.readouterr().err
    assert rc == 2 and err.startswith("fgalign evaluate: error: weights of ViT-B-32") and \
        err.count("\n") == 1
