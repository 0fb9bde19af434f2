"""collate: padding, masks, labels, error rows and Ray-style object arrays."""
import numpy as np
import pytest
import torch

from fgalign.align import collate


def _row(r, c, k, d=3, label=None, seed=0):
    rng = np.random.default_rng(seed)
    row = {"image_emb": rng.normal(size=d).astype(np.float32),
           "region_embs": rng.normal(size=(r, d)).astype(np.float32),
           "tag_embs": rng.normal(size=(r, d)).astype(np.float32),
           "stmt_embs": rng.normal(size=(c, d)).astype(np.float32),
           "kw_embs": rng.normal(size=(c, k, d)).astype(np.float32),
           "kw_mask": np.ones((c, k), bool)}
    if label is not None:
        row["label"] = label
    return row


def test_shapes_masks_and_labels():
    a, b = _row(2, 3, 1, label=2), _row(0, 1, 4, seed=1)
    batch = collate([a, b])
    assert batch.regions.shape == (2, 2, 3) and batch.kws.shape == (2, 3, 4, 3)
    assert batch.region_mask.tolist() == [[True, True], [False, False]]
    assert batch.cand_mask.tolist() == [[True, True, True], [True, False, False]]
    assert batch.kw_mask[0].sum().item() == 3 and batch.kw_mask[1, 0].all()
    assert batch.label.tolist() == [2, -1]
    assert torch.equal(batch.stmts[0], torch.from_numpy(a["stmt_embs"]))
    assert batch.kw_region_mask is None and batch.kw_weight is None


def test_error_row_without_embeddings_is_all_masked():
    err = {"image_emb": np.zeros(0, np.float32), "region_embs": None, "tag_embs": None,
           "stmt_embs": np.zeros((0, 0), np.float32), "kw_embs": None, "kw_mask": None}
    batch = collate([_row(1, 2, 2), err])
    assert not batch.cand_mask[1].any() and not batch.region_mask[1].any()
    assert torch.equal(batch.image[1], torch.zeros(3))


def test_object_arrays_as_ray_gives_them():
    row = _row(2, 2, 2)
    ray_row = dict(row)
    for key in ("region_embs", "kw_embs"):  # outer axis as an object array of inner arrays
        ray_row[key] = np.empty(2, dtype=object)
        ray_row[key][:] = list(row[key])
    want, got = collate([row]), collate([ray_row])
    assert torch.equal(got.regions, want.regions) and torch.equal(got.kws, want.kws)


def test_optional_reference_mask_and_weights_padded():
    a = _row(2, 1, 1)
    a["kw_region_mask"] = np.array([[[False, True]]])
    a["kw_weight"] = np.array([[2.0]], np.float32)
    batch = collate([a, _row(3, 2, 2, seed=2)])
    assert batch.kw_region_mask.shape == (2, 2, 2, 3)
    assert batch.kw_region_mask[0, 0, 0].tolist() == [False, True, True]  # pad region: masked later
    assert batch.kw_weight[0].tolist() == [[2.0, 1.0], [1.0, 1.0]]


def test_errors_are_clear():
    with pytest.raises(ValueError, match="empty"):
        collate([])
    with pytest.raises(ValueError, match="no row has an embedding"):
        collate([{"image_emb": None, "stmt_embs": None}])
    bad = _row(1, 1, 1)
    bad["region_embs"] = np.zeros(3, np.float32)
    with pytest.raises(ValueError, match="2-d"):
        collate([bad])
