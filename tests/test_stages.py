"""The stage graph in-process (Runner + LocalExecutor) on a tiny synthetic world, test-tiny."""
import numpy as np
import pyarrow.parquet as pq
import pytest

from fgalign.align.stage import calibrate_rows
from fgalign.config import to_dict
from fgalign.engine.cache import read_table
from fgalign.engine.gather import ImageRecords, hydrate, read_rows
from fgalign.engine.runner import LocalExecutor, run_stages
from fgalign.engine.store import EmbeddingTable
from fgalign.experiment.plan import (
    build_image_specs,
    build_row_specs,
    load_task_rows,
    make_runner,
    prepare_task,
)
from fgalign.load import build_config
from fgalign.schema import STAGE_NAMES

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cfg(tmp_path_factory):
    from fgalign.data.synth import DATA_PATHS

    root = tmp_path_factory.mktemp("world") / "w"
    return build_config({
        "data": {"root": str(root), "limit": 6, **DATA_PATHS,
                 "synth": {"generate": True, "seed": 3, "images": 30, "image_size": 64}},
        "model": {"name": "test-tiny", "batch_size": 16},
        "tasks": {"snli_ve": {"train_limit": 30, "val_limit": 12, "steps": 10}},
        "adapt": {"bootstrap": 50}, "logging": {"wandb": False, "figures": 2},
        "experiment": {"output_dir": str(root.parent / "runs")},
    })


@pytest.fixture(scope="module")
def world(cfg):
    from fgalign.data.synth import ensure_world

    ensure_world(cfg.data.root, cfg.data.synth)
    return cfg


def _run(cfg, task, rows=None, **kw):
    runner = make_runner(cfg, LocalExecutor(progress=False))
    ctx = prepare_task(cfg, task, runner)
    rows = load_task_rows(cfg, task, ctx) if rows is None else rows
    return runner, runner.run_split(task, cfg.data.split, rows, ctx, **kw), rows


@pytest.mark.parametrize("task", ["vqa", "snli_ve", "vcr"])
def test_rows_in_equal_rows_out_and_columns(world, task):
    runner, run, rows = _run(world, task)
    cached = list(run.iter_rows())
    assert len(cached) == len(rows) == 6 and not any(r["error"] for r in cached)
    assert sorted(str(r["uid"]) for r in cached) == sorted(r["uid"] for r in rows)
    for r in cached:  # the score stage applies no fit: one fused score per statement
        assert len(r["vscore_fusion"]) == len(r["statements"])
        assert "stmt_embs" not in r and "kw_embs" not in r  # no embedding in a row cache
    ctx = prepare_task(world, task, runner)  # the fit, from the cached calibration sets
    out = calibrate_rows(task, world.align, ctx, hydrate(cached, ImageRecords(run.image_records),
                                                         run.tables))
    assert [r["uid"] for r in out] == [r["uid"] for r in cached]
    for r in out:
        assert r["pred"] >= 0 and np.isfinite(np.asarray(r["scores_global"])).all()
        n = 3 if task == "snli_ve" else len(r["statements"])  # SNLI-VE: class logits
        assert len(r["vscore_fusion"]) == n
        assert np.allclose(r["score"], r["vscore_fusion"])
    if task == "vcr":
        assert all(r["pred_r"] >= 0 for r in out)
    # error rows are left as they are, also when no row of the list is error-free (the first
    # rows of a split whose image is unreadable: the alignment figure's rows, a metrics chunk)
    hydrated = hydrate(cached, ImageRecords(run.image_records), run.tables)
    bad = [dict(r, error="embed:bad_image") for r in hydrated]
    assert calibrate_rows(task, world.align, ctx, bad) == bad
    mixed = calibrate_rows(task, world.align, ctx, bad[:2] + hydrated[2:])
    assert mixed[:2] == bad[:2] and [r["pred"] for r in mixed[2:]] == [r["pred"] for r in out[2:]]


