"""Content-addressed embedding tables and the keys of texts and images (fgalign.engine.store)."""
import os
import time

import numpy as np
import pytest

from fgalign.engine.store import (
    EmbeddingTable,
    file_identity,
    image_key,
    region_key,
    text_key,
    text_keys,
)


def test_add_get_contains_and_fp16_storage(tmp_path):
    table = EmbeddingTable(tmp_path / "t", dim=4)
    keys = text_keys(["a red circle", "red", "circle"])
    values = np.arange(12, dtype=np.float32).reshape(3, 4) / 16  # exact in fp16
    assert table.add(keys, values) == 3
    assert table.add(keys[:2], values[:2]) == 0  # already there: no new shard
    assert table.num_shards == 1 and len(table) == 3
    again = EmbeddingTable(tmp_path / "t")  # another process: reads the shards, D from disk
    assert again.dim == 4
    assert np.array_equal(again.get(keys[[2, 0]]), values[[2, 0]])
    assert again.get(keys).dtype == np.float32
    assert again.contains(text_keys(["red", "blue"])).tolist() == [True, False]
    assert np.load(next((tmp_path / "t").glob("*/values.npy"))).dtype == np.float16


def test_missing_key_and_bad_shapes_raise(tmp_path):
    table = EmbeddingTable(tmp_path / "t", dim=2)
    table.add(text_keys(["x"]), np.ones((1, 2)))
    with pytest.raises(KeyError, match="1 of 2 keys missing"):
        table.get(text_keys(["x", "y"]))
    with pytest.raises(ValueError, match="D=3"):
        table.add(text_keys(["z"]), np.ones((1, 3)))
    with pytest.raises(ValueError, match="do not match"):
        table.add(text_keys(["z", "w"]), np.ones((1, 2)))


def test_shards_of_several_writers_and_compaction(tmp_path):
    a, b = EmbeddingTable(tmp_path / "t", 2), EmbeddingTable(tmp_path / "t", 2)
    a.add(text_keys(["one", "two"]), [[1, 0], [0, 1]])
    b.add(text_keys(["two", "three"]), [[0, 1], [1, 1]])  # b did not see a's shard: "two" again
    reader = EmbeddingTable(tmp_path / "t")
    assert reader.num_shards == 2 and len(reader) == 4
    reader.compact(max_shards=1)
    assert reader.num_shards == 1 and len(reader) == 3  # duplicates merged
    assert reader.get(text_keys(["three", "one"])).tolist() == [[1, 1], [1, 0]]
    assert len(list((tmp_path / "t").iterdir())) == 1


def test_keys_are_stable_and_distinguish_what_matters(tmp_path):
    assert text_key("a red circle") == text_key("a red circle") != text_key("a red circle ")
    assert region_key("k", 0) != region_key("k", 1) != region_key("j", 1)
    base = image_key("images/a.png", None, None, "root|10|1")
    assert base == image_key("images/a.png", [], [], "root|10|1")
    assert base != image_key("images/a.png", None, None, "other-root|10|1")  # another root
    assert base != image_key("images/a.png", [[0, 0, 5, 5, 0.9]], ["person"], "root|10|1")
    assert image_key("a.png", [[0, 0, 5, 5, 0.9]], ["dog"]) != \
        image_key("a.png", [[0, 0, 5, 5, 0.9]], ["cat"])


def test_file_identity_follows_the_file(tmp_path):
    (tmp_path / "a.png").write_bytes(b"x" * 10)
    first = file_identity(tmp_path, "a.png")
    assert first.startswith(os.path.realpath(tmp_path)) and "|10|" in first
    time.sleep(0.01)
    (tmp_path / "a.png").write_bytes(b"y" * 11)  # rewritten in place: another identity
    assert file_identity(tmp_path, "a.png") != first
    assert file_identity(tmp_path, "nope.png").endswith("|missing")
