"""Smoke tests of the benchmark harness at tiny size (no timing assertions).

The Ray and whole-pipeline benchmarks run in ``fgalign bench --quick``; here the pieces that
need neither: the roofline, the text/image dedup count on the real embed stage, the GPU
section's "no GPU" path, the table and the BENCHMARKS.md writer.
"""
from __future__ import annotations

import pytest
import torch

from fgalign.bench.core import Measurement, format_table
from fgalign.bench.report import BEGIN, END, write_benchmarks_md


def test_status_follows_target():
    assert Measurement("a", "A", 0.9, ">= 0.85").status == "met"
    assert Measurement("a", "A", 0.8, ">= 0.85").status == "MISSED"
    assert Measurement("a", "A", 0.2, "<= 0.1").status == "MISSED"
    assert Measurement("a", "A", 0.05, "<= 0.1").status == "met"
    assert Measurement("a", "A", 3.0).status == "reported"
    assert Measurement("a", "A", None, ">= 1").status == "skipped"


def test_roofline_runs_and_counts_flops():
    from fgalign.bench.scoring import bench_scoring_roofline, matmul_flops

    m = bench_scoring_roofline(b=2, c=3, k=2, r=4, d=8, repeats=1)
    assert m.name == "scoring_roofline" and m.value > 0
    # global 1·C + region_word C·K·R + region_sentence and tag_text 2·C·R, per row and dim
    assert m.extra["flops"] == matmul_flops(2, 3, 2, 4, 8) == 2 * 2 * 8 * (3 + 24 + 24)


def test_image_encodes_count_every_image_and_crop_once(tmp_path):
    from fgalign.bench.embed import EmbedInputs, image_encodes
    from fgalign.config import load_config
    from fgalign.data.synth import generate_world
    from fgalign.graph import run_stages
    from fgalign.stages import (
        build_image_specs,
        load_task_rows,
        prepare_task,
        rows_to_batch,
    )

    generate_world(tmp_path / "w", seed=0, images=12, image_size=64, progress=False)
    cfg = load_config("configs/demo.yaml", [f"data.root={tmp_path / 'w'}", "model.name=test-tiny",
                                            f"ray.cache_dir={tmp_path / 'c'}"])
    rows = load_task_rows(cfg, "vqa", prepare_task(cfg, "vqa", calibrate=False))
    distinct = list({r["image_key"]: {"image_key": r["image_key"], "image_path": r["image_path"],
                                      "given_boxes": r["given_boxes"], "object_names": None,
                                      "error": ""}
                     for r in rows}.values())
    tables = {"image": str(tmp_path / "ti"), "text": str(tmp_path / "tt")}
    regions, images = build_image_specs(cfg, "vqa", tables)
    batch = rows_to_batch(run_stages([regions], distinct))
    inp = EmbedInputs("vqa", images, [], len(distinct), len(distinct))
    m = image_encodes(inp, images.cls(**images.kwargs), [batch])
    boxes = sum(len(b) for b in batch["boxes"])
    assert len(distinct) < len(rows)  # several questions per image
    assert m.extra["needed"] == len(distinct) + boxes
    assert m.value == 1.0 and m.extra["encoded"] == len(distinct) + boxes

def test_gpu_section_says_no_gpu(monkeypatch):
    from fgalign.bench.embed import bench_gpu

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    (m,) = bench_gpu(None)
    assert m.status == "skipped" and m.note == "no GPU"


def test_table_and_markdown_keep_hand_written_notes(tmp_path):
    results = [Measurement("a", "Alpha", 0.5, ">= 0.85", "1 vs 2"),
               Measurement("b", "Beta", None, "<= 0.1", note="no GPU")]
    table = format_table(results)
    assert "Alpha" in table and "MISSED" in table and "skipped" in table
    info = {"command": "fgalign bench", "date": "today", "mode": "quick", "seconds": 60.0,
            "machine": {"cpu": "cpu", "cores": 2, "mem_gib": 1.0, "gpu": "no GPU",
                        "python": "3", "torch": "2", "load_avg_1_5_15": [0, 0, 0]},
            "load_end": [0, 0, 0], "data": "tiny"}
    md = tmp_path / "BENCHMARKS.md"
    write_benchmarks_md(md, results, info)
    md.write_text(md.read_text() + "\n## Notes\nkept by hand\n")
    results[0].value = 0.9
    write_benchmarks_md(md, results, info)
    text = md.read_text()
    assert text.count(BEGIN) == 1 and text.count(END) == 1
    assert "| Alpha | 0.900 | >= 0.85 | met |" in text and "kept by hand" in text


def test_bench_command_is_registered():
    from fgalign.cli import build_parser

    args = build_parser().parse_args(["bench", "--quick", "--only", "scoring"])
    assert args.quick and args.only == ["scoring"] and args.config == "configs/demo.yaml"