def test_specs_contract(world):
    ctx = prepare_task(world, "vqa", calibrate=False)
    specs = build_image_specs(world, "vqa", {}) + build_row_specs(world, "vqa", ctx, {})
    assert tuple(s.name for s in specs) == STAGE_NAMES  # VQA has every stage
    assert [s.name for s in build_row_specs(world, "vcr", {}, {})] == ["keywords", "embed",
                                                                      "score"]
    assert len({s.hash for s in specs}) == 6
    other = world.model_copy(update={"align": world.align.model_copy(update={"tau": 0.5})})
    again = build_image_specs(other, "vqa", {}) + build_row_specs(other, "vqa", ctx, {})
    assert [a.hash == b.hash for a, b in zip(specs, again)] == [True] * 5 + [False]
    k = world.model_copy(update={"tasks": world.tasks.model_copy(update={
        "vqa": world.tasks.vqa.model_copy(update={"k": 3})})})
    assert build_row_specs(k, "vqa", ctx, {})[0].hash != specs[2].hash  # the cut is hashed
    # paths the hashes already determine are not hashed
    assert build_row_specs(world, "vqa", ctx, {"text": "/a"}, ["/x"])[3].hash == specs[5].hash


def test_a_stage_version_changes_its_cache_key(world, monkeypatch):
    from fgalign.embed import TextEmbedder

    ctx = prepare_task(world, "vqa", calibrate=False)
    before = [s.hash for s in build_row_specs(world, "vqa", ctx, {})]
    monkeypatch.setattr(TextEmbedder, "VERSION", TextEmbedder.VERSION + 1)
    after = [s.hash for s in build_row_specs(world, "vqa", ctx, {})]
    assert [a == b for a, b in zip(before, after)] == [True, True, False, True]


def test_images_once_per_distinct_image_and_texts_once_per_text(world):
    runner, run, rows = _run(world, "vqa")
    images = {r["image_key"] for r in rows}
    assert len(images) < len(rows)  # VQA: several questions per image
    shards = runner._shards(run.image_records[0].rsplit("/", 1)[0])
    encoded = sum(int(x) for s in shards for b in read_table(s, ["image_encodes"])
                  for x in b["image_encodes"])
    proposed = sum(runner.cache.rows(s) for s in runner.region_shards("vqa"))
    boxes = sum(len(np.asarray(b).reshape(-1, 4)) for s in runner.region_shards("vqa")
                for batch in read_table(s, ["boxes"]) for b in batch["boxes"])
    assert proposed == len({k for s in runner.region_shards("vqa") for b in read_table(
        s, ["image_key"]) for k in b["image_key"]})  # one proposal row per image
    assert encoded == proposed + boxes  # each image and each crop through the encoder once
    text = EmbeddingTable(run.tables["text"])
    assert all(v.dtype == np.float16 for _, _, v in text._shards.values())
    # a second input set over the same images proposes and encodes nothing new
    ctx = prepare_task(world, "vqa", runner)
    before = len(runner.records)
    runner.run_split("vqa", "again", [dict(r, uid=r["uid"] + "-2") for r in rows], ctx)
    new = runner.records[before:]
    assert [r.cached for r in new if r.stage in ("regions", "images")] == [True, True]
    embed = next(r.path for r in new if r.stage == "embed" and r.split == "again")
    assert sum(int(x) for b in read_table(embed, ["text_encodes"])
               for x in b["text_encodes"]) == 0  # every text already in the table


def test_error_rows_pass_and_batching_does_not_change_scores(world, tmp_path):
    ctx = prepare_task(world, "vcr", make_runner(world, LocalExecutor(progress=False)))
    rows = load_task_rows(world, "vcr", ctx)
    rows[1] = dict(rows[1], error="read:bad_label")
    a = make_runner(world, LocalExecutor(progress=False)).run_split("vcr", "t", rows, ctx)
    raw = to_dict(world)
    raw["ray"].update(cache_dir=str(tmp_path / "c"),
                      stages={n: {"batch_size": 4} for n in STAGE_NAMES})
    small = build_config(raw)
    b = make_runner(small, LocalExecutor(progress=False)).run_split("vcr", "t", rows, ctx)
    ra = {str(r["uid"]): r for r in a.iter_rows()}
    rb = {str(r["uid"]): r for r in b.iter_rows()}
    assert set(ra) == {r["uid"] for r in rows}
    bad = ra[rows[1]["uid"]]
    assert bad["error"] == "read:bad_label" and bad["pred"] == -1 and len(bad["scores_global"]) == 0
    for u, x in ra.items():
        assert x["pred"] == rb[u]["pred"] and x["pred_r"] == rb[u]["pred_r"]
        assert np.allclose(x["vscore_fusion"], rb[u]["vscore_fusion"], atol=1e-5)


