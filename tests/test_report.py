import json

import pytest

from fgalign.ablate import Cell, build_table
from fgalign.experiment.report import write_report

RESULT = {"target": "vcr", "sources": ["vqa", "snli_ve"], "n": 200, "zero_shot": 40.0,
          "adapted": 45.5, "delta": {"mean": 5.5, "ci95": [2.0, 9.0]}, "best_epoch": 3,
          "learned": {"tau": 0.04}}


def test_ablation_report_has_table_chart_and_command(tmp_path):
    from fgalign.commands.ablate import write_outputs

    results = [{"cell": Cell("segment", "shapes-tiny", "vqa", c), "scores": s}
               for c, s in (("global", [0.0, 100.0, 100.0, 0.0]),
                            ("fusion", [100.0, 100.0, 100.0, 0.0]))]
    rows = build_table(results, n_boot=50)
    write_outputs(tmp_path, rows, results)
    (tmp_path / "command.txt").write_text("fgalign ablate --config configs/ablations/demo.yaml\n")
    md = write_report(tmp_path).read_text()
    assert "| segment | shapes-tiny | vqa | fusion | 4 | 75.00 [" in md
    assert "![ablation](ablation.png)" in md and (tmp_path / "ablation.png").exists()
    assert "fgalign ablate --config configs/ablations/demo.yaml" in md
    assert "<table>" in (tmp_path / "report.html").read_text()


def test_sweep_report_lists_trials_best_and_figure(tmp_path):
    best = {**RESULT, "params": {"lr": 0.003, "rank": 8}, "source_val": 71.0, "trials": 2,
            "time_per_trial_s": 21.0, "embed_time_s": 300.0}
    (tmp_path / "best.json").write_text(json.dumps(best))
    (tmp_path / "trials.csv").write_text("trial_id,source_val,config/lr,config/rank\n"
                                         "a,65.0,0.01,4\nb,71.0,0.003,8\n")
    md = write_report(tmp_path).read_text()
    assert md.index("| b | 71.00 |") < md.index("| a | 65.00 |")  # best trial first
    assert "21.00 s vs 300.00 s for the embedding stage" in md
    assert (tmp_path / "sweep.png").exists() and "![sweep](sweep.png)" in md


def test_run_and_adapt_reports(tmp_path):
    run = tmp_path / "run"
    (run / "figures").mkdir(parents=True)
    (run / "figures" / "vqa_alignment.png").write_bytes(b"\x89PNG")
    (run / "metrics.json").write_text(json.dumps({"config_hash": "abc", "tasks": {"vqa": {
        "split": "test", "n": 10, "errors": {"embed:x": 1},
        "variants": {"global": {"score": 35.0}, "fusion": {"score": 41.2}},
        "delta": {"fusion_vs_global": {"mean": 6.2, "ci95": [4.9, 7.5]}}}}}))
    (run / "config.yaml").write_text("experiment: {name: demo}\n")
    ad = run / "adapt" / "vcr"
    ad.mkdir(parents=True)
    (ad / "result.json").write_text(json.dumps(RESULT))
    (ad / "history.csv").write_text("epoch,source_val\n0,60.0\n1,62.5\n")
    md = write_report(run).read_text()
    assert "| fusion | 41.20 |" in md and "+6.20 [+4.90, +7.50]" in md
    assert "| vcr | vqa + snli_ve | 200 | 40.00 | 45.50 | +5.50 [+2.00, +9.00] | 3 |" in md
    assert "figures/vqa_alignment.png" in md and "experiment: {name: demo}" in md
    assert "| 1 | 62.50 |" in write_report(ad).read_text()


def test_unknown_folder_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a run, sweep, ablation"):
        write_report(tmp_path)


def test_run_report_names_each_metric_and_shows_every_score(tmp_path):
    """VCR's QA→R and Q→AR, VQA's per answer type, SNLI-VE's per class: all in report.md."""
    run = tmp_path / "run"
    run.mkdir()
    vcr = {"score": 40.0, "q2a": 40.0, "qa2r": 30.0, "q2ar": 12.5}
    vqa = {"score": 50.0, "perAnswerType": {"yes/no": 70.0, "number": 20.0, "other": 45.0}}
    ve = {"score": 60.0, "per_class": {"entailment": 80.0, "neutral": 40.0,
                                       "contradiction": 60.0}}
    delta = {"fusion_vs_global": {"mean": 1.0, "ci95": [0.0, 2.0]}}
    tasks = {
        "vcr": {"split": "val", "n": 8, "errors": {}, "variants": {"fusion": vcr}, "delta": delta,
                "metric": {"score": "Q→A accuracy", "qa2r": "QA→R accuracy",
                           "q2ar": "Q→AR accuracy"}},
        "vqa": {"split": "val", "n": 8, "errors": {}, "variants": {"fusion": vqa}, "delta": delta,
                "metric": {"score": "VQA accuracy",
                           "perAnswerType": "VQA accuracy per answer type"}},
        "snli_ve": {"split": "val", "n": 8, "errors": {}, "variants": {"fusion": ve},
                    "delta": delta, "metric": {"score": "accuracy",
                                               "per_class": "accuracy per gold class"}},
    }
    (run / "metrics.json").write_text(json.dumps({"config_hash": "abc", "tasks": tasks}))
    md = write_report(run).read_text()
    assert "| variant | Q→A accuracy | QA→R accuracy | Q→AR accuracy |" in md
    assert "| fusion | 40.00 | 30.00 | 12.50 |" in md
    assert "| variant | VQA accuracy | yes/no | number | other |" in md
    assert "| fusion | 50.00 | 70.00 | 20.00 | 45.00 |" in md
    assert "yes/no, number, other: VQA accuracy per answer type" in md
    assert "| variant | accuracy | entailment | neutral | contradiction |" in md


@pytest.mark.parametrize("task, metric", [("vqa", "VQA accuracy"), ("snli_ve", "accuracy"),
                                          ("vcr", "Q→A accuracy")])
def test_every_task_names_its_metric(task, metric):
    from fgalign.tasks import get_task

    t = get_task(task)
    assert t.metric == metric and "score" not in dict(t.metric_parts)


def test_zero_scores_keep_two_decimals(tmp_path):
    (tmp_path / "metrics.json").write_text(json.dumps({"config_hash": "abc", "tasks": {"vcr": {
        "split": "val", "n": 2, "errors": {}, "delta": {},
        "variants": {"global": {"score": 50.0, "q2a": 50.0, "qa2r": 0.0, "q2ar": 0.0}},
        "metric": {"score": "Q→A accuracy", "qa2r": "QA→R accuracy", "q2ar": "Q→AR accuracy"}}}}))
    md = write_report(tmp_path).read_text()
    assert "| global | 50.00 | 0.00 | 0.00 |" in md
    assert "scores (percent): Q→A accuracy; QA→R accuracy; Q→AR accuracy" in md
