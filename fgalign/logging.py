"""Experiment logging behind one small protocol: stdout and W&B implementations.

Only the driver logs (Ray actors never create a logger). Metrics are flattened to
``"a/b/c"`` keys, so ``{"vqa": {"fusion": {"score": 41.2}}}`` becomes ``vqa/fusion/score``.

    logger = create_logger(cfg.logging, run_dir, run_name="demo-1a2b3c", use_wandb=True)
    logger.log_config(to_dict(cfg))
    logger.log_dict({"vqa": {"global": {"score": 35.0}}})
    logger.log_table("predictions", rows)          # list of flat dicts
    logger.log_images("figures", ["fig.png"])
    logger.close()

W&B mode: ``WANDB_MODE`` when set; otherwise ``online`` when ``WANDB_API_KEY`` is set and
``offline`` when it is not (the run lands under ``<run_dir>/wandb/offline-run-*``, upload it
later with ``wandb sync``). Config values whose key looks like a secret are redacted.
"""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any, Protocol, TextIO

_SECRET_KEY = re.compile(r"(api_?key|token|secret|password|credential)", re.IGNORECASE)


class Logger(Protocol):
    """What the pipeline needs from a logger."""

    def log_config(self, config: dict[str, Any]) -> None: ...

    def log_dict(self, metrics: dict[str, Any], step: int | None = None) -> None: ...

    def log_table(self, name: str, rows: list[dict[str, Any]]) -> None: ...

    def log_images(self, name: str, paths: list[str | Path]) -> None: ...

    def close(self) -> None: ...


def flatten(d: dict[str, Any], prefix: str = "", sep: str = "/") -> dict[str, Any]:
    """Nested dict → flat ``{"a/b": v}``; lists and scalars are kept as values."""
    out: dict[str, Any] = {}
    for k, v in d.items():
        key = f"{prefix}{sep}{k}" if prefix else str(k)
        if isinstance(v, dict):
            out.update(flatten(v, key, sep))
        else:
            out[key] = v
    return out


def redact(config: Any) -> Any:
    """Copy of ``config`` with string values of secret-looking keys replaced by ``"***"``."""
    if isinstance(config, dict):
        return {k: ("***" if _SECRET_KEY.search(str(k)) and isinstance(v, str) and v
                    else redact(v))
                for k, v in config.items()}
    if isinstance(config, list):
        return [redact(v) for v in config]
    return config


class StdoutLogger:
    """Prints metrics as ``key: value`` lines (numbers rounded)."""

    def __init__(self, stream: TextIO | None = None):
        self.stream = stream or sys.stdout

    def _print(self, text: str) -> None:
        print(text, file=self.stream, flush=True)

    def log_config(self, config: dict[str, Any]) -> None:
        self._print(f"[config] {len(flatten(config))} values")

    def log_dict(self, metrics: dict[str, Any], step: int | None = None) -> None:
        tag = f"[step {step}] " if step is not None else ""
        for k, v in flatten(metrics).items():
            v = round(v, 4) if isinstance(v, float) else v
            self._print(f"{tag}{k}: {v}")

    def log_table(self, name: str, rows: list[dict[str, Any]]) -> None:
        self._print(f"[table] {name}: {len(rows)} rows")

    def log_images(self, name: str, paths: list[str | Path]) -> None:
        self._print(f"[images] {name}: {len(paths)} files")

    def close(self) -> None:
        pass


def wandb_mode() -> str:
    """``WANDB_MODE`` if set, else online with an API key in the environment, else offline."""
    return os.environ.get("WANDB_MODE") or ("online" if os.environ.get("WANDB_API_KEY")
                                            else "offline")