def test_missing_image_becomes_a_row_error(world):
    ctx = prepare_task(world, "vcr", calibrate=False)
    rows = load_task_rows(world, "vcr", ctx)[:2]
    rows[0] = dict(rows[0], image_path="images/nope.png", image_key="nope")
    runner = make_runner(world, LocalExecutor(progress=False))
    out = {str(r["uid"]): r for r in runner.run_split("vcr", "missing", rows, ctx,
                                                       stop_after="embed").iter_rows()}
    assert out[rows[0]["uid"]]["error"].startswith("regions:")
    assert out[rows[1]["uid"]]["error"] == ""


def test_the_figure_draws_the_first_error_free_rows(world):
    """The first row's image is missing: the alignment figure takes the next rows (before,
    SNLI-VE's calibration of error rows only raised and the whole run failed)."""
    from fgalign.experiment.run import figure_rows

    for task in ("vcr", "snli_ve"):
        runner = make_runner(world, LocalExecutor(progress=False))
        ctx = prepare_task(world, task, runner)
        rows = load_task_rows(world, task, ctx)[:3]
        rows[0] = dict(rows[0], image_path="images/nope.png", image_key="nope")
        run = runner.run_split(task, "missing-first", rows, ctx)
        got = figure_rows(world, task, ctx, run, 2)
        assert [r["uid"] for r in got] == [rows[1]["uid"], rows[2]["uid"]]
        assert not any(r["error"] for r in got)


def test_hydrated_rows_match_the_tables(world):
    _runner, run, rows = _run(world, "vqa", stop_after="embed")
    hydrated = read_rows(run.path)
    assert len(hydrated) == len(rows)
    r = hydrated[0]
    c = len(r["statements"])
    assert r["stmt_embs"].shape == (c, r["image_emb"].shape[0])
    assert r["kw_embs"].shape[:2] == r["kw_mask"].shape and r["kw_embs"].shape[0] == c
    assert len(r["region_embs"]) == len(r["region_tags"]) == len(r["boxes"])
    for key in ("image_emb", "region_embs", "tag_embs", "stmt_embs"):
        assert np.allclose(np.linalg.norm(r[key], axis=-1), 1.0, atol=2e-3)  # fp16 storage
    files = [f for f in __import__("glob").glob(f"{run.path}/*.parquet")]
    assert not {"stmt_embs", "kw_embs", "region_embs"} & set(pq.read_schema(files[0]).names)


def test_run_stages_in_memory_matches_the_runner(world):
    ctx = prepare_task(world, "vcr", calibrate=False)
    rows = load_task_rows(world, "vcr", ctx)
    out = run_stages(build_row_specs(world, "vcr", ctx, {})[:1], rows)
    assert [r["uid"] for r in out] == [r["uid"] for r in rows]
    assert all(len(r["keywords"]) == len(r["statements"]) for r in out)


@pytest.mark.parametrize("damage", ["lose", "truncate", "add"])
def test_a_damaged_cache_is_recomputed_not_read(world, tmp_path, damage, caplog):
    """A part file lost, truncated or added after the commit: the cache is recomputed with
    one warning, and every row comes back (issue 19, kind 3)."""
    import logging

    raw = to_dict(world)
    raw["ray"].update(cache_dir=str(tmp_path / "c"),
                      stages={n: {"batch_size": 2} for n in STAGE_NAMES})  # several parts
    small = build_config(raw)
    runner, run, rows = _run(small, "vcr")
    kw = run.path  # the score cache: what the next run reads
    parts = sorted(p for p in __import__("pathlib").Path(kw).glob("*.parquet"))
    assert len(parts) > 1
    if damage == "lose":
        parts[0].unlink()
    elif damage == "truncate":
        parts[0].write_bytes(parts[0].read_bytes()[:100])
    else:
        (parts[0].parent / "part-999999.parquet").write_bytes(parts[1].read_bytes())
    with caplog.at_level(logging.WARNING, logger="fgalign.engine.cache"):
        again = make_runner(small, LocalExecutor(progress=False)).run_split(
            "vcr", small.data.split, rows, prepare_task(small, "vcr", runner))
    assert any("is damaged" in m and kw in m for m in caplog.messages)
    computed = [r.stage for r in again.records if not r.cached]
    assert computed == ["score"]
    assert sorted(str(r["uid"]) for r in again.iter_rows()) == sorted(r["uid"] for r in rows)
    assert [str(r["uid"]) for r in again.iter_rows()] == [r["uid"] for r in rows]  # in order


