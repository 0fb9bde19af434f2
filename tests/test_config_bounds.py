"""Numeric settings have their real bounds at load, dict-valued params included (issue 19 kind 1).

A bad value is one ``ConfigError`` line naming the dotted key, before any work: the same
config object drives the in-process ``evaluate`` and the Ray ``run``.
"""
import pytest

from fgalign.config import ConfigError
from fgalign.load import load_config


@pytest.mark.parametrize("override, line", [
    ("align.tau=0", r"align\.tau: Input should be greater than 0"),
    ("align.tau=-0.5", r"align\.tau: Input should be greater than 0"),
    ("align.tau=.nan", r"align\.tau: Input should be a finite number"),
    ("align.tau=.inf", r"align\.tau: Input should be a finite number"),
    ("align.tau=true", r"align\.tau: expected a number, not a boolean"),
    ("align.weights.region_word=.nan", r"align\.weights\.region_word: .*finite"),
    ("tasks.vqa.retrieval_tau=0", r"tasks\.vqa\.retrieval_tau: .*greater than 0"),
    ("tasks.vqa.retrieval_prior_weight=-.inf", r"retrieval_prior_weight: .*finite"),
    ("model.batch_size=0", r"model\.batch_size: .*greater than or equal to 1"),
    ("keywords.max_keywords=0", r"keywords\.max_keywords: .*greater than or equal to 1"),
    ("regions.max_regions=0", r"regions\.max_regions: .*greater than or equal to 1"),
    ("data.limit=0", r"data\.limit: .*greater than or equal to 1"),
    ("regions.context_pad=-0.1", r"regions\.context_pad: .*greater than or equal to 0"),
    ("tasks.snli_ve.l2=-1", r"tasks\.snli_ve\.l2: .*greater than or equal to 0"),
    ("tasks.snli_ve.steps=0", r"tasks\.snli_ve\.steps: .*greater than or equal to 1"),
    ("adapt.lr=0", r"adapt\.lr: .*greater than 0"),
    ("adapt.temperature_init=0", r"adapt\.temperature_init: .*greater than 0"),
    ("adapt.bootstrap=0", r"adapt\.bootstrap: .*greater than or equal to 1"),
    ("adapt.task_weights.vqa=-1", r"adapt\.task_weights\.vqa: .*greater than or equal to 0"),
    ("ray.row_failures.max_share=1.5", r"ray\.row_failures\.max_share: .*less than or equal to 1"),
    ("ray.stages.embed.batch_size=0", r"ray\.stages\.embed\.batch_size: .*greater than or equal"),
    ("ray.stages.embed.num_gpus=-1", r"ray\.stages\.embed\.num_gpus: .*greater than or equal"),
    ("experiment.seed=-1", r"experiment\.seed: .*greater than or equal to 0"),
    ("data.synth.images=0", r"data\.synth\.images: .*greater than or equal to 1"),
    # dict-valued params: values against the proposer's / extractor's constructor
    ("regions.params.fg_threshold=abc", r"regions\.params\.fg_threshold: .*valid number"),
    ("regions.params.max_regions=0", r"regions\.params\.max_regions: .*greater than or equal"),
    ("regions.params.nms_iou=2", r"regions\.params\.nms_iou: .*less than or equal to 1"),
    ("regions.params.color_radius=.nan", r"regions\.params\.color_radius: .*\(got nan\)"),
    ("keywords.params.batch_size=0", r"keywords\.params\.batch_size: .*greater than or equal"),
    ("keywords.params.model=3", r"keywords\.params\.model: .*valid string"),
    ("keywords.params.nope=3", r"keywords\.params\.nope: unknown parameter"),
    ("keywords.params.max_keywords=3", r"keywords\.params\.max_keywords: set keywords\.max"),
])
def test_out_of_range_value_is_one_line_naming_its_key(override, line):
    with pytest.raises(ConfigError, match=line) as e:
        load_config(None, [override])
    problems = str(e.value).splitlines()[1:]  # after "invalid config <source>:"
    assert len(problems) == 1


def test_a_number_is_a_number_however_yaml_spells_it():
    # PyYAML reads 1e-3 / 1e1 (no dot) as strings; 1_000 and 0x10 as ints
    cfg = load_config(None, ["align.tau=1e-3", "model.batch_size=1e2", "data.limit=1_000",
                             "ray.rows_per_file=0x10", "regions.params.fg_threshold=1e1",
                             "regions.params.max_regions=4.0", "keywords.params.batch_size=64"])
    assert cfg.align.tau == 0.001 and cfg.model.batch_size == 100 and cfg.data.limit == 1000
    assert cfg.ray.rows_per_file == 16
    # params reach the proposer converted, not as the strings YAML gave
    assert cfg.regions.params == {"fg_threshold": 10.0, "max_regions": 4}
    assert type(cfg.regions.params["max_regions"]) is int
    assert cfg.keywords.params == {"batch_size": 64}


def test_dataset_proposer_takes_any_params_and_defaults_still_load():
    assert load_config(None, ["regions.proposer=dataset", "regions.params.x=1"]).regions.params
    load_config(None, ["regions.params.nms_iou=null", "tasks.vqa.k=1", "adapt.rank=0"])


def test_cli_refuses_before_work_with_exit_2(tmp_path, capsys):
    from fgalign.cli import main

    code = main(["evaluate", "--config", "configs/demo.yaml", "--set", "align.tau=0",
                 "--set", f"data.root={tmp_path / 'w'}",
                 "--set", f"experiment.output_dir={tmp_path / 'runs'}"])
    err = capsys.readouterr().err
    assert code == 2 and "align.tau: Input should be greater than 0" in err
    assert "Traceback" not in err
    assert not (tmp_path / "w").exists() and not (tmp_path / "runs").exists()