def _case(name, task, rows, cache, peak, work_s, calls, distinct, crops, encoded, drv_builds=0):
    kinds = {"proposer": {"calls": calls, "n": calls, "seconds": calls * 0.01},
             "image_encoder": {"calls": 2, "n": encoded, "seconds": encoded * 0.001},
             "text_encoder": {"calls": 2, "n": rows * 10, "seconds": rows * 0.01},
             "build": {"calls": 4, "n": 4, "seconds": 0.0}}
    return {"name": name, "task": task, "rows": rows, "wall_s": work_s + 10, "work_s": work_s,
            "peak_mb": peak, "baseline_mb": 500.0, "device": "cpu",
            "cache": {"total": cache, "float_columns": cache // 2, "by_stage": {"embed": cache}},
            "counters": {"kinds": kinds, "driver": {"build": {"calls": drv_builds, "n": 0,
                                                              "seconds": 0.0}},
                         "proposer": {"distinct_images": distinct, "regions_of_distinct": crops},
                         "builds": {}, "processes": 3},
            "stage_s": {f"{task}/embed": work_s / 2}}


def test_scale_ratios_from_measured_cases():
    from fgalign.bench.scale import measure

    cases = {"vqa-small": {**_case("vqa-small", "vqa", 50, 100_000, 900.0, 50.0, 60, 10, 40,
                                   50), "vocab": 100},
             "vqa-big": {**_case("vqa-big", "vqa", 50, 300_000, 1000.0, 100.0, 60, 10, 40, 50,
                                 drv_builds=2), "vocab": 3129},
             "vqa-big-x": {**_case("vqa-big-x", "vqa", 500, 3_000_000, 1500.0, 800.0, 530, 100,
                                   400, 500), "vocab": 3129},
             "snli_ve": _case("snli_ve", "snli_ve", 54, 50_000, 900.0, 40.0, 60, 3, 12, 15),
             "vcr": _case("vcr", "vcr", 40, 40_000, 900.0, 40.0, 40, 15, 60, 75)}
    results, info = measure({"cases": cases, "factor": 10, "overrides": ["model.name=test-tiny"]})
    by = {r.name: r for r in results}
    assert by["scale_cache_vocab"].value == pytest.approx(3.0) and by["scale_cache_vocab"].status == "MISSED"
    assert by["scale_driver_rss"].value == pytest.approx(1.5)
    assert by["scale_throughput"].value == pytest.approx((500 / 800) / (50 / 100))
    assert by["scale_proposer_calls_vqa"].value == pytest.approx(5.3)
    assert by["scale_image_encodes_vcr"].value == pytest.approx(75 / 75)
    assert by["scale_image_encodes_vcr"].status == "met"
    assert by["scale_driver_models"].value == 2.0
    proj = by["scale_projection_vqa"]
    assert proj.value > 0 and proj.extra["items"]["detector"] == pytest.approx(5.3 * 40_504)
    assert proj.extra["cache_bytes"] == pytest.approx((1_500_000 + 1_500_000 * 512 / 32) / 500
                                                      * 214_354)
    assert any("cluster.yaml: 4 × gpu_worker" in a for a in info["assumptions"])


def test_scale_rows_go_to_their_own_block(tmp_path):
    from fgalign.bench.report import SCALE_BEGIN, SCALE_END

    info = {"command": "fgalign bench --only scale", "date": "today", "mode": "full",
            "seconds": 60.0, "machine": {"cpu": "cpu", "cores": 2, "mem_gib": 1.0, "gpu": "-",
                                         "python": "3", "torch": "2",
                                         "load_avg_1_5_15": [0, 0, 0]},
            "load_end": [0, 0, 0], "data": "tiny", "scale": {"assumptions": ["anchor x"]}}
    md = tmp_path / "BENCHMARKS.md"
    write_benchmarks_md(md, [Measurement("a", "Alpha", 0.5, ">= 0.85")], info)
    write_benchmarks_md(md, [Measurement("scale_projection_vqa", "Proj", 2.0)], info,
                        SCALE_BEGIN, SCALE_END)
    text = md.read_text()
    assert "| Alpha | 0.500" in text and "| Proj | 2.000" in text and "- anchor x" in text
    assert text.index(END) < text.index(SCALE_BEGIN)


@pytest.mark.slow
def test_scale_bench_quick_mode_produces_every_measurement(tmp_path):
    """Five tiny whole-pipeline runs (minutes on 2 cores): every row is measured, none fails.

    ``tasks.vqa.yes_no=statements``: the VQA runs score no yes/no calibration set (four Ray Data
    executions fewer per VQA run); no measurement depends on it, and calibration through the
    Ray stage graph is tested in tests/ray/test_ray_pipeline.py.
    """
    from fgalign.bench.scale import bench_scale

    results, info = bench_scale(tmp_path, ["tasks.vqa.yes_no=statements"], "quick",
                                tmp_path / "log.txt")
    names = {r.name for r in results}
    assert {"scale_cache_vocab", "scale_driver_rss", "scale_throughput", "scale_driver_models",
            "scale_proposer_calls_vqa", "scale_image_encodes_vqa", "scale_proposer_calls_vcr",
            "scale_projection_vqa", "scale_projection_snli_ve",
            "scale_projection_vcr"} <= names
    assert all(r.value is not None for r in results), [r.note for r in results]
    assert set(info["cases"]) == {"vqa-small", "vqa-big", "vqa-big-x", "snli_ve", "vcr"}
    assert all(c["counters"]["kinds"]["proposer"]["calls"] > 0 for c in info["cases"].values())