def test_two_sets_sharing_a_stage_cache_are_computed_once(world, tmp_path):
    """The evaluated split is the calibration split (``data.split`` = ``data.val_split``):
    both input sets reach the same keywords / embed caches in one call. The second set waits
    for the next execution and reads them; before, both wrote one cache folder at once
    (FileNotFoundError on its temporary folder)."""
    from fgalign.experiment.plan import RunRequest

    raw = to_dict(world)
    raw["ray"].update(cache_dir=str(tmp_path / "c"))
    small = build_config(raw)
    task = "vcr"
    rows = load_task_rows(small, task, {"task": task})
    runner = make_runner(small, LocalExecutor(progress=False))
    ctx = {"task": task}
    embed_only, whole = runner.run_sets([RunRequest(task, "val", rows, ctx, stop_after="embed"),
                                         RunRequest(task, "val", rows, ctx)])
    assert runner.executions == 3  # images; the whole chain; score of the waiting set only
    computed = [(r.split, r.stage) for r in runner.records if not r.cached
                and r.stage not in ("regions", "images")]
    assert [s for _, s in computed].count("keywords") == 1
    assert [s for _, s in computed].count("embed") == 1
    assert sorted(str(r["uid"]) for r in embed_only.iter_rows()) == sorted(r["uid"] for r in rows)
    assert sorted(str(r["uid"]) for r in whole.iter_rows()) == sorted(r["uid"] for r in rows)


def test_the_config_never_climbs_back_up(world, tmp_path):
    """Issue 18: ``fgalign evaluate`` traced (``docs/config_walk.py``): no config-carrying
    call returns into a package the walk left (the engine is handed finished specs, tasks
    never call a runner, the data check is handed its splits); the one call up the layers
    is the executor calling the stage object its spec names."""
    import importlib.util
    from pathlib import Path

    from fgalign.cli import main
    from fgalign.config import dump_yaml

    path = Path(__file__).resolve().parents[1] / "docs" / "config_walk.py"
    spec = importlib.util.spec_from_file_location("config_walk", path)
    config_walk = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(config_walk)
    (tmp_path / "c.yaml").write_text(dump_yaml(world))
    code, w = config_walk.walk(main, ["evaluate", "--config", str(tmp_path / "c.yaml"),
                                      "--set", "data.limit=3", "--set", "ray.cache_dir=" +
                                      str(tmp_path / "stages"), "--no-figures"])
    assert code == 0
    assert sum(w.calls.values()) > 100  # the walk was traced (runner, plan, tasks, stages)
    assert ("fgalign.experiment.plan", "fgalign.engine.runner") in w.calls
    assert not w.climbs_back, w.climbs_back
    assert {k for k, _ in w.layer_climbs} <= {"fgalign.engine.rowguard -> fgalign.align.stage"}


class OverlapLocal(LocalExecutor):
    """The in-process executor, asked to overlap the images and the rows executions (as
    ``RayExecutor.schedule`` does when both fit): two threads, the rows wait at a gate."""

    def schedule(self, first, second):
        return "overlap"


def _with_cache(cfg, root):
    return cfg.model_copy(update={"ray": cfg.ray.model_copy(update={"cache_dir": str(root)})})


