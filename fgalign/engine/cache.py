"""Content-addressed Parquet caches of stage outputs (local paths or pyarrow-filesystem URIs).

Layout (``root`` is ``ray.cache_dir``, by default ``<output_dir>/<experiment>/stages``)::

    <root>/<task>/<stage>-<stage hash>/          Parquet files written by Ray Data
    <root>/<task>/<stage>-<stage hash>/_SUCCESS  {"rows": N, ...}: written last, marks it done
    <root>/<task>/<stage>-<stage hash>.tmp-<id>/ a stage being written (removed when stale)

The stage hash chains the dataset fingerprint, each stage's own config hash and every upstream
hash (``chain_hash``), so a cache is valid for any run folder whose inputs to that stage are
the same: run folders are named by the *full* config hash, caches by what the stage depends on.
A run whose scorer config alone changed gets a new run folder but finds the regions, keywords
and embed caches here. Writes go to a temporary sibling that is renamed into place; the
``_SUCCESS`` marker is written after the rename (on object stores a rename is a copy), so a
killed run leaves no directory that passes for complete, and the next run resumes from the
last completed stage. Each stage's hash also covers its class's ``VERSION`` and fgalign's
version, so outputs cached by older code are not reused silently.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pyarrow.fs as pafs

from fgalign.config import config_hash

SUCCESS = "_SUCCESS"
log = logging.getLogger(__name__)


def dataset_fingerprint(root: str | None, split: str, limit: int | None, task: str,
                        rows: list[dict[str, Any]]) -> str:
    """Hash of what a task's stages read: dataset root, split, limit, task and the rows.

    The rows are the unified rows after the task adapter (candidates, statements), so the
    hash follows the content of the annotation files and of everything derived from them.
    """
    digest = hashlib.sha256()
    for row in rows:
        digest.update(json.dumps(row, sort_keys=True, default=str).encode())
    return config_hash({"root": root, "split": split, "limit": limit, "task": task,
                        "rows": digest.hexdigest()})


def chain_hash(upstream: str, stage_hash: str) -> str:
    """Hash of a stage output: its upstream output's hash and its own config hash."""
    return config_hash({"upstream": upstream, "stage": stage_hash})


def resolve_uri(uri: str) -> tuple[pafs.FileSystem, str]:
    """(filesystem, path on it) of a local path or a ``scheme://`` URI."""
    if "://" in uri:
        return pafs.FileSystem.from_uri(uri)
    return pafs.LocalFileSystem(), os.path.abspath(uri)


def stage_cache_root(ray: Any, experiment: Any) -> str:
    """``ray.cache_dir``, or ``<experiment.output_dir>/<experiment.name>/stages``: the stage
    cache of a config's ``ray`` and ``experiment`` sections (shared by its run folders)."""
    return ray.cache_dir or f"{experiment.output_dir}/{experiment.name}/stages"


def cache_is_empty(root: str) -> bool:
    """True when the stage cache at ``root`` (local path or URI) holds nothing yet: no
    folder, or an empty one. Looks at ``root`` itself only (one listing, not a walk)."""
    fs, where = resolve_uri(root)
    return not fs.get_file_info(pafs.FileSelector(where, allow_not_found=True))


