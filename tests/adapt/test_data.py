import numpy as np
import pytest
from toy_world import write_toy_caches

from fgalign.adapt import TargetAccessError, TaskData, TaskStore, read_rows
from fgalign.align.batch import to_array
from fgalign.config import AlignCfg
from fgalign.tasks.vqa.answers import vqa_credit


def test_vqa_credit_is_official_accuracy():
    # "two" normalises to "2" only when the human answers disagree (official rule): they do
    got = vqa_credit(["two", "red", "2", "blue"], ["2"] * 2 + ["red"] * 8)
    assert got.tolist() == pytest.approx([0.6, 1.0, 0.6, 0.0])
    assert vqa_credit(["a", "b"], []).tolist() == [0, 0]


def test_items_per_task(toy_rows):
    align = AlignCfg()
    vcr = TaskData.from_rows("vcr", "train", toy_rows("vcr", 3, seed=0), align)
    # a Q→A and a QA→R item per row; only the Q→A ones are headline items
    assert len(vcr) == 6 and vcr.eval_idx == [0, 2, 4]
    b, credit = vcr.batch([0, 1])
    assert credit.shape == (2, 4) and credit.sum(1).tolist() == [1.0, 1.0]
    ve = TaskData.from_rows("snli_ve", "train", toy_rows("snli_ve", 4, seed=0), align)
    assert len(ve) == 4 and ve.n_rows == 12  # one entailed-vs-contradicted pair per premise
    b, credit = ve.batch(range(4))
    assert b.stmts.shape[1] == 2 and credit.tolist() == [[1, 0], [0, 1], [1, 0], [0, 1]]
    vqa = TaskData.from_rows("vqa", "train", toy_rows("vqa", 2, seed=0), align)
    assert sorted(vqa.credit[0].tolist()) == pytest.approx([0, 0, 0, 0.6, 1.0])


def test_error_rows_are_counted_not_used(toy_rows):
    rows = toy_rows("vqa", 3, seed=0)
    rows[1] = {**rows[1], "error": "regions:bad_image", "stmt_embs": None}
    data = TaskData.from_rows("vqa", "test", rows, AlignCfg())
    assert len(data) == 2 and data.n_errors == 1


def test_store_refuses_forbidden_task_until_released(toy_rows):
    calls = []

    def loader(task, split):
        calls.append((task, split))
        return toy_rows(task, 2, seed=0)

    store = TaskStore(loader, AlignCfg(), forbidden=["snli_ve"])
    with pytest.raises(TargetAccessError):
        store.get("snli_ve", "test")
    with pytest.raises(TargetAccessError):
        store.rows("snli_ve", "train_text")
    assert calls == []  # the loader was never reached
    store.get("vqa", "train")
    store.get("vqa", "train")  # cached: loaded once
    store.release("snli_ve")
    store.get("snli_ve", "test")
    assert calls == [("vqa", "train"), ("snli_ve", "test")]


def test_parquet_round_trip(tmp_path, toy_rows):
    paths = write_toy_caches(tmp_path, {"train": 6})
    assert sorted(paths) == ["snli_ve/train", "snli_ve/train_text", "vcr/train", "vqa/train"]
    back = read_rows(paths["vcr/train"])
    want = toy_rows("vcr", 6, seed=2, distortion=3.0)
    assert len(back) == 6 and list(back[0]["candidates"]) == want[0]["candidates"]
    np.testing.assert_allclose(to_array(back[2]["kw_embs"], 3), want[2]["kw_embs"], rtol=1e-6)
    store = TaskStore.from_parquet(paths, AlignCfg())
    assert len(store.get("vcr", "train")) == 12