def test_rows_overlapping_the_images_wait_at_the_gate_and_match(world, tmp_path):
    """Rows started while the images execution runs give the same scores as one after the
    other (their chunks wait at the gate, then read the committed images and prompts)."""
    out = {}
    for name, executor in (("sequential", LocalExecutor(progress=False)),
                           ("overlap", OverlapLocal(progress=False))):
        cfg = _with_cache(world, tmp_path / name)
        runner = make_runner(cfg, executor)
        committed: list[int] = []  # image shards committed when the after_images hook ran
        runner.after_images = lambda c=committed, d=tmp_path / name: c.append(
            len(list(d.glob("images/images-*/*/_SUCCESS"))))
        ctx = prepare_task(cfg, "vqa", calibrate=False)
        run = runner.run_split("vqa", cfg.data.split, load_task_rows(cfg, "vqa", ctx), ctx)
        assert runner.executions == 2
        assert len(committed) == 1 and committed[0] >= 1, committed  # once, images committed
        out[name] = list(run.iter_rows(["uid", "error", "vscore_fusion", "candidates"]))
        again = make_runner(cfg, executor)  # every cache found: no idle time, no hook
        again.after_images = lambda: pytest.fail("after_images called in a fully cached run")
        again.run_split("vqa", cfg.data.split, load_task_rows(cfg, "vqa", ctx), ctx)
        assert again.executions == 0
    assert len(out["overlap"]) == len(out["sequential"]) == 6
    for a, b in zip(out["sequential"], out["overlap"]):
        assert a["uid"] == b["uid"] and a["error"] == b["error"]
        assert list(a["candidates"]) == list(b["candidates"])
        np.testing.assert_array_equal(a["vscore_fusion"], b["vscore_fusion"])


def test_with_every_image_cached_the_hook_waits_for_the_rows_first_chunk(world, tmp_path):
    """Images cached, rows to compute: ``after_images`` (the Ray driver's warm-up) comes once
    the rows' first chunk is back, not while their pools start."""
    cfg = _with_cache(world, tmp_path / "stages")
    ctx = prepare_task(cfg, "vqa", calibrate=False)
    rows = load_task_rows(cfg, "vqa", ctx)
    make_runner(cfg, LocalExecutor(progress=False)).run_split("vqa", cfg.data.split, rows, ctx)
    scoring = cfg.model_copy(update={"align": cfg.align.model_copy(update={"tau": 0.2})})
    runner = make_runner(scoring, LocalExecutor(progress=False))  # a new score stage only
    written: list[int] = []  # row chunks in the stages' temporary folders when the hook ran
    runner.after_images = lambda: written.append(
        len(list((tmp_path / "stages").glob("vqa/*.tmp-*/*.parquet"))))
    runner.run_split("vqa", cfg.data.split, rows, ctx)
    assert runner.executions == 1  # the rows only
    assert len(written) == 1 and written[0] >= 1, written


def test_a_failed_images_execution_releases_the_waiting_rows(world, tmp_path, monkeypatch):
    """The images fail while the rows wait at their gate: the images' error is raised, the
    rows do not wait forever, and no abort file is left behind."""
    from fgalign.engine.runner import StageError
    from fgalign.regions.embed import ImageEmbedder

    def broken(self, *a, **k):
        raise RuntimeError("no image model today")

    monkeypatch.setattr(ImageEmbedder, "__init__", broken)
    cfg = _with_cache(world, tmp_path / "stages")
    runner = make_runner(cfg, OverlapLocal(progress=False))
    runner.after_images = lambda: pytest.fail("after_images called without committed images")
    ctx = prepare_task(cfg, "vcr", calibrate=False)
    with pytest.raises(StageError, match="no image model today"):
        runner.run_split("vcr", cfg.data.split, load_task_rows(cfg, "vcr", ctx), ctx)
    assert not list((tmp_path / "stages").glob(".abort-*"))


def test_gate_waits_for_commits_and_stops_on_abort(tmp_path):
    from fgalign.engine.chunks import Gate, GateAborted, wait_gate

    done, never = tmp_path / "done", tmp_path / "never"
    done.mkdir()
    (done / "_SUCCESS").write_text("{}")
    wait_gate(Gate(paths=[str(done)]))  # committed: returns at once
    (tmp_path / "abort").write_text("failed")
    with pytest.raises(GateAborted, match="never"):
        wait_gate(Gate(paths=[str(done), str(never)], abort=str(tmp_path / "abort")))