class StageCache:
    """Stage output directories under one root, with atomic-enough commits.

    Args:
        root: local directory or URI (``s3://bucket/prefix``, ``gs://...``); on a multi-node
            cluster it must be storage every node can write (Ray Data writes from workers).
    """

    def __init__(self, root: str):
        self.fs, self._base = resolve_uri(root)
        self.root = root if "://" in root else self._base

    def path(self, task: str, stage: str, key: str) -> str:
        """Directory (or URI) of the cache of ``stage`` with hash ``key`` for ``task``."""
        return f"{self.root}/{task}/{stage}-{key}"

    def _fs_path(self, uri: str) -> str:
        return resolve_uri(uri)[1] if "://" in uri else uri

    def rows(self, path: str) -> int | None:
        """Row count of a completed, undamaged cache, or None (missing, incomplete, damaged).

        A cache committed with a file list (``commit``) is damaged when a file it lists is
        missing or has another size, or a Parquet file appeared that it does not list (a part
        file lost, truncated or copied in after the commit): one warning line, and the
        caller recomputes it as if it were missing.
        """
        try:
            with self.fs.open_input_stream(self._fs_path(path) + "/" + SUCCESS) as f:
                marker = json.loads(f.read())
            rows = int(marker["rows"])
        except (FileNotFoundError, OSError, KeyError, ValueError, TypeError):
            return None
        damage = self.damage(path, marker.get("files"))
        if damage:
            log.warning("stage cache %s is damaged (%s): recomputing it", path, damage)
            return None
        return rows

    def damage(self, path: str, files: dict[str, int] | None) -> str:
        """What differs between a cache's files and the ``files`` its marker lists ("" if
        nothing, or when the marker lists none: caches committed before file lists)."""
        if files is None:
            return ""
        where = self._fs_path(path)
        infos = self.fs.get_file_info(pafs.FileSelector(where, allow_not_found=True))
        have = {i.base_name: i.size for i in infos if i.type == pafs.FileType.File
                and i.base_name.endswith(".parquet")}
        for name, size in files.items():
            if name not in have:
                return f"{name} is missing"
            if have[name] != size:
                return f"{name} has {have[name]} bytes, {size} when committed"
        extra = sorted(set(have) - set(files))
        return f"{extra[0]} was not part of it" if extra else ""

    def created(self, path: str) -> int:
        """When a completed cache was committed (ns since the epoch; 0 when unknown)."""
        try:
            with self.fs.open_input_stream(self._fs_path(path) + "/" + SUCCESS) as f:
                return int(json.loads(f.read()).get("created_ns", 0))
        except (FileNotFoundError, OSError, ValueError):
            return 0

    def begin(self, path: str) -> str:
        """A fresh temporary directory to write ``path``'s content into (stale ones removed)."""
        parent, name = self._fs_path(path).rsplit("/", 1)
        self.fs.create_dir(parent, recursive=True)
        stale = self.fs.get_file_info(pafs.FileSelector(parent, allow_not_found=True))
        for info in stale:
            if info.base_name.startswith(name + ".tmp-"):
                self.fs.delete_dir(info.path)
        tmp = f"{path}.tmp-{uuid.uuid4().hex[:8]}"
        self.fs.create_dir(self._fs_path(tmp), recursive=True)
        return tmp

    def commit(self, tmp: str, path: str, rows: int, **info: Any) -> None:
        """Move ``tmp`` into place (replacing an older ``path``) and write the marker last."""
        final = self._fs_path(path)
        if self.fs.get_file_info(final).type != pafs.FileType.NotFound:
            self.fs.delete_dir(final)
        self.fs.move(self._fs_path(tmp), final)
        infos = self.fs.get_file_info(pafs.FileSelector(final, allow_not_found=True))
        files = {i.base_name: i.size for i in infos if i.type == pafs.FileType.File
                 and i.base_name.endswith(".parquet")}
        marker = {"rows": rows, "created": time.strftime("%Y-%m-%dT%H:%M:%S"),
                  "created_ns": time.time_ns(), "files": files, **info}
        with self.fs.open_output_stream(final + "/" + SUCCESS) as f:
            f.write(json.dumps(marker, sort_keys=True).encode())

    def abort(self, tmp: str) -> None:
        """Remove a temporary directory after a failed write."""
        if self.fs.get_file_info(self._fs_path(tmp)).type != pafs.FileType.NotFound:
            self.fs.delete_dir(self._fs_path(tmp))


def cache_files(path: str) -> tuple[Any, list[str]]:
    """(filesystem, Parquet files) of a stage cache directory or URI."""
    import pyarrow.dataset as pads

    fs, where = resolve_uri(path)
    return fs, sorted(pads.dataset(where, filesystem=fs, format="parquet").files)


def read_table(path: str, columns: list[str] | None = None, batch_rows: int = 4096
               ) -> Iterator[dict[str, Any]]:
    """Stream a stage cache as numpy dict-batches of at most ``batch_rows`` rows.

    Files are read in name order; their schemas are unified permissively (a block whose list
    cells were all empty has ``list<null>``); Ray's tensor columns become per-row ndarrays
    (Ray's block accessor). Columns a file lacks are skipped if not in every file.
    """
    import pyarrow as pa
    import pyarrow.dataset as pads
    import pyarrow.parquet as pq
    from ray.data.block import BlockAccessor  # also registers Ray's Arrow tensor types

    fs, files = cache_files(path)
    if not files:
        return
    schema = pa.unify_schemas([pq.read_schema(f, filesystem=fs) for f in files],
                              promote_options="permissive")
    cols = [c for c in (columns or schema.names) if c in schema.names]
    data = pads.dataset(files, schema=schema, filesystem=fs, format="parquet")
    for rb in data.to_batches(columns=cols, batch_size=batch_rows):
        if rb.num_rows:
            yield BlockAccessor.for_block(pa.Table.from_batches([rb])).to_numpy()
