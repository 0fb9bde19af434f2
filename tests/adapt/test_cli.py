import json

from toy_world import write_toy_caches

from fgalign.cli import main


def test_adapt_command_json_contract_and_files(tmp_path, monkeypatch, capsys):
    from fgalign.adapt import run

    caches = write_toy_caches(tmp_path / "caches", {"train": 90, "val": 30, "test": 60})
    calls = []

    def fake_fill(cfg, keys, use_ray=False):
        calls.append(keys)
        return caches, {"embed_s": 0.0}

    monkeypatch.setattr(run, "fill_caches", fake_fill)  # the toy world stands in for CLIP
    cfg = tmp_path / "exp.yaml"
    cfg.write_text("experiment: {output_dir: %s}\nadapt: {epochs: 2, lr: 0.01, bootstrap: 100}\n"
                   % (tmp_path / "runs"))
    assert main(["adapt", "--config", str(cfg), "--target", "vcr", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert list(out)[:5] == ["target", "sources", "zero_shot", "adapted", "delta"]
    assert out["target"] == "vcr" and out["sources"] == ["vqa", "snli_ve"]
    assert set(out["delta"]) == {"mean", "ci95"} and out["n"] == 60
    assert ("vcr", "test") in calls[0] and ("vcr", "train") not in calls[0]
    folder = tmp_path / "runs" / "demo"
    files = {p.name for p in folder.glob("*/adapt/vcr/*")}
    assert files == {"result.json", "history.csv", "adapter.safetensors", "config.yaml"}
