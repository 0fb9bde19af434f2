import csv

import pytest

from fgalign.ablate import (
    AblationSpec,
    Cell,
    bar_chart,
    build_table,
    evaluate_cell,
    load_ablation_spec,
    mean_ci,
    to_markdown,
)
from fgalign.config import ConfigError, to_dict
from fgalign.config_files import load_any_config

SPEC = """
base: ../exp.yaml
components: [global, global+region_word, fusion, adapted]
tasks: [vqa, snli_ve, vcr]
proposers: [segment]
backbones: [shapes-tiny]
"""


@pytest.fixture
def spec_path(tmp_path):
    (tmp_path / "exp.yaml").write_text(
        "experiment: {name: toy, output_dir: %s}\n"
        "adapt: {epochs: 2, batch_size: 32, lr: 0.01, bootstrap: 100}\n"
        "logging: {project: fgalign-test}\n" % (tmp_path / "runs"))
    p = tmp_path / "ablations" / "toy.yaml"
    p.parent.mkdir()
    p.write_text(SPEC)
    return p


@pytest.fixture(scope="module")
def caches(tmp_path_factory):
    from toy_world import write_toy_caches

    return write_toy_caches(tmp_path_factory.mktemp("caches"),
                            {"train": 90, "val": 30, "test": 60})


def test_spec_loads_and_rejects_bad_components(spec_path, tmp_path):
    spec = load_any_config(spec_path)
    assert isinstance(spec, AblationSpec) and len(spec.cells()) == 12
    cfg = spec.cell_config("selective_search", "test-tiny")
    assert (cfg.regions.proposer, cfg.model.name) == ("selective_search", "test-tiny")
    bad = tmp_path / "ablations" / "bad.yaml"
    bad.write_text(SPEC.replace("fusion,", "fusoin,"))
    with pytest.raises(ConfigError, match="fusoin"):
        load_ablation_spec(bad)
    bad.write_text(SPEC.replace("[vqa, snli_ve, vcr]", "[vqa]"))
    with pytest.raises(ConfigError, match="at least 2 tasks"):
        load_ablation_spec(bad)


def test_mean_ci_brackets_the_mean():
    import numpy as np

    s = np.array([0.0, 100.0] * 50)
    lo, hi = mean_ci(s, 500)
    assert lo < 50 < hi and hi - lo < 25


def test_cells_score_from_caches_and_table(spec_path, caches, tmp_path):
    spec = load_ablation_spec(spec_path)
    cfg_json = to_dict(spec.cell_config())
    cells = [Cell("segment", "shapes-tiny", t, c) for t in ("vcr", "snli_ve")
             for c in ("global", "fusion", "adapted")]
    results = [evaluate_cell(cfg_json, c, caches) for c in cells]
    assert [len(r["scores"]) for r in results] == [60, 60, 60, 60, 60, 60]
    rows = build_table(results, n_boot=100)
    assert [(r["task"], r["component"]) for r in rows] == [
        ("snli_ve", "global"), ("snli_ve", "fusion"), ("snli_ve", "adapted"),
        ("vcr", "global"), ("vcr", "fusion"), ("vcr", "adapted")]
    for r in rows:
        assert r["ci95_lo"] <= r["score"] <= r["ci95_hi"]
        assert ("delta_vs_global" in r) == (r["component"] != "global")
    md = to_markdown(rows)
    assert md.count("\n") == 8 and "| vcr | adapted |" in md
    png = bar_chart(rows, tmp_path / "chart.png")
    assert png.stat().st_size > 5000


@pytest.mark.ray
@pytest.mark.slow
def test_grid_runs_as_ray_tasks_and_writes_outputs(spec_path, caches, tmp_path, ray_session):
    from fgalign.commands.ablate import run_grid

    spec = load_ablation_spec(spec_path).model_copy(
        update={"components": ["global", "fusion"], "tasks": ["vqa", "vcr"]})
    cfgs = {("segment", "shapes-tiny"): spec.cell_config()}
    out = tmp_path / "ablation"
    out.mkdir()
    rows = run_grid(spec, cfgs, {k: caches for k in cfgs}, out)
    assert len(rows) == 4
    with open(out / "ablation.csv") as f:
        assert len(list(csv.DictReader(f))) == 4
    assert (out / "ablation.png").exists() and (out / "ablation.md").exists()
    assert list((out / "wandb").glob("offline-run-*"))  # the W&B table, offline


def test_grid_runs_in_process_without_ray(spec_path, caches, tmp_path):
    from fgalign.commands.ablate import run_grid

    spec = load_ablation_spec(spec_path).model_copy(
        update={"components": ["global", "global+count", "fusion"], "tasks": ["vqa", "vcr"]})
    cfgs = {("segment", "shapes-tiny"): spec.cell_config()}
    out = tmp_path / "ablation"
    out.mkdir()
    rows = run_grid(spec, cfgs, {k: caches for k in cfgs}, out, use_wandb=False,
                    in_process=True)
    assert len(rows) == 6 and {r["component"] for r in rows} == {"global", "global+count",
                                                                "fusion"}
    assert (out / "ablation.md").exists()


def test_demo_grid_has_a_row_per_compositional_component():
    spec = load_ablation_spec("configs/ablations/demo.yaml")
    assert {"global+count", "global+size", "global+relation"} <= set(spec.components)
