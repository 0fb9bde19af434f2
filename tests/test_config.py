import re
from pathlib import Path

import pytest

from fgalign.config import Config, ConfigError, config_hash
from fgalign.load import build_config, load_config

CONFIGS = sorted((Path(__file__).parents[1] / "configs").rglob("*.yaml"))


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: str(p.relative_to(p.parents[1])))
def test_every_config_file_validates(path):
    # sweep / ablation files hold an experiment config under `base` or are standalone specs;
    # both kinds are validated by their own loaders, registered in fgalign.config.
    from fgalign.config_files import load_any_config

    load_any_config(path)


def test_unknown_key_reported_with_dotted_path():
    with pytest.raises(ConfigError, match=r"model\.nmae: unknown key"):
        build_config({"model": {"nmae": "x"}})


def test_wrong_type_names_key_and_type():
    with pytest.raises(ConfigError, match=r"data\.limit: Input should be a valid integer"):
        build_config({"data": {"limit": "many"}})


def test_overrides_parse_yaml_values(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("model:\n  name: shapes-tiny\n")
    cfg = load_config(p, ["model.name=ViT-B-32", "data.limit=100", "data.tasks=[vqa]"])
    assert cfg.model.name == "ViT-B-32" and cfg.data.limit == 100 and cfg.data.tasks == ["vqa"]


def test_bad_override_form():
    with pytest.raises(ConfigError, match="key.path=value"):
        load_config(None, ["model.name"])


def test_hash_is_stable_and_content_based():
    a, b = Config(), build_config({})
    assert config_hash(a) == config_hash(b) and len(config_hash(a)) == 12
    assert config_hash(a) != config_hash(build_config({"data": {"limit": 3}}))
    # key order in the YAML does not matter
    c = build_config({"data": {"split": "val", "limit": 3}})
    d = build_config({"data": {"limit": 3, "split": "val"}})
    assert config_hash(c) == config_hash(d)


@pytest.mark.parametrize("raw, line", [
    ({"ray": {"stages": {"embedd": {"batch_size": 8}}}},
     "  ray.stages.embedd: unknown stage 'embedd' (did you mean 'embed'?); known: regions, images, candidates, keywords, embed, score"),
    ({"align": {"weights": {"region_wrod": 1.0}}},
     ("  align.weights.region_wrod: unknown fine component 'region_wrod' (did you mean "
      "'region_word'?); known: region_word, "
     "region_sentence, tag_text")),
    ({"align": {"components": ["region_word", "tag_txt"]}},
     "  align.components.1: unknown fine component 'tag_txt'"),
    ({"adapt": {"task_weights": {"vqa": 1.0, "gqa": 2.0}}},
     "  adapt.task_weights.gqa: unknown task 'gqa' (did you mean 'vqa'?); known: vqa, snli_ve, vcr"),
    ({"data": {"tasks": ["vqa", "vrc"]}}, "  data.tasks.1: unknown task 'vrc'"),
    ({"regions": {"proposer": "segment", "params": {"fg_treshold": 30}}},
     ("  regions.params.fg_treshold: unknown parameter of proposer 'segment'; known: "
     "fg_threshold,")),
    ({"regions": {"proposer": "segmnt", "params": {"fg_threshold": 30}}},
     "  regions.proposer: unknown proposer 'segmnt' (did you mean 'segment'?); known: "),
], ids=["ray.stages", "align.weights", "align.components", "adapt.task_weights", "data.tasks",
        "regions.params", "regions.proposer"])
def test_typo_in_a_dict_valued_key_is_rejected_with_its_dotted_path(raw, line):
    with pytest.raises(ConfigError) as e:
        build_config(raw, "x.yaml")
    msg = str(e.value)
    assert msg.startswith("invalid config x.yaml:\n") and line in msg, msg


def test_known_dict_keys_still_load():
    cfg = build_config({"ray": {"stages": {"embed": {"batch_size": 8}}},
                        "adapt": {"task_weights": {"vcr": 2.0}},
                        "regions": {"params": {"fg_threshold": 30.0}},
                        "align": {"components": ["region_word"], "weights": {"region_word": 1}}})
    assert cfg.ray.stages["embed"].batch_size == 8 and cfg.adapt.task_weights == {"vcr": 2.0}
    assert set(cfg.ray.stages) == {"embed"}  # a given dict replaces the default (as before)


@pytest.mark.parametrize("kind, body, line", [
    ("sweeps", ("space: {lr: {type: loguniform, low: 1.0e-4, high: 1.0e-2}, "
               "task_weights.vqaa: {type: uniform, low: 0.5, high: 2}}"),
     "  space.task_weights.vqaa: task_weights.<task> with task in vqa, snli_ve, vcr"),
    ("sweeps", "resources: {cpus: 1}", "  resources.cpus: unknown trial resource; known: cpu,"),
    ("sweeps", "target: snli", "  target: unknown task 'snli'"),
    ("sweeps", "num_sample: 3", "  num_sample: unknown key"),
    ("ablations", "resources: {num_cpu: 1}", "  resources.num_cpu: unknown cell resource"),
    ("ablations", "tasks: [vqa, vcr, gqa]", "  tasks.2: unknown task 'gqa'"),
    ("ablations", "components: [global, fusoin]", "  components.1: unknown variant 'fusoin'"),
])
def test_spec_loaders_use_the_config_error_format(tmp_path, kind, body, line):
    from fgalign.config_files import load_any_config

    (tmp_path / "exp.yaml").write_text("experiment: {name: t}\n")
    p = tmp_path / kind / "s.yaml"
    p.parent.mkdir()
    p.write_text(f"base: ../exp.yaml\n{body}\n")
    with pytest.raises(ConfigError) as e:
        load_any_config(p)
    spec = {"sweeps": "sweep spec", "ablations": "ablation spec"}[kind]
    msg = str(e.value)
    assert msg.startswith(f"invalid {spec} {p}:\n") and line in msg, msg


def test_spec_base_config_errors_name_the_base_file(tmp_path):
    from fgalign.config_files import load_any_config

    (tmp_path / "exp.yaml").write_text("align: {weights: {region_wrod: 1}}\n")
    p = tmp_path / "sweeps" / "s.yaml"
    p.parent.mkdir()
    p.write_text("base: ../exp.yaml\n")
    with pytest.raises(ConfigError, match=r"exp\.yaml:\n  align\.weights\.region_wrod: unknown"):
        load_any_config(p)


@pytest.mark.parametrize("override, message", [
    ("data.limit=-3", "data.limit: Input should be greater than or equal to 1"),
    ("tasks.vqa.val_limit=-1", "tasks.vqa.val_limit: Input should be greater than or equal"),
    ("tasks.snli_ve.train_limit=-2", "tasks.snli_ve.train_limit: Input should be greater"),
    ("data.tasks=[]", "data.tasks: List should have at least 1 item"),
    ("data.tasks=[vcr, vcr]", "data.tasks: listed more than once: vcr"),
    ("data.task_modules=[no_such.tasks]", "data.task_modules.no_such.tasks: cannot import"),
])
def test_row_counts_and_task_lists_are_checked(override, message):
    """A negative limit was a Python slice that silently dropped the last rows."""
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_config(Path(__file__).parents[1] / "configs/demo.yaml", [override])


def test_a_dotted_override_changes_one_field_of_a_default_table():
    """``--set ray.stages.embed.batch_size=64`` / ``align.weights.region_word=3`` change one
    entry; the rest of the default table stays (it used to be replaced by a one-entry table:
    every other fusion weight 0, every other stage at StageResources())."""
    from fgalign.config import RayCfg
    from fgalign.load import load_config

    base = load_config(None, [])
    c = load_config(None, ["ray.stages.embed.batch_size=64", "align.weights.region_word=3"])
    assert c.ray.stages["embed"].batch_size == 64
    assert c.ray.stages["embed"].model_copy(update={"batch_size": 128}) == \
        base.ray.stages["embed"] == RayCfg().stages["embed"]
    assert {k: v for k, v in c.ray.stages.items() if k != "embed"} == \
        {k: v for k, v in base.ray.stages.items() if k != "embed"}
    assert c.align.weights == {**base.align.weights, "region_word": 3.0}
    # a whole table still replaces the default one
    whole = load_config(None, ["ray.stages={embed: {batch_size: 64}}"])
    assert list(whole.ray.stages) == ["embed"]