class WandbLogger:
    """One W&B run; ``wandb`` is imported here so the library does not need it."""

    def __init__(self, project: str, run_dir: str | Path, name: str | None = None,
                 entity: str | None = None, group: str | None = None):
        import wandb

        self._wandb = wandb
        run_dir = Path(run_dir)
        run_dir.mkdir(parents=True, exist_ok=True)  # wandb.init fails on a missing dir
        self.run = wandb.init(project=project, entity=entity, name=name, group=group,
                              dir=str(run_dir), mode=wandb_mode(), reinit="finish_previous",
                              settings=wandb.Settings(console="off", silent=True))

    def log_config(self, config: dict[str, Any]) -> None:
        self.run.config.update(redact(config), allow_val_change=True)

    def log_dict(self, metrics: dict[str, Any], step: int | None = None) -> None:
        flat = {k: v for k, v in flatten(metrics).items()
                if isinstance(v, (int, float, bool, str))}
        self.run.log(flat, step=step)

    def log_table(self, name: str, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        columns = list(rows[0])
        data = [[_cell(r.get(c)) for c in columns] for r in rows]
        self.run.log({name: self._wandb.Table(columns=columns, data=data)})

    def log_images(self, name: str, paths: list[str | Path]) -> None:
        if paths:
            images = [self._wandb.Image(str(p), caption=Path(p).stem) for p in paths]
            self.run.log({name: images})

    def close(self) -> None:
        self.run.finish()


def _cell(v: Any) -> Any:
    """W&B table cells: scalars as they are, everything else as its string form."""
    return v if isinstance(v, (int, float, bool, str)) or v is None else str(v)


class MultiLogger:
    """Fans every call out to several loggers."""

    def __init__(self, loggers: list[Logger]):
        self.loggers = loggers

    def log_config(self, config: dict[str, Any]) -> None:
        for lg in self.loggers:
            lg.log_config(config)

    def log_dict(self, metrics: dict[str, Any], step: int | None = None) -> None:
        for lg in self.loggers:
            lg.log_dict(metrics, step)

    def log_table(self, name: str, rows: list[dict[str, Any]]) -> None:
        for lg in self.loggers:
            lg.log_table(name, rows)

    def log_images(self, name: str, paths: list[str | Path]) -> None:
        for lg in self.loggers:
            lg.log_images(name, paths)

    def close(self) -> None:
        for lg in self.loggers:
            lg.close()


def read_offline_run(run_dir: str | Path, timeout: float = 60.0) -> dict[str, Any]:
    """Last logged value of every history key and the config of the newest offline W&B run.

    Reads ``<run_dir>/wandb/offline-run-*/run-*.wandb``, W&B's transaction log (the file
    ``wandb sync`` uploads): leveldb-log-style 32 KiB blocks of ``crc32 | length | type``
    chunks holding ``wandb_internal_pb2.Record`` protobufs, after a 7-byte header. W&B ships
    no reader for it: wandb-core (Go) writes it, and may still be writing it for a moment
    after ``run.finish()`` returns, so the log is re-read until it holds the run's ``exit``
    record.

    Args:
        run_dir: the folder given to ``WandbLogger`` (holds ``wandb/``).
        timeout: seconds to wait for the ``exit`` record.

    Returns:
        ``{"history": {key: last value}, "config": {...}, "complete": bool}`` with
        JSON-decoded values; nested history keys are joined with ``/``.

    Raises:
        FileNotFoundError: no offline run under ``run_dir/wandb``.
        TimeoutError: the log has no ``exit`` record after ``timeout`` seconds.
    """
    import time

    runs = sorted(Path(run_dir).glob("wandb/offline-run-*/run-*.wandb"))
    if not runs:
        raise FileNotFoundError(f"no offline W&B run under {run_dir}/wandb")
    deadline = time.monotonic() + timeout
    while True:
        out = _parse_run_log(runs[-1].read_bytes())
        if out["complete"]:
            return out
        if time.monotonic() > deadline:
            raise TimeoutError(f"{runs[-1]} has no exit record after {timeout:.0f} s "
                               "(the run was not finished, or W&B is still writing it)")
        time.sleep(0.2)


LOG_HEADER = b":W&B\xe1\xbe\x00"  # ident, magic 0xBEE1 (little-endian), version 0 (wandb 0.31)


def _parse_run_log(data: bytes) -> dict[str, Any]:
    """The records of a W&B transaction log (see ``read_offline_run``); a torn tail is ignored."""
    import json
    import struct

    from google.protobuf.message import DecodeError
    from wandb.proto import wandb_internal_pb2 as pb

    block, pos, payload = 32768, 7, b""  # 7-byte file header: ":W&B" + magic + version
    out: dict[str, Any] = {"history": {}, "config": {}, "complete": False}
    if len(data) >= 7 and data[:7] != LOG_HEADER:
        raise ValueError(f"not a W&B transaction log of the known version (header "
                         f"{data[:7]!r}, expected {LOG_HEADER!r}): the format changed")
    while pos + 7 <= len(data):
        if block - pos % block < 7:  # block trailer too short for a chunk header: padding
            pos += block - pos % block
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos:pos + 7])
        if pos + 7 + length > len(data):  # a chunk still being written
            break
        payload += data[pos + 7:pos + 7 + length]
        pos += 7 + length
        if kind not in (1, 4):  # 1 = full record, 2/3 = first/middle chunk, 4 = last chunk
            continue
        rec = pb.Record()
        try:
            rec.ParseFromString(payload)
        except DecodeError:
            break
        payload = b""
        kind_name = rec.WhichOneof("record_type")
        if kind_name == "history":
            for item in rec.history.item:
                key = item.key or "/".join(item.nested_key)
                out["history"][key] = json.loads(item.value_json)
        elif kind_name in ("config", "run"):
            updates = rec.config.update if kind_name == "config" else rec.run.config.update
            for item in updates:
                out["config"][item.key] = json.loads(item.value_json)
        elif kind_name == "exit":
            out["complete"] = True
    return out


def create_logger(cfg: Any, run_dir: str | Path, run_name: str | None = None,
                  use_wandb: bool | None = None, stream: TextIO | None = None,
                  stdout: bool = True) -> Logger:
    """Stdout logger, plus W&B when ``cfg.wandb`` (a ``LoggingCfg``) and ``use_wandb`` allow.

    Args:
        cfg: the ``logging`` config section (``wandb``, ``project``, ``entity``).
        run_dir: the run folder; the W&B run is written under ``<run_dir>/wandb``.
        run_name: W&B run name (e.g. ``<experiment>-<config hash>``).
        use_wandb: ``False`` turns W&B off (``--no-wandb``); ``None`` follows ``cfg.wandb``.
        stream: where the stdout logger writes (default ``sys.stdout``).
        stdout: False leaves the stdout logger out (a caller that prints its own summary).
    """
    loggers: list[Logger] = [StdoutLogger(stream)] if stdout else []
    if cfg.wandb and use_wandb is not False:
        loggers.append(WandbLogger(cfg.project, run_dir, name=run_name, entity=cfg.entity,
                                   group=getattr(cfg, "group", None)))
    return MultiLogger(loggers)
