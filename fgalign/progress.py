"""Progress of a long loop: a tqdm bar on a terminal, else a log line every N s or N %.

    with Progress(total=len(rows), desc="regions vqa/test") as bar:   # unit: rows
        for batch in batches:
            ...
            bar.update(len(batch))

    for row in track(rows, desc="images vqa/test"):                    # the same, one per item
        ...

When the stream is not a terminal (a log file, CI, a pipe) there is no bar: a line
``fgalign: regions vqa/test: 1200/5000 rows (24%), 40.1 rows/s, ETA 1m 35s`` is written at
most every ``every_s`` seconds, and whenever another ``every_pct`` percent is done (as Ray
Data's own progress does in a log), plus a last line at the end with the elapsed time.
"""
from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any, TypeVar

T = TypeVar("T")


def _duration(seconds: float) -> str:
    s = round(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    return f"{s // 3600}h {s % 3600 // 60:02d}m"


def is_terminal(stream: IO[str]) -> bool:
    """``stream`` is an interactive terminal (and ``CI`` is not set)."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and not os.environ.get("CI")


class Progress:
    """Counts work done out of ``total`` (None: unknown) and shows it.

    Args:
        total: units of work expected (None: unknown, no percent or ETA).
        desc: what is running, e.g. ``"regions vqa/test"``.
        unit: the unit counted (``rows``, ``images``, ``batches``).
        every_s: a log line at most this often (not on a terminal).
        every_pct: ... and one each time this many more percent are done.
        stream: where to write (default ``sys.stderr``).
        logger: log lines through this logger (INFO) instead of writing to ``stream``.
        enabled: False: show nothing (counting still works).
        clock: seconds, monotonic (tests pass a fake one).
    """

    def __init__(self, total: int | None = None, desc: str = "", unit: str = "rows", *,
                 every_s: float = 10.0, every_pct: float = 10.0, stream: IO[str] | None = None,
                 logger: logging.Logger | None = None, enabled: bool = True,
                 clock: Callable[[], float] = time.monotonic):
        self.total, self.desc, self.unit = total, desc, unit
        self.every_s, self.every_pct = every_s, every_pct
        self.stream = stream if stream is not None else sys.stderr
        self.logger, self.clock = logger, clock
        self.n, self.closed = 0, False
        self.start = self._last_t = clock()
        self._last_pct = 0.0
        self._bar = None
        if enabled and logger is None and is_terminal(self.stream):
            from tqdm import tqdm

            self._bar = tqdm(total=total, desc=desc, unit=f" {unit}", file=self.stream,
                             dynamic_ncols=True)
        self.enabled = enabled

    def line(self) -> str:
        """The progress as one line (without the ``fgalign:`` prefix)."""
        elapsed = max(self.clock() - self.start, 1e-9)
        rate = self.n / elapsed
        head = f"{self.desc}: " if self.desc else ""
        if self.total:
            pct = 100.0 * self.n / self.total
            eta = (self.total - self.n) / rate if rate > 0 else None
            tail = f", ETA {_duration(eta)}" if eta is not None and self.n < self.total else ""
            return (f"{head}{self.n}/{self.total} {self.unit} ({pct:.0f}%), "
                    f"{rate:.1f} {self.unit}/s{tail}")
        return f"{head}{self.n} {self.unit}, {rate:.1f} {self.unit}/s"

    def _emit(self, text: str) -> None:
        if self.logger is not None:
            self.logger.info(text)
        else:
            self.stream.write(f"fgalign: {text}\n")
            self.stream.flush()

    def update(self, n: int = 1) -> None:
        """``n`` more units are done."""
        self.n += n
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.update(n)
            return
        now = self.clock()
        pct = 100.0 * self.n / self.total if self.total else 0.0
        due_time = now - self._last_t >= self.every_s
        due_pct = bool(self.total) and pct - self._last_pct >= self.every_pct
        if (due_time or due_pct) and not (self.total and self.n >= self.total):
            self._emit(self.line())
            self._last_t, self._last_pct = now, pct

    def close(self) -> None:
        """Finish: close the bar, or write the last line with the elapsed time (once)."""
        if self.closed:
            return
        self.closed = True
        if self._bar is not None:
            self._bar.close()
        elif self.enabled:
            self._emit(f"{self.line().split(', ETA')[0]}, done in "
                       f"{_duration(self.clock() - self.start)}")

    def __enter__(self) -> Progress:  # noqa: PYI034
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def track(items: Iterable[T], total: int | None = None, desc: str = "", unit: str = "rows",
          **kwargs: Any) -> Iterator[T]:
    """Yield ``items``, counting one unit each (``Progress`` arguments; ``total`` defaults to
    ``len(items)`` when it has one)."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    with Progress(total, desc, unit, **kwargs) as bar:
        for item in items:
            yield item
            bar.update(1)
