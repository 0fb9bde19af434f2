"""Registry names checked at config load: the light lists, close names, one-line errors."""
import pytest

from fgalign.config import ConfigError
from fgalign.load import build_config, load_config
from fgalign.names import BACKBONE_NAMES, EXTRACTOR_NAMES, PROPOSER_NAMES, close_names


def test_light_name_lists_equal_the_registries():
    """The names fgalign itself registers are listed in fgalign.names (tests may add more)."""
    from fgalign.keywords import EXTRACTORS
    from fgalign.models import BACKBONES
    from fgalign.regions import PROPOSERS

    for registry, light in ((BACKBONES, BACKBONE_NAMES), (PROPOSERS, PROPOSER_NAMES),
                            (EXTRACTORS, EXTRACTOR_NAMES)):
        ours = [n for n in registry.list()
                if registry.get(n).__module__.startswith("fgalign.")]
        assert sorted(light) == ours, registry.kind


def test_close_names_are_case_insensitive():
    assert close_names("vit-b32", ["ViT-B-32", "RN50"])[0] == "ViT-B-32"
    assert close_names("zzz", ["ViT-B-32"]) == []


@pytest.mark.parametrize("raw, line", [
    ({"model": {"name": "ViT-B32"}},
     "  model.name: unknown backbone 'ViT-B32' (did you mean 'ViT-B-32'"),
    ({"model": {"name": "shapes-tniy"}}, "(did you mean 'shapes-tiny'"),
    ({"model": {"name": "ViT-B-32", "pretrained": "opena"}},
     "  model.pretrained: unknown pretrained tag for ViT-B-32 'opena' (did you mean 'openai'?)"),
    ({"regions": {"proposer": "segmnt"}},
     ("  regions.proposer: unknown proposer 'segmnt' (did you mean 'segment'?); known: dataset, "
     "detectron2, segment, selective_search, torchvision")),
    ({"tasks": {"vcr": {"proposer": "datset"}}},
     "  tasks.vcr.proposer: unknown proposer 'datset' (did you mean 'dataset'?)"),
    ({"keywords": {"extractor": "spcy"}},
     ("  keywords.extractor: unknown keyword extractor 'spcy' (did you mean 'spacy'?); known: "
     "rule, spacy")),
    ({"model": {"name": "no/such/bundle.safetensors"}},
     "  model.name: backbone bundle not found: no/such/bundle.safetensors"),
], ids=["backbone", "local-backbone", "pretrained", "proposer", "vcr-proposer", "extractor",
        "bundle"])
def test_unknown_registry_names_fail_at_load_with_close_names(raw, line):
    with pytest.raises(ConfigError) as e:
        build_config(raw, "x.yaml")
    msg = str(e.value)
    assert msg.startswith("invalid config x.yaml:\n") and line in msg, msg


def test_known_names_load():
    cfg = build_config({"model": {"name": "ViT-B-32", "pretrained": "openai"},
                        "regions": {"proposer": "torchvision"}, "keywords": {"extractor": "rule"}})
    assert cfg.model.pretrained == "openai"


def test_set_errors_name_the_override_not_the_file(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("model: {name: shapes-tiny}\n")
    with pytest.raises(ConfigError) as e:
        load_config(p, ["model.nam=x"])
    assert str(e.value) == ("invalid --set override:\n  model.nam: unknown key; did you mean "
                            "model.name? (from --set model.nam=x)")
    with pytest.raises(ConfigError) as e:
        load_config(p, ["model.name=ViT-B32"])
    assert str(e.value).startswith("invalid --set override:\n  model.name: unknown backbone")
    assert str(e.value).endswith("(from --set model.name=ViT-B32)")


def test_file_errors_still_name_the_file(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("model: {nmae: x}\n")
    with pytest.raises(ConfigError) as e:
        load_config(p, ["data.limit=3"])
    assert str(e.value) == (f"invalid config {p}:\n  model.nmae: unknown key; did you mean "
                            "model.name?")


def test_stage_and_task_names_suggest_close_names():
    with pytest.raises(ConfigError, match=r"unknown stage 'embedd' \(did you mean 'embed'\?\)"):
        build_config({"ray": {"stages": {"embedd": {}}}})
    with pytest.raises(ConfigError, match=r"unknown task 'vqaa' \(did you mean 'vqa'\?\)"):
        build_config({"data": {"tasks": ["vqaa"]}})


def test_probe_checks_the_backbone_name_before_loading(capsys):
    from fgalign.cli import main

    assert main(["probe", "--model", "ViT-B32", "--data", "/nonexistent"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("fgalign probe: error: --model: unknown backbone 'ViT-B32' (did you "
                          "mean 'ViT-B-32'") and err.count("\n") == 1


def test_spec_file_overrides_are_named_as_the_spec_s_not_as_set(tmp_path):
    from fgalign.config_files import load_any_config

    (tmp_path / "exp.yaml").write_text("experiment: {name: t}\n")
    p = tmp_path / "sweeps" / "s.yaml"
    p.parent.mkdir()
    p.write_text("base: ../exp.yaml\noverrides: [model.nam=x]\n")
    with pytest.raises(ConfigError) as e:
        load_any_config(p)
    assert str(e.value).endswith(f"model.nam: unknown key; did you mean model.name? (from the "
                                 f"overrides of {p}: model.nam=x)")
    assert "--set" not in str(e.value)
