import numpy as np
import pytest

from fgalign.adapt import TargetAccessError, TaskData, TaskStore, candidate_credit, read_rows


def test_credit_vqa_is_official_accuracy_and_labels_one_hot():
    row = {"task": "vqa", "error": "", "candidates": ["two", "red", "2", "blue"],
           "target": ["2"] * 2 + ["red"] * 8}
    # "two" normalises to "2" only when the human answers disagree (official rule): they do
    assert candidate_credit(row).tolist() == pytest.approx([0.6, 1.0, 0.6, 0.0])
    assert candidate_credit({"task": "vcr", "error": "", "candidates": list("abcd"),
                             "target": 2}).tolist() == [0, 0, 1, 0]
    assert candidate_credit({"task": "snli_ve", "error": "", "candidates": list("abc"),
                             "target": -1}).tolist() == [0, 0, 0]
    assert candidate_credit({"task": "vcr", "error": "embed:x", "candidates": list("ab"),
                             "target": 1}).tolist() == [0, 0]


def test_task_data_skips_error_rows_and_pads_credit(toy_rows):
    rows = toy_rows("vcr", 3, 4, seed=0)
    rows[1] = {**rows[1], "error": "regions:bad_image", "stmt_embs": None}
    data = TaskData.from_rows("vcr", "train", rows)
    assert len(data) == 2 and data.n_errors == 1
    batch, credit = data.batch([0, 1])
    assert credit.shape == batch.cand_mask.shape == (2, 4)
    assert credit.sum(1).tolist() == [1.0, 1.0]


def test_store_refuses_forbidden_task_until_released(toy_rows):
    calls = []

    def loader(task, split):
        calls.append((task, split))
        return toy_rows(task, 2, 3, seed=0)

    store = TaskStore(loader, forbidden=["snli_ve"])
    with pytest.raises(TargetAccessError):
        store.get("snli_ve", "test")
    assert calls == []  # the loader was never reached
    store.get("vqa", "train")
    store.get("vqa", "train")  # cached: loaded once
    store.release("snli_ve")
    store.get("snli_ve", "test")
    assert calls == [("vqa", "train"), ("snli_ve", "test")]


def test_parquet_round_trip(tmp_path, toy_rows):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = toy_rows("vqa", 3, 3, seed=0)
    table = pa.Table.from_pylist([{k: (v.tolist() if isinstance(v, np.ndarray) else v)
                                   for k, v in r.items()} for r in rows])
    pq.write_table(table, tmp_path / "x.parquet")
    back = read_rows(tmp_path / "x.parquet")
    assert len(back) == 3 and back[0]["candidates"] == rows[0]["candidates"]
    np.testing.assert_allclose(back[2]["kw_embs"], rows[2]["kw_embs"])
    store = TaskStore.from_parquet({"vqa/train": str(tmp_path / "x.parquet")})
    assert len(store.get("vqa", "train")) == 3
