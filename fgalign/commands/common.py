"""What every experiment entry point does before its work, in one place.

    with session(cfg, out) as lazy:       # world → folder (+ command.txt) → Ray → logging
        lazy.ensure()                       # Ray starts (or is joined) here, once
        ...

``command_line()`` is the one spelling of the command recorded in ``command.txt`` (the
pipeline's run folders get the same string through ``run_pipeline(command=...)``).
"""
from __future__ import annotations

import logging
import shlex
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fgalign.config import Config
from fgalign.ray.runtime import LazyRay

log = logging.getLogger("fgalign")


def command_line(argv: list[str] | None = None) -> str:
    """The shell-quoted command that started this process: program name (no directory) and
    arguments, e.g. ``sweep.py --config configs/sweeps/demo.yaml``."""
    argv = sys.argv if argv is None else argv
    return shlex.join([Path(argv[0]).name, *argv[1:]]) if argv else ""


def write_command(folder: str | Path, command: str | None = None) -> Path:
    """Write ``command.txt`` (``command_line()`` unless given) into ``folder``; its path."""
    path = Path(folder) / "command.txt"
    path.write_text((command_line() if command is None else command) + "\n")
    return path


def ensure_data(cfg: Config) -> None:
    """Generate the synthetic world at ``data.root`` when ``data.synth.generate`` is on."""
    if cfg.data.synth.generate:
        from fgalign.data.synth import ensure_world  # PIL rendering: only when generating

        ensure_world(cfg.data.root, cfg.data.synth)


def setup_logging(level: int = logging.INFO) -> None:
    """fgalign's own log lines to stderr (``fgalign: message``); idempotent."""
    if not log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("fgalign: %(message)s"))
        log.addHandler(handler)
    log.setLevel(level)


@contextmanager
def session(cfg: Config, folder: str | Path | None = None) -> Iterator[LazyRay]:
    """World → folder (created, ``command.txt`` written) → Ray (lazily) → logging.

    Yields a ``fgalign.ray.runtime.LazyRay``: call ``ensure()`` before work that needs Ray;
    Ray is shut down on exit only if this session started it.
    """
    ensure_data(cfg)
    if folder is not None:
        Path(folder).mkdir(parents=True, exist_ok=True)
        write_command(folder)
    setup_logging()
    lazy = LazyRay(cfg.ray)
    try:
        yield lazy
    finally:
        lazy.shutdown()
