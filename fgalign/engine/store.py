"""Content-addressed embedding tables: one record per distinct text or image, fp16 on disk.

    table = EmbeddingTable("runs/demo/stages/tables/text-<backbone hash>", dim=512)
    table.add(keys, embs)                    # keys (N,) int64, embs (N, D) float → fp16 shard
    embs = table.get(keys)                   # (N, D) float32; KeyError names a missing key
    have = table.contains(keys)              # (N,) bool

Layout: ``<dir>/<shard id>/keys.npy`` (N,) int64 and ``values.npy`` (N, D) float16, written to
``<shard id>.tmp`` and renamed into place, so a reader never sees half a shard. Any number of
writers (Ray actors on any node of a shared filesystem) add shards concurrently; a key written
twice is harmless (every copy holds the same embedding) and the first shard found wins. Readers
keep every shard's keys in memory (8 bytes a record) and memory-map the values, so an actor
gathers a batch's embeddings without loading the table. ``compact()`` merges small shards.

Keys: ``text_key(text)`` is the first 8 bytes of BLAKE2b of the UTF-8 text, as int64
(collision probability ~N²/2⁶⁴: 10⁻⁷ for 10⁶ distinct texts); ``image_key(...)`` hashes an
image's path and the boxes it was given (VCR metadata); ``region_key(image_key, j)`` is row
``j`` of an image (0: the whole image, 1..R: its crops).

Tables need a POSIX path (a local disk, or NFS / EFS shared by every node of a cluster):
memory-mapping does not work on object stores.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Iterable
from pathlib import Path

import numpy as np

VALUE_DTYPE = np.float16  # on disk; gathered values are float32


def _h64(data: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little", signed=True)


def text_key(text: str) -> int:
    """64-bit content key of a text (see the module docstring)."""
    return _h64(b"t" + str(text).encode("utf-8"))


def text_keys(texts: Iterable[str]) -> np.ndarray:
    """``text_key`` of each text: (N,) int64."""
    return np.fromiter((text_key(t) for t in texts), np.int64)


def image_key(image_path: str, given_boxes: object = None, names: object = None,
              source: str = "") -> str:
    """Key of one image as the region stages see it.

    Args:
        image_path: path relative to the dataset root.
        given_boxes: boxes the dataset gives (VCR metadata ``[x1, y1, x2, y2, score]``): the
            ``dataset`` proposer returns them as the regions, so they are part of the key.
        names: the given boxes' labels.
        source: what identifies the file itself (``file_identity``: the resolved root, the
            file's size and modification time), so two roots with the same relative names, or
            a file rewritten in place, never share a record.
    """
    boxes = [[round(float(x), 3) for x in b] for b in (given_boxes if given_boxes is not None
                                                        else [])]
    label = [str(x) for x in (names if names is not None else [])]
    digest = hashlib.blake2b(digest_size=12)
    digest.update(json.dumps([str(image_path), boxes, label, source]).encode())
    return digest.hexdigest()


def file_identity(root: str | os.PathLike, rel: str) -> str:
    """``"<resolved root>|<size>|<mtime ns>"`` of ``root / rel`` (``"|missing"`` when it cannot
    be read: the stages then record the error)."""
    base = os.path.realpath(root)
    try:
        st = os.stat(os.path.join(base, rel))
    except (OSError, ValueError):
        return f"{base}|missing"
    return f"{base}|{st.st_size}|{st.st_mtime_ns}"


def region_key(image: str, j: int) -> int:
    """64-bit key of row ``j`` of an image (0: the whole image, 1..R: region crops)."""
    return _h64(b"r" + image.encode() + j.to_bytes(4, "little"))


class EmbeddingTable:
    """A directory of fp16 embedding shards keyed by int64 (see the module docstring).

    Args:
        path: the table's directory (created on the first ``add``).
        dim: embedding width D (checked on ``add``; read from the shards when None).
    """

    def __init__(self, path: str | os.PathLike, dim: int | None = None):
        self.path = Path(path)
        self.dim = dim
        self._shards: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self.refresh()

    def refresh(self) -> None:
        """Pick up shards written since the last look (by this or another process)."""
        if not self.path.is_dir():
            return
        for d in sorted(self.path.iterdir()):
            if d.name in self._shards or d.name.endswith(".tmp") or not d.is_dir():
                continue
            keys = np.load(d / "keys.npy")
            values = np.load(d / "values.npy", mmap_mode="r")
            order = np.argsort(keys, kind="stable")
            self._shards[d.name] = (keys[order], order, values)
            self.dim = self.dim or int(values.shape[1])

    def __len__(self) -> int:
        return sum(len(k) for k, _, _ in self._shards.values())

    @property
    def num_shards(self) -> int:
        return len(self._shards)

    def _locate(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(shard index or -1, row in that shard's values) per key."""
        keys = np.asarray(keys, np.int64)
        where = np.full(len(keys), -1, np.int64)
        rows = np.zeros(len(keys), np.int64)
        for s, (sorted_keys, order, _) in enumerate(self._shards.values()):
            todo = np.flatnonzero(where < 0)
            if not len(todo) or not len(sorted_keys):
                continue
            pos = np.searchsorted(sorted_keys, keys[todo]).clip(0, len(sorted_keys) - 1)
            hit = sorted_keys[pos] == keys[todo]
            where[todo[hit]] = s
            rows[todo[hit]] = order[pos[hit]]
        return where, rows

    def contains(self, keys: Iterable[int]) -> np.ndarray:
        """(N,) bool: which keys have an embedding."""
        return self._locate(np.asarray(list(keys) if not isinstance(keys, np.ndarray) else keys,
                                       np.int64))[0] >= 0

    def get(self, keys: Iterable[int]) -> np.ndarray:
        """(N, D) float32 embeddings of ``keys``, in order.

        Raises:
            KeyError: a key has no embedding (names the first missing key and the table).
        """
        keys = np.asarray(list(keys) if not isinstance(keys, np.ndarray) else keys, np.int64)
        where, rows = self._locate(keys)
        if (where < 0).any():
            self.refresh()
            where, rows = self._locate(keys)
        if (where < 0).any():
            missing = int(keys[np.flatnonzero(where < 0)[0]])
            raise KeyError(f"embedding table {self.path}: no entry for key {missing} "
                           f"({int((where < 0).sum())} of {len(keys)} keys missing)")
        out = np.zeros((len(keys), self.dim or 0), np.float32)
        shards = list(self._shards.values())
        for s in np.unique(where):
            idx = np.flatnonzero(where == s)
            values = shards[int(s)][2]
            take = rows[idx]
            order = np.argsort(take)  # sorted reads of the memory map
            out[idx[order]] = values[take[order]]
        return out

    def add(self, keys: Iterable[int], values: np.ndarray) -> int:
        """Write the records whose key is not in the table yet as one new shard.

        Args:
            keys: (N,) int64 keys.
            values: (N, D) float embeddings (stored as float16).

        Returns:
            The number of records written (0 when every key was present).

        Raises:
            ValueError: shapes disagree with each other or with the table's D.
        """
        keys = np.asarray(list(keys) if not isinstance(keys, np.ndarray) else keys, np.int64)
        values = np.asarray(values)
        if values.ndim != 2 or len(values) != len(keys):
            raise ValueError(f"add: keys {keys.shape} and values {values.shape} do not match")
        if self.dim is not None and len(values) and values.shape[1] != self.dim:
            raise ValueError(f"add: values have D={values.shape[1]}, the table {self.path} "
                             f"holds D={self.dim}")
        keys, first = np.unique(keys, return_index=True)
        values = values[first]
        new = ~self.contains(keys)
        if not new.any():
            return 0
        self._write(keys[new], values[new].astype(VALUE_DTYPE))
        return int(new.sum())

    def _write(self, keys: np.ndarray, values: np.ndarray) -> str:
        self.path.mkdir(parents=True, exist_ok=True)
        name = uuid.uuid4().hex[:16]
        tmp = self.path / f"{name}.tmp"
        tmp.mkdir()
        np.save(tmp / "keys.npy", keys)
        np.save(tmp / "values.npy", values)
        os.replace(tmp, self.path / name)
        self.dim = self.dim or int(values.shape[1])
        self.refresh()
        return name

    def compact(self, max_shards: int = 16) -> None:
        """Merge every shard into one when there are more than ``max_shards`` (streaming copy).

        Only one process may compact a table at a time (the driver, between stages).
        """
        self.refresh()
        if len(self._shards) <= max_shards:
            return
        old = list(self._shards)
        all_keys = np.concatenate([self._shards[s][0] for s in old])
        keys, _first = np.unique(all_keys, return_index=True)
        self.path.mkdir(parents=True, exist_ok=True)
        name = uuid.uuid4().hex[:16]
        tmp = self.path / f"{name}.tmp"
        tmp.mkdir()
        values = np.lib.format.open_memmap(tmp / "values.npy", mode="w+", dtype=VALUE_DTYPE,
                                           shape=(len(keys), self.dim))
        for start in range(0, len(keys), 65536):
            values[start:start + 65536] = self.get(keys[start:start + 65536])
        values.flush()
        del values
        np.save(tmp / "keys.npy", keys)
        os.replace(tmp, self.path / name)
        for s in old:
            shutil.rmtree(self.path / s, ignore_errors=True)
        self._shards = {}
        self.refresh()

    def nbytes(self) -> int:
        """Bytes of the table on disk."""
        return sum(f.stat().st_size for f in self.path.rglob("*.npy")) if self.path.is_dir() else 0
