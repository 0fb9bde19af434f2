"""Smoke tests of the benchmark harness at tiny size (no timing assertions).

The Ray and whole-pipeline benchmarks run in ``fgalign bench --quick``; here the pieces that
need neither: the roofline, the text/image dedup count on the real embed stage, the GPU
section's "no GPU" path, the table and the BENCHMARKS.md writer.
"""
from __future__ import annotations

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