def test_each_set_is_handed_over_once_when_ready_and_the_row_order_moves_no_value(world,
                                                                                  tmp_path):
    """``Runner.run(on_ready=...)``: each set once, as soon as its last cache is committed
    (or, in a re-run, found while planning), in the order ``row_order`` gives the rows
    execution; that order changes no value (batches never mix sets)."""
    from fgalign.experiment.plan import RunRequest

    ctx = prepare_task(world, "vcr", calibrate=False)
    rows = load_task_rows(world, "vcr", ctx)
    reqs = [RunRequest("vcr", "first", rows[:3], ctx), RunRequest("vcr", "second", rows[3:], ctx)]
    out = {}
    for name, order in (("given", None), ("reversed", [1, 0])):
        runner = make_runner(_with_cache(world, tmp_path / name), LocalExecutor(progress=False))
        seen: list = []
        runs = runner.run_sets(reqs, on_ready=lambda i, r, s=seen: s.append((i, r)),
                               row_order=order)
        assert [i for i, _ in seen] == ([0, 1] if order is None else [1, 0])
        for i, r in seen:  # what was handed over is what the call returns
            assert (r.split, r.n, r.path, r.uids) == (runs[i].split, runs[i].n, runs[i].path,
                                                      runs[i].uids)
            assert [x.stage for x in r.records][-1] == "score"
        out[name] = [list(r.iter_rows(["uid", "error", "vscore_fusion"])) for r in runs]
        again: list = []
        runner.run_sets(reqs, on_ready=lambda i, r, a=again: a.append(i))
        assert sorted(again) == [0, 1] and runner.executions == 2  # found, not computed
        with pytest.raises(ValueError, match="row_order"):
            runner.run_sets(reqs, row_order=[0, 0])
    for a_set, b_set in zip(out["given"], out["reversed"]):
        assert [r["uid"] for r in a_set] == [r["uid"] for r in b_set]
        for a, b in zip(a_set, b_set):
            assert a["error"] == b["error"]
            np.testing.assert_array_equal(a["vscore_fusion"], b["vscore_fusion"])


def test_a_cancelled_pass_keeps_what_is_complete_and_resumes(world, tmp_path):
    """``Runner.run(check=...)``: once ``check`` raises ``Cancelled`` (the Ray driver's step
    beside the pass failed) the pass ends at the next chunk: the set already scored stays
    committed, the set half through leaves no temporary folder, ``Cancelled`` comes out as it
    is (not as a StageError), and a re-run computes the rest, rows in = rows out."""
    from fgalign.engine.runner import Cancelled, StageError
    from fgalign.experiment.plan import RunRequest

    ctx = prepare_task(world, "vcr", calibrate=False)
    rows = load_task_rows(world, "vcr", ctx)
    reqs = [RunRequest("vcr", "first", rows[:2], ctx), RunRequest("vcr", "second", rows[2:], ctx)]
    raw = to_dict(world)  # one row per chunk: the second set is cut after its first chunk
    raw["ray"].update(cache_dir=str(tmp_path / "stages"),
                      stages={n: {"batch_size": 1} for n in STAGE_NAMES})
    cfg = build_config(raw)
    ready: list[int] = []
    checks: list[list[int]] = []

    def check():
        checks.append(list(ready))
        if ready:
            raise Cancelled("a step failed")

    runner = make_runner(cfg, LocalExecutor(progress=False))
    with pytest.raises(Cancelled) as caught:
        runner.run_sets(reqs, on_ready=lambda i, r: ready.append(i), check=check)
    assert not isinstance(caught.value, StageError)
    assert ready == [0] and checks[-1] == [0]  # raised at the first chunk after set 0
    assert not list((tmp_path / "stages").rglob("*.tmp-*"))
    assert not [r for r in runner.records if r.split == "second" and r.stage == "score"]
    again = make_runner(cfg, LocalExecutor(progress=False))
    runs = again.run_sets(reqs)
    assert [r.n for r in runs] == [2, len(rows) - 2]
    done = {(r.split, r.stage): r.cached for r in again.records}
    assert done[("first", "score")] and not done[("second", "score")]
    assert sorted(u for r in runs for u in r.uids) == sorted(str(r["uid"]) for r in rows)


def test_prepare_task_refuses_scored_sets_that_are_not_its_calibration_sets(world):
    runner = make_runner(world, LocalExecutor(progress=False))
    with pytest.raises(ValueError, match="not its calibration sets"):
        prepare_task(world, "snli_ve", runner, runs=[])
