"""The cached Ray Data stage graph on dummy stages (one session cluster, tiny data)."""
import numpy as np
import pytest
import ray_dummy_stages as dummy

from fgalign.config import RayCfg
from fgalign.engine.cache import StageCache, dataset_fingerprint
from fgalign.ray.executor import StageError, run_task_graph

pytestmark = pytest.mark.ray


def _run(tmp_path, specs, force=None, rows=None, calls=None):
    import ray.data

    rows = rows or dummy.make_rows(10)
    cache = StageCache(str(tmp_path / "stages"))
    fp = dataset_fingerprint("root", "test", None, "vqa", rows)
    ray_cfg = RayCfg(max_input_blocks=3, rows_per_file=1)
    calls = [] if calls is None else calls
    path, records = run_task_graph(rows, specs, "vqa", fp, cache, ray_cfg, force=force,
                                   before_compute=lambda: calls.append(1))
    assert len(calls) == (0 if all(r.cached for r in records) else 1)  # once, before compute
    table = ray.data.read_parquet(path).to_pandas()  # files come back in any order
    order = table["uid"].map(lambda u: int(u.rsplit(":", 1)[1]))
    return table.iloc[order.argsort()].reset_index(drop=True), {r.stage: r for r in records}


def _computed(records):
    return [name for name, r in records.items() if not r.cached]


def test_graph_runs_caches_and_recomputes_only_what_changed(ray_session, tmp_path):
    table, rec = _run(tmp_path, dummy.make_specs())
    # rows in = rows out; the failing row carries its error through every stage
    assert table["uid"].tolist() == [f"vqa:test:{i}" for i in range(10)]
    assert table["error"].tolist() == [""] * 3 + ["regions:ValueError"] + [""] * 6
    # variable-shape arrays and nested string lists survive Parquet (R = len(text) % 3, may be 0)
    texts = [r["text"] for r in dummy.make_rows(10)]
    assert [np.asarray(b).reshape(-1, 4).shape[0] for b in table["boxes"]] == \
        [0 if i == 3 else len(t) % 3 for i, t in enumerate(texts)]
    assert [len(k) for k in table["keywords"]] == [0 if i == 3 else 2 + i % 2 for i in range(10)]
    assert [list(map(list, k)) for k in table["keywords"][:1]] == [[["red", "circle"], ["blue"]]]
    assert [np.asarray(s).shape for s in table["score"][:2]] == [(2,), (3,)]
    # one streaming execution; stages with equal resources share one actor pool (fused)
    ops = rec["regions"].operators
    assert ops == "FromItems->MapBatches(RegionsKeywordsEmbedScoreChunks)"
    assert {r.operators for r in rec.values()} == {ops}
    assert _computed(rec) == ["regions", "keywords", "embed", "score"]

    again, rec = _run(tmp_path, dummy.make_specs())
    assert _computed(rec) == []
    assert again["pred"].tolist() == table["pred"].tolist()

    shifted, rec = _run(tmp_path, dummy.make_specs(bias=1.0))
    assert _computed(rec) == ["score"]
    assert np.allclose(np.concatenate(shifted["score"]), np.concatenate(table["score"]) + 1.0)

    assert set(table["gpu_ids"]) == {0}  # embed asks for no GPU
    # resources are not part of the stage hash: force a recompute to see the GPU actor
    table, rec = _run(tmp_path, dummy.make_specs(bias=1.0, embed_gpus=0.5), force="keywords")
    assert _computed(rec) == ["keywords", "embed", "score"]
    assert set(table["gpu_ids"]) == {1}  # the embed actor holds the (logical) GPU
    # a stage with other resources is its own pool, between the fused CPU pools
    assert rec["embed"].operators == ("FromItems->MapBatches(KeywordsChunks)"
                                      "->MapBatches(EmbedChunks)->MapBatches(ScoreChunks)")


def test_a_crashed_run_resumes_from_completed_stages(ray_session, tmp_path):
    with pytest.raises(StageError, match=r"(?s)stage .embed. of task .vqa. failed.*bug"):
        _run(tmp_path, dummy.make_specs(embed_cls=dummy.Broken))
    task_dir = tmp_path / "stages" / "vqa"
    # the stages stream together (here in one fused pool): what was complete when embed
    # broke is committed (regions, and keywords, if all their chunks were through), nothing
    # else, no temporary folder left
    kept = sorted(p.name.split("-")[0] for p in task_dir.iterdir()) if task_dir.exists() else []
    assert kept in ([], ["regions"], ["keywords", "regions"]), kept
    assert all((task_dir / p.name / "_SUCCESS").exists() for p in task_dir.iterdir())
    table, rec = _run(tmp_path, dummy.make_specs())
    assert _computed(rec) == [s for s in ("regions", "keywords", "embed", "score")
                              if s not in kept] and len(table) == 10


def test_a_damaged_cache_is_recomputed_on_ray(ray_session, tmp_path):
    """A lost part file of a committed cache: recomputed, rows in = rows out (kind 3)."""
    _, rec = _run(tmp_path, dummy.make_specs())
    parts = sorted((tmp_path / "stages" / "vqa").glob("score-*/part-*.parquet"))
    assert len(parts) > 1  # 10 rows in chunks of the largest batch size (4)
    parts[-1].unlink()
    table, rec = _run(tmp_path, dummy.make_specs())
    assert _computed(rec) == ["score"] and table["uid"].tolist() == [
        f"vqa:test:{i}" for i in range(10)]


def test_a_long_execution_gets_a_second_actor_with_the_same_rows(ray_session, tmp_path):
    """``rows_per_actor``: 10 rows at 4 per actor start ``concurrency`` = 2 actors (not 3),
    and the rows, their order and every value equal one actor's. (Which actor takes which
    chunk is Ray Data's choice, so the test does not ask that both took some.)"""
    import ray.data

    from fgalign.config import StageResources
    from fgalign.engine.runner import run_chain
    from fgalign.ray.executor import RayExecutor

    rows = dummy.make_rows(10)
    outs = {}
    for name, res in (("one", StageResources()),
                      ("two", StageResources(concurrency=2, rows_per_actor=4))):
        specs = dummy.make_specs(batch_size=1)
        for s in specs:
            s.resources = res.model_copy(update={"batch_size": 1})
        executor = RayExecutor(RayCfg(max_input_blocks=10, rows_per_file=1))
        path, _ = run_chain(rows, specs, "vqa", dataset_fingerprint("r", "t", None, "vqa", rows),
                            StageCache(str(tmp_path / name)), executor)
        assert executor.actors == {"RegionsKeywordsEmbedScoreChunks": 1 if name == "one" else 2}
        table = ray.data.read_parquet(path).to_pandas()
        order = table["uid"].map(lambda u: int(u.rsplit(":", 1)[1]))
        outs[name] = table.iloc[order.argsort()].reset_index(drop=True)
    one, two = outs["one"], outs["two"]
    assert two["uid"].tolist() == one["uid"].tolist() == [r["uid"] for r in rows]
    assert two["pred"].tolist() == one["pred"].tolist()
    assert all(np.array_equal(a, b) for a, b in zip(two["score"], one["score"]))
