"""Smoke tests of the benchmark harness at tiny size (no timing assertions).

The Ray and whole-pipeline benchmarks run in ``fgalign bench --quick``; here the pieces that
need neither: the roofline, the text/image dedup count on the real embed stage, the GPU
section's "no GPU" path, the table and the BENCHMARKS.md writer.
"""
from __future__ import annotations

from pathlib import Path

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
    from fgalign.data.synth import generate_world
    from fgalign.engine.batch import rows_to_batch
    from fgalign.engine.runner import run_stages
    from fgalign.experiment.plan import build_image_specs, load_task_rows, prepare_task
    from fgalign.load import load_config

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


def _case(name, task, rows, cache, peak, work_s, calls, distinct, crops, encoded, drv_builds=0,
          split=None):
    kinds = {"proposer": {"calls": calls, "n": calls, "seconds": calls * 0.01},
             "image_encoder": {"calls": 2, "n": encoded, "seconds": encoded * 0.001},
             "text_encoder": {"calls": 2, "n": rows * 10, "seconds": rows * 0.01},
             "build": {"calls": 4, "n": 4, "seconds": 0.0}}
    return {"name": name, "task": task, "rows": rows, "wall_s": work_s + 10, "work_s": work_s,
            "peak_mb": peak, "baseline_mb": 500.0, "device": "cpu",
            "cache": {"total": cache, "float_columns": cache // 2, "by_stage": {"embed": cache},
                      "split": split or _split(cache, cache // 2)},
            "counters": {"kinds": kinds, "driver": {"build": {"calls": drv_builds, "n": 0,
                                                              "seconds": 0.0}},
                         "proposer": {"distinct_images": distinct, "regions_of_distinct": crops},
                         "builds": {}, "processes": 3},
            "stage_s": {f"{task}/embed": work_s / 2}, "fixed_stage_s": {f"{task}/score": 5.0}}


def _split(q_bytes, q_float, **fixed):
    """A ``cache_split`` result: the questions' share and fixed shares ``name=(bytes, float)``."""
    share = lambda b, f: {"bytes": b, "embedding": f, "by_stage": {"embed": b}}
    return {"evaluated": "val", "question": share(q_bytes, q_float),
            "fixed": {k.replace("_", " "): share(*v) for k, v in fixed.items()}, "tables": {}}


def _cands(per_uid):
    n = [v[0] for v in per_uid.values()]
    pool = [v[1] for v in per_uid.values()]
    return {"questions": len(n), "mean": sum(n) / len(n), "max": max(n),
            "pool_mean": sum(pool) / len(pool), "pool_max": max(pool), "per_uid": per_uid}


def test_scale_ratios_from_measured_cases():
    from fgalign.bench.scale import measure

    fixed = {"answer_prompts": (125_000, 62_500), "task_context": (250_000, 0)}
    cases = {"vqa-small": {**_case("vqa-small", "vqa", 50, 124_000, 900.0, 50.0, 60, 10, 40,
                                   50, split=_split(100_000, 50_000, answer_prompts=(4_000, 2_000),
                                                    task_context=(20_000, 0))),
                           "vocab": 100, "k": 3,
                           "candidates": _cands({"q1": [2, 2], "q2": [3, 9], "q3": [3, 3]})},
             "vqa-big-k": {**_case("vqa-big-k", "vqa", 50, 485_000, 900.0, 50.0, 60, 10, 40,
                                   50, split=_split(110_000, 55_000, **fixed)),
                           "vocab": 3129, "k": 3,
                           "candidates": _cands({"q1": [2, 2], "q2": [3, 90], "q3": [3, 40]})},
             "vqa-big": {**_case("vqa-big", "vqa", 50, 675_000, 1000.0, 100.0, 60, 10, 40, 50,
                                 drv_builds=2, split=_split(300_000, 150_000, **fixed)),
                         "vocab": 3129, "k": 128},
             "vqa-big-x": {**_case("vqa-big-x", "vqa", 500, 3_000_000, 1500.0, 800.0, 530, 100,
                                   400, 500, split=_split(2_500_000, 1_000_000,
                                                          train2014_yes_no=(125_000, 62_500),
                                                          **fixed)),
                           "vocab": 3129, "k": 128, "startup_s": 20.0, "exec_s": 425.0,
                           "candidates": _cands({"q1": [2, 2], "q2": [129, 1670]})},
             "snli_ve": _case("snli_ve", "snli_ve", 54, 50_000, 900.0, 40.0, 60, 3, 12, 15),
             "snli_ve-x": {**_case("snli_ve-x", "snli_ve", 540, 500_000, 900.0, 130.0, 600, 30,
                                   120, 150), "exec_s": 60.0},
             "vcr": _case("vcr", "vcr", 40, 40_000, 900.0, 40.0, 40, 15, 60, 75)}
    results, info = measure({"cases": cases, "factor": 10, "overrides": ["model.name=test-tiny"]})
    by = {r.name: r for r in results}
    vocab = by["scale_cache_vocab"]  # the questions' share only: 110 / 100 kB over 50 questions
    assert vocab.value == pytest.approx(1.1) and vocab.status == "met"
    assert vocab.extra["binding"] == {"k": 3, "same": 3, "common": 3, "mean": [8 / 3, 8 / 3],
                                      "max": [3, 3], "cut": [1, 2]}
    # fixed shares at 3,129 answers, embedding bytes × 512/32, over VQAv2 val's 214,354 questions
    assert vocab.extra["amortised_bytes"] == pytest.approx((125_000 + 62_500 * 15 + 250_000)
                                                           / 214_354)
    real = by["scale_cache_real"]
    wide_fixed = 2 * (125_000 + 62_500 * 15) + 250_000
    assert real.value == pytest.approx(((2_500_000 + 1_000_000 * 15) / 500
                                        + wide_fixed / 214_354) / 1e3)
    assert real.status == "reported" and real.extra["per_question_1x"] == 6_000
    assert "mean 65.5, max 129" in real.detail
    assert by["scale_driver_rss"].value == pytest.approx(1.5)
    assert by["scale_throughput"].value == pytest.approx((500 / 800) / (50 / 100))
    assert by["scale_proposer_calls_vqa"].value == pytest.approx(5.3)
    assert by["scale_image_encodes_vcr"].value == pytest.approx(75 / 75)
    assert by["scale_image_encodes_vcr"].status == "met"
    assert by["scale_driver_models"].value == 2.0
    proj = by["scale_projection_vqa"]
    assert proj.value > 0 and proj.extra["items"]["detector"] == pytest.approx(5.3 * 40_504)
    assert proj.extra["cache_bytes"] == pytest.approx((2_500_000 + 1_000_000 * 15) / 500
                                                      * 214_354 + wide_fixed)
    # driver: a line through the two sizes of the driver's seconds outside the executions:
    # vqa-big (no timeline) 100 − stages 50 − other sets 5 = 45 s at 50 rows, vqa-big-x
    # 800 − 425 = 375 s at 500 rows: 330 / 450 s per row, and the intercept once
    per_row = 330 / 450
    assert proj.extra["driver_per_row_s"] == pytest.approx(per_row)
    assert proj.extra["driver_once_s"] == pytest.approx(375 - per_row * 500)
    assert proj.extra["driver_s"] == pytest.approx(375 - per_row * 500 + per_row * 214_354)
    assert proj.extra["driver_fitted"] and "fitted on vqa-big: 50 and vqa-big-x: 500" in proj.detail
    assert proj.extra["startup_s"] == 20.0 and proj.extra["once_s"] == 5.0
    # overlap: the text encoder's GPU time runs alongside the CPU stages (4 GPUs, 32 vCPU)
    n_txt, n_det = 10 * 214_354, 5.3 * 40_504
    n_img = proj.extra["items"]["image"]
    img_rate = min(1500.0, 137.0 * 32 / 4)
    gpu_img = (n_det / 26.0 + n_img / img_rate) / 4
    cpu = proj.extra["cpu_s"]
    # CPU: stage seconds less model seconds inside the actors, a line through both sizes
    cpu_work = lambda c: c["stage_s"]["vqa/embed"] - (c["counters"]["kinds"]["proposer"]["seconds"]
                                                     + c["counters"]["kinds"]["image_encoder"]["seconds"]
                                                     + c["counters"]["kinds"]["text_encoder"]["seconds"])
    slope = (cpu_work(cases["vqa-big-x"]) - cpu_work(cases["vqa-big"])) / 450
    assert cpu == pytest.approx((cpu_work(cases["vqa-big-x"]) - slope * 500 + slope * 214_354) / 32)
    assert proj.value == pytest.approx((gpu_img + max(n_txt / 2220.0 / 4, cpu)
                                        + proj.extra["driver_s"] + 5.0 + 20.0) / 3600)
    assert proj.extra["serial_hours"] == pytest.approx(
        (proj.extra["gpu_s"] + cpu + proj.extra["driver_s"] + 5.0 + 20.0) / 3600)
    assert proj.extra["serial_hours"] >= proj.value
    # SNLI-VE ran at two sizes: projected from snli_ve-x, fitted with snli_ve beside it
    # (40 − 20 − 5 = 15 s at 54 pairs, 130 − 60 = 70 s at 540)
    snli = by["scale_projection_snli_ve"]
    assert snli.extra["driver_per_row_s"] == pytest.approx(55 / 486)
    assert "fitted on snli_ve: 54 and snli_ve-x: 540" in snli.detail
    assert by["scale_proposer_calls_snli_ve"].extra["calls"] == 600  # the larger run's counts
    # VCR ran at one size: every driver second outside the executions counted per row, an
    # upper bound, and the row says so
    vcr = by["scale_projection_vcr"]
    assert vcr.extra["driver_once_s"] == 0 and not vcr.extra["driver_fitted"]
    assert vcr.extra["driver_per_row_s"] == pytest.approx((40 - 20 - 5) / 40)
    assert "an upper bound" in vcr.detail
    h100 = by["scale_projection_vqa_8xh100"]  # 8 GPUs, 24 vCPU each: less GPU time, same driver
    assert h100.extra["gpu_s"] < proj.extra["gpu_s"] and "8× H100" in h100.title
    assert h100.extra["driver_s"] == proj.extra["driver_s"]
    assert any("cluster.yaml: 4 × gpu_worker" in a for a in info["assumptions"])
    assert not proj.detail.startswith("QUICK MODE")
    quick, _ = measure({"cases": cases, "factor": 10, "overrides": ["model.name=test-tiny"],
                        "mode": "quick"})  # tiny sizes: the rows say they are no projection
    assert all(r.detail.startswith("QUICK MODE, not a projection") for r in quick
               if r.name.startswith("scale_projection"))


def test_machine_cpu_seconds_grow_with_work_and_are_none_without_proc_stat(monkeypatch):
    from fgalign.bench import core

    before = core.machine_cpu_s()
    assert before is not None and before > 0  # Linux: seconds since boot, every core
    sum(i * i for i in range(200_000))
    assert core.machine_cpu_s() >= before

    class Missing:
        def __init__(self, *a):
            pass

        def read_text(self):
            raise FileNotFoundError("/proc/stat")

    monkeypatch.setattr(core, "Path", Missing)
    assert core.machine_cpu_s() is None


def test_process_groups_of_a_ray_run_by_command_line():
    from fgalign.bench.core import PROCESS_GROUPS, cpu_by_group, process_group

    site = "/w/.venv/lib/python3.11/site-packages/ray"
    pool, data, ray = "stage pools", "Ray Data's own actors", "Ray's daemons and idle workers"
    cases = {
        "/w/.venv/bin/python -m fgalign run --config configs/demo.yaml --no-wandb": "driver",
        "ray::MapWorker(MapBatches(CandidatesKeywordsEmbedScoreChunks))": pool,
        "ray::_StatsActor": data,
        "ray::_AutoscalingCoordinatorActor": data,
        "ray::ActorLocationTracker": data,
        "ray::IDLE": ray,
        "ray::DashboardAgent": ray,
        f"{site}/core/src/ray/gcs/gcs_server --log_dir=/tmp/ray": ray,
        f"/w/.venv/bin/python -u {site}/_private/log_monitor.py --logs-dir=/tmp/ray": ray,
        "/usr/bin/python3 some_other_job.py": "other",
        "": "other",
    }
    for cmd, group in cases.items():
        assert process_group(cmd) == group, cmd
    assert set(cases.values()) == set(PROCESS_GROUPS)
    rows = "ray::MapWorker(MapBatches(CandidatesKeywordsEmbedScoreChunks))"
    groups, pools = cpu_by_group([(rows, 10.0), (rows, 7.5), ("ray::_StatsActor", 1.0),
                                  ("ray::MapWorker(MapBatches(RegionsImagesChunks))", 9.0)])
    assert pools == {rows.removeprefix("ray::"): 17.5,
                     "MapWorker(MapBatches(RegionsImagesChunks))": 9.0}  # two actors: summed
    assert groups[pool] == 26.5 and groups[data] == 1.0 and sum(groups.values()) == 27.5


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads Linux's /proc")
def test_process_cpu_counts_the_root_and_its_descendants_only():
    """A root that uses 0.3 s of CPU and starts a child that does too (each then stays alive
    long enough to be read again) is counted with that child; a process started beside it,
    and the process that runs the block, are not."""
    import os
    import subprocess
    import sys

    from fgalign.bench.core import ProcessCPU

    busy = "import time\nwhile time.process_time() < 0.3: pass\ntime.sleep(3)\n"
    root = ("import subprocess, sys\n"
            f"c = subprocess.Popen([sys.executable, '-c', {busy!r}])\n" + busy + "c.wait()\n")
    with ProcessCPU(interval=0.1) as p:
        beside = subprocess.Popen([sys.executable, "-c", busy])
        proc = subprocess.Popen([sys.executable, "-c", root])
        p.root = proc.pid
        assert proc.wait() == 0 and beside.wait() == 0
    assert p.groups is not None and proc.pid in p.pids and len(p.pids) == 2
    assert beside.pid not in p.pids and os.getpid() not in p.pids
    assert p.groups["other"] >= 0.5  # two processes of 0.3 s, read in clock ticks (1/100 s)
    assert sum(p.groups.values()) == p.groups["other"] and p.pools == {}


def test_linear_fit_of_two_sizes():
    """Per row and once per run apart, always through the larger, measured run: a cost that
    falls with size is flat (noise); one that grows faster than the rows goes through 0; one
    size only, or a second run that is not smaller: all of it per row; 0 rows: all once."""
    from fgalign.bench.projection import linear

    v = lambda c: c["v"]
    assert linear({"rows": 10, "v": 12.0}, {"rows": 110, "v": 62.0}, v) == (7.0, 0.5, True)
    assert linear({"rows": 10, "v": 30.0}, {"rows": 110, "v": 20.0}, v) == (20.0, 0.0, True)
    a, b, fitted = linear({"rows": 10, "v": 1.0}, {"rows": 100, "v": 100.0}, v)
    assert (a, fitted) == (0.0, True) and a + b * 100 == pytest.approx(100.0)
    assert linear(None, {"rows": 100, "v": 20.0}, v) == (0.0, 0.2, False)
    assert linear({"rows": 100, "v": 1.0}, {"rows": 100, "v": 20.0}, v) == (0.0, 0.2, False)
    assert linear({"rows": 0, "v": 1.0}, {"rows": 0, "v": 3.0}, v) == (3.0, 0.0, False)
    assert linear({"rows": 0, "v": 2.0}, {"rows": 10, "v": 3.0}, v) == (2.0, 0.1, True)
    for bad in (float("nan"), float("inf")):
        with pytest.raises(ValueError, match="not a finite measurement"):
            linear({"rows": 1, "v": 1.0}, {"rows": 10, "v": bad}, v)


def test_stage_seconds_split_per_row_and_once():
    """stages.json records: the evaluated split and the image prefetch per row, others once."""
    from fgalign.bench.scale import stage_seconds

    records = [{"task": "vqa", "stage": "regions", "split": "prefetch", "seconds": 40.0},
               {"task": "vqa", "stage": "regions", "split": "train2014:yes-no", "seconds": 0.0},
               {"task": "vqa", "stage": "embed", "split": "answer-prompts", "seconds": 14.0},
               {"task": "vqa", "stage": "embed", "split": "train2014:yes-no", "seconds": 6.0},
               {"task": "vqa", "stage": "embed", "split": "val2014", "seconds": 25.0},
               {"task": "vqa", "stage": "score", "split": "val2014", "seconds": 26.0}]
    assert stage_seconds(records, "val2014") == {
        "stage_s": {"vqa/regions": 40.0, "vqa/embed": 25.0, "vqa/score": 26.0},
        "fixed_stage_s": {"vqa/regions": 0.0, "vqa/embed": 20.0}}


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


def _write_set(folder, split, rows):
    """A stage-cache folder of one input set: a Parquet part and ``_SUCCESS`` naming it."""
    import json

    import pyarrow as pa
    import pyarrow.parquet as pq

    folder.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(rows), folder / "part-0.parquet")
    (folder / "_SUCCESS").write_text(json.dumps({"split": split, "rows": len(rows)}))
    return [folder / "part-0.parquet", folder / "_SUCCESS"]


def test_cache_split_separates_fixed_shares_from_the_questions(tmp_path):
    """Every byte lands in exactly one share; table records follow the rows that refer to them."""
    import numpy as np

    from fgalign.bench.scale import cache_sizes, candidate_stats, parquet_float_bytes
    from fgalign.engine.store import EmbeddingTable, region_key, text_keys

    size = lambda files: sum(f.stat().st_size for f in files)
    q = _write_set(tmp_path / "vqa" / "candidates-aa", "val2014",
                   [{"uid": "q1", "image_key": "img-a", "candidates": ["red", "blue"],
                     "statements": ["the cup is red", "the cup is blue"], "pool_size": 9},
                    {"uid": "q2", "image_key": "img-a", "candidates": ["yes", "no"],
                     "statements": ["yes", "no"], "pool_size": 2}])
    # the image store of every set's images (one prefetch): shared out by the rows' image keys
    store = _write_set(tmp_path / "images" / "images-bb" / "s1", "prefetch",
                       [{"image_key": "img-a", "boxes": [[0.0, 0.0, 1.0, 1.0]]},
                        {"image_key": "img-c", "boxes": [[0.0, 0.0, 0.5, 0.5]]}])
    prompts = _write_set(tmp_path / "vqa" / "embed-cc", "answer-prompts",
                         [{"uid": f"prompt:{i}", "statements": [a]}
                          for i, a in enumerate(["yes", "no", "red", "green"])])
    calib = _write_set(tmp_path / "vqa" / "score-dd", "train2014:yes-no",
                       [{"uid": "c1", "image_key": "img-c", "statements": ["yes", "no", "calib"]}])
    context = tmp_path / "vqa" / "prepare-0123.json"
    context.write_text('{"task": "vqa", "vqa": {"answer_vocab": ["yes", "no", "red"]}}')
    odd = tmp_path / "vqa" / "unknown.bin"  # no rule claims it: counted against the questions
    odd.write_bytes(b"x" * 100)

    texts = ["the cup is red", "the cup is blue", "yes", "no", "red", "green", "calib", "orphan"]
    text = EmbeddingTable(tmp_path / "tables" / "text-ee", dim=4)
    text.add(text_keys(texts), np.ones((8, 4), np.float32))
    image = EmbeddingTable(tmp_path / "tables" / "image-ee", dim=4)
    image.add(np.array([region_key("img-a", 0), region_key("img-a", 1), region_key("img-c", 0)]),
              np.ones((3, 4), np.float32))
    (text_shard,), (image_shard,) = text.path.iterdir(), image.path.iterdir()
    t_size, t_vals = size(text_shard.iterdir()), (text_shard / "values.npy").stat().st_size
    i_size, i_vals = size(image_shard.iterdir()), (image_shard / "values.npy").stat().st_size

    out = cache_sizes(tmp_path, "val2014")
    split = out["split"]
    # text records: answer prompts hold yes, no, red (used by the questions too: shared), green;
    # the calibration set holds calib; the questions their two statements and the orphan
    assert split["tables"]["text-ee"] == {"records": 8, "question": 3, "shared": 3,
                                          "unattributed": 1,
                                          "fixed": {"answer-prompts": 4, "train2014:yes-no": 1}}
    assert split["tables"]["image-ee"] == {"records": 3, "question": 2, "shared": 0,
                                           "unattributed": 0, "fixed": {"train2014:yes-no": 1}}
    fixed = split["fixed"]
    assert set(fixed) == {"answer-prompts", "train2014:yes-no", "task context"}
    assert fixed["task context"] == {"bytes": context.stat().st_size, "embedding": 0,
                                     "by_stage": {"prepare": context.stat().st_size}}
    assert fixed["answer-prompts"]["bytes"] == size(prompts) + t_size * 4 // 8
    assert fixed["answer-prompts"]["by_stage"] == {"embed": size(prompts), "text": t_size * 4 // 8}
    assert fixed["answer-prompts"]["embedding"] == t_vals * 4 // 8
    s_size, boxes = store[0].stat().st_size, parquet_float_bytes(store[0])
    assert boxes > 0 and out["float_columns"] == boxes and out["by_stage"]["unknown"] == 100
    assert split["images"] == {"images": {"records": 2, "question": 1, "shared": 0,
                                          "unattributed": 0, "fixed": {"train2014:yes-no": 1}}}
    assert fixed["train2014:yes-no"] == {
        "bytes": size(calib) + t_size // 8 + i_size // 3 + s_size // 2,
        "embedding": t_vals // 8 + i_vals // 3,
        "by_stage": {"score": size(calib), "text": t_size // 8, "image": i_size // 3,
                     "images": s_size // 2}}
    question = split["question"]
    assert question["by_stage"] == {
        "candidates": size(q), "images": size(store) - s_size // 2, "unknown": 100,
        "text": t_size - t_size * 4 // 8 - t_size // 8, "image": i_size - i_size // 3}
    assert question["embedding"] == ((t_vals - t_vals * 4 // 8 - t_vals // 8)
                                 + (i_vals - i_vals // 3))
    assert question["bytes"] + sum(f["bytes"] for f in fixed.values()) == out["total"]

    stats = candidate_stats(tmp_path, "val2014")
    assert stats == {"questions": 2, "mean": 2.0, "max": 2, "pool_mean": 5.5, "pool_max": 9,
                     "per_uid": {"q1": [2, 9], "q2": [2, 2]}}
    assert candidate_stats(tmp_path, "test") is None


def test_execution_costs_count_overlapping_executions_once():
    """The projection's fixed cost: the span of a run's executions less their stages'
    seconds; two executions at the same time (images and rows) count their overlap once."""
    from fgalign.bench.scale import execution_costs

    both = {"execution_timeline": [{"start_s": 0.0, "wall_s": 10.0, "busy_s": 2.0},
                                   {"start_s": 0.5, "wall_s": 20.0, "busy_s": 9.0}]}
    assert execution_costs(both) == {"exec_s": 20.5, "startup_s": 9.5}
    older = {"ray_init_s": 3.0, "execution_timeline": [{"wall_s": 10.0, "busy_s": 2.0},
                                                       {"wall_s": 20.0, "busy_s": 9.0}]}
    assert execution_costs(older) == {"exec_s": 27.0, "startup_s": 16.0}
    assert execution_costs({}) == {}
