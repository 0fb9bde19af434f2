"""Stage cache, hash chain and batch helpers: no Ray cluster needed."""
import numpy as np
import pytest
from ray_dummy_stages import Regions, make_rows, make_specs

from fgalign.engine.arrow import concat_batches, run_batch, to_arrow_table
from fgalign.engine.cache import StageCache, chain_hash, dataset_fingerprint
from fgalign.ray.executor import plan_start


def test_commit_marks_complete_and_replaces(tmp_path):
    cache = StageCache(str(tmp_path / "stages"))
    path = cache.path("vqa", "embed", "abc")
    assert cache.rows(path) is None
    tmp = cache.begin(path)
    (tmp_path / "stages/vqa" / tmp.rsplit("/", 1)[1] / "part.parquet").write_text("x")
    cache.commit(tmp, path, 7, stage="embed")
    assert cache.rows(path) == 7 and (tmp_path / "stages/vqa/embed-abc/part.parquet").exists()
    tmp2 = cache.begin(path)  # a forced recompute replaces the old directory
    cache.commit(tmp2, path, 5)
    assert cache.rows(path) == 5 and not (tmp_path / "stages/vqa/embed-abc/part.parquet").exists()


def test_incomplete_and_stale_dirs_do_not_count(tmp_path):
    cache = StageCache(str(tmp_path))
    path = cache.path("vqa", "regions", "h1")
    (tmp_path / "vqa/regions-h1").mkdir(parents=True)  # renamed but killed before _SUCCESS
    assert cache.rows(path) is None
    stale = cache.begin(path)  # a killed writer's temporary directory
    fresh = cache.begin(path)
    assert not (tmp_path / "vqa" / stale.rsplit("/", 1)[1]).exists()
    cache.abort(fresh)
    assert sorted(p.name for p in (tmp_path / "vqa").iterdir()) == ["regions-h1"]


def test_fingerprint_follows_rows_and_identity():
    rows = make_rows(4)
    base = dataset_fingerprint("data/w", "test", None, "vqa", rows)
    assert base == dataset_fingerprint("data/w", "test", None, "vqa", make_rows(4))
    changed = make_rows(4)
    changed[2]["candidates"] = ["other"]
    assert base != dataset_fingerprint("data/w", "test", None, "vqa", changed)
    assert base != dataset_fingerprint("data/w", "test", 4, "vqa", rows)
    assert base != dataset_fingerprint("elsewhere", "test", None, "vqa", rows)
    assert chain_hash(base, "s1") != chain_hash(base, "s2") != chain_hash("other", "s2")


def test_plan_start_resumes_after_last_complete_stage(tmp_path):
    cache, specs = StageCache(str(tmp_path)), make_specs()
    paths = [cache.path("vqa", s.name, f"h{i}") for i, s in enumerate(specs)]
    assert plan_start(specs, paths, 10, cache, None) == 0
    for p in paths[:2]:
        cache.commit(cache.begin(p), p, 10)
    assert plan_start(specs, paths, 10, cache, None) == 2
    assert plan_start(specs, paths, 10, cache, "keywords") == 1
    assert plan_start(specs, paths, 10, cache, "regions") == 0
    assert plan_start(specs, paths, 11, cache, None) == 0  # wrong row count: not reused
    with pytest.raises(ValueError, match="'embedd'.*regions, keywords, embed, score"):
        plan_start(specs, paths, 10, cache, "embedd")


def _batch(rows):
    return {k: np.array([r[k] for r in rows] + [None], dtype=object)[:-1] for k in rows[0]}


def test_run_batch_isolates_the_failing_row():
    rows = make_rows(6)
    out = run_batch(Regions(), "regions", _batch(rows))
    assert list(out["error"]) == ["", "", "", "regions:ValueError", "", ""]
    assert [b.shape for b in out["boxes"]] == [(0, 4), (1, 4), (2, 4), (0, 4), (1, 4), (2, 4)]
    alone = run_batch(Regions(), "regions", _batch(rows[3:4]))  # a batch of one is a row
    assert list(alone["error"]) == ["regions:ValueError"] and alone["boxes"][0].shape == (0, 4)


def test_arrow_table_schema_does_not_depend_on_the_rows():
    def obj(*cells):
        out = np.empty(len(cells), dtype=object)
        out[:] = [None] * len(cells)
        for i, c in enumerate(cells):
            out[i] = c
        return out

    same = {"candidates": obj(np.array(["a", "b"], dtype=object), np.array(["c"], dtype=object)),
            "image_emb": obj(np.ones(3, np.float32), np.ones(3, np.float32)),  # (D,) each
            "boxes": np.zeros((2, 1, 4), np.float32),  # (B, R, 4) when every R is equal
            "pred": np.array([1, 2])}
    mixed = {"candidates": obj(np.array([], dtype=object), np.array(["d"], dtype=object)),
             "image_emb": obj(np.zeros(0, np.float32), np.ones(3)),  # error row, float64 row
             "boxes": obj([], np.zeros((3, 4), np.float32)),
             "pred": np.array([-1, 0])}
    a, b = to_arrow_table(same), to_arrow_table(mixed)
    assert a.schema == b.schema
    assert str(a.schema.field("candidates").type) == "list<item: string>"
    assert "VariableShaped" in str(a.schema.field("boxes").type)
    assert b.column("candidates").to_pylist() == [[], ["d"]]
    from ray.data.block import BlockAccessor

    back = BlockAccessor.for_block(to_arrow_table({"e": obj(np.zeros((0, 3)), [], np.ones((2, 3)))}))
    assert [x.shape for x in back.to_numpy()["e"]] == [(0, 3), (0, 0), (2, 3)]


def test_concat_batches_ragged_columns():
    a = {"x": np.ones((1, 3, 2)), "y": np.array([1])}
    b = {"x": np.ones((1, 5, 2)), "y": np.array([2])}
    out = concat_batches([a, b])
    assert out["x"].dtype == object and [v.shape for v in out["x"]] == [(3, 2), (5, 2)]
    assert out["y"].tolist() == [1, 2]


def test_the_pools_of_an_execution_must_fit_together():
    from fgalign.config import ConfigError, RayCfg
    from fgalign.ray.runtime import check_stage_resources

    ok = RayCfg()  # a quarter CPU per pool: four pools fit two CPUs
    check_stage_resources(ok, {"CPU": 2.0})
    greedy = RayCfg(stages={"embed": {"num_cpus": 1, "concurrency": 2}})
    # equal neighbours share a pool and count once: candidates+keywords, embed, score; a
    # config error (InputError): the command line prints it as one line, exit 2
    with pytest.raises(ConfigError, match=r"ray\.stages: the pools that run together "
                                         r"\(candidates\+keywords 1x0\.25 CPU, embed 2x1 CPU, "
                                         r"score 1x0\.25 CPU\) need 2\.5 CPUs, the cluster has 2"):
        check_stage_resources(greedy, {"CPU": 2.0})
    gpu = RayCfg(stages={"embed": {"num_gpus": 1}})
    with pytest.raises(ValueError, match=r"ray\.stages: .* GPUs.*num_gpus: 0"):
        check_stage_resources(gpu, {"CPU": 8.0})


def test_stages_with_equal_resources_share_a_pool():
    from fgalign.config import StageResources
    from fgalign.ray.runtime import fuse_pools

    cpu, gpu = StageResources(), StageResources(num_gpus=0.5)
    more = StageResources(concurrency=2)
    assert fuse_pools(["regions", "images"], {"regions": cpu, "images": cpu}) == [
        ("regions", "images")]
    # only neighbours fuse; a GPU stage splits the CPU stages around it
    res = {"candidates": cpu, "keywords": cpu, "embed": gpu, "score": cpu}
    assert fuse_pools(list(res), res) == [("candidates", "keywords"), ("embed",), ("score",)]
    # batch_size is applied inside the pool per stage: it does not split pools
    res = {"keywords": StageResources(batch_size=5), "embed": StageResources(batch_size=128),
           "score": more}
    assert fuse_pools(list(res), res) == [("keywords", "embed"), ("score",)]
    assert fuse_pools([], {}) == []


def test_task_context_cache(tmp_path, monkeypatch):
    import fgalign.experiment.prepare
    from fgalign.config import Config
    from fgalign.experiment.prepare import prepare_cached

    root = tmp_path / "world"
    root.mkdir()
    (root / "train.jsonl").write_text("{}\n")
    calls = []

    def fake_prepare(cfg, task, runner=None, runs=None):
        calls.append(task)
        return {"task": task, "prior": [1, 2], "w": [[0.1, 0.25]]}

    monkeypatch.setattr(fgalign.experiment.prepare, "prepare_task", fake_prepare)
    cfg = Config.model_validate({"data": {"root": str(root)}})
    cache = str(tmp_path / "stages")
    first = prepare_cached(cfg, "vcr", cache)
    assert first == (fake_prepare(cfg, "vcr"), False) and len(calls) == 2
    assert prepare_cached(cfg, "vcr", cache) == (first[0], True) and len(calls) == 2
    # what only selects evaluated rows or resources does not matter; the rest does
    cfg2 = Config.model_validate({"data": {"root": str(root), "limit": 3, "split": "val"},
                                  "ray": {"num_cpus": 1}})
    assert prepare_cached(cfg2, "vcr", cache)[1] is True
    cfg3 = Config.model_validate({"data": {"root": str(root)}, "align": {"tau": 0.3}})
    assert prepare_cached(cfg3, "vcr", cache)[1] is False
    (root / "train.jsonl").write_text("{} \n")  # an annotation file changed
    assert prepare_cached(cfg, "vcr", cache)[1] is False
    assert prepare_cached(cfg, "vcr", cache, force=True)[1] is False


def test_a_pool_starts_one_actor_per_rows_per_actor_rows():
    from fgalign.config import RayCfg, StageResources
    from fgalign.ray.runtime import fuse_pools, pool_actors

    fixed = StageResources(concurrency=3)
    assert [pool_actors(fixed, n) for n in (0, 1, 10**6)] == [3, 3, 3]
    scaled = StageResources(concurrency=2, rows_per_actor=4000)
    assert [pool_actors(scaled, n) for n in (0, 1, 4000, 4001, 8000, 10**6)] == [1, 1, 1, 2, 2, 2]
    # the default row stages share one pool that may grow to two actors; the image stages
    # keep one
    res = RayCfg().stages
    assert fuse_pools(list(res), res) == [("regions", "images"),
                                          ("candidates", "keywords", "embed", "score")]
    assert pool_actors(res["keywords"], 2324) == 1 and pool_actors(res["keywords"], 11244) == 2
    assert pool_actors(res["images"], 10**6) == 1
    # each actor's torch threads: the node's CPUs over the execution's actors
    from fgalign.ray.runtime import actor_threads

    assert [actor_threads(2.0, n) for n in (0, 1, 2, 3)] == [2, 2, 1, 1]
    assert actor_threads(16.0, 3) == 5 and actor_threads(0.5, 1) == 1
    # rows_per_actor separates pools like any other resource
    assert fuse_pools(["keywords", "embed"], {"keywords": fixed, "embed": StageResources(
        concurrency=3, rows_per_actor=10)}) == [("keywords",), ("embed",)]
