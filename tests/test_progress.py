"""The progress helper: log lines every N s / N % when not on a terminal (fake clock)."""
import io
import logging

from fgalign.progress import Progress, track


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def test_log_lines_every_percent_and_a_last_line():
    out, clock = io.StringIO(), Clock()
    with Progress(total=100, desc="regions vqa/test", every_s=1e9, every_pct=25, stream=out,
                  clock=clock) as bar:
        for _ in range(10):
            clock.t += 1.0
            bar.update(10)
    lines = out.getvalue().splitlines()
    assert lines == [
        "fgalign: regions vqa/test: 30/100 rows (30%), 10.0 rows/s, ETA 7s",
        "fgalign: regions vqa/test: 60/100 rows (60%), 10.0 rows/s, ETA 4s",
        "fgalign: regions vqa/test: 90/100 rows (90%), 10.0 rows/s, ETA 1s",
        "fgalign: regions vqa/test: 100/100 rows (100%), 10.0 rows/s, done in 10s",
    ]


def test_log_lines_every_seconds_without_a_total():
    out, clock = io.StringIO(), Clock()
    bar = Progress(desc="embed", unit="images", every_s=30, stream=out, clock=clock)
    for _ in range(100):
        clock.t += 1.0
        bar.update(2)
    bar.close()
    bar.close()  # once only
    lines = out.getvalue().splitlines()
    assert lines[0] == "fgalign: embed: 60 images, 2.0 images/s"
    assert len(lines) == 4 and lines[-1] == "fgalign: embed: 200 images, 2.0 images/s, done in 1m 40s"


def test_track_counts_items_and_logs_through_a_logger(caplog):
    clock = Clock()
    log = logging.getLogger("fgalign.test_progress")
    with caplog.at_level(logging.INFO, logger=log.name):
        assert list(track(range(4), desc="x", logger=log, clock=clock, every_pct=50)) == [0, 1, 2, 3]
    assert [r.getMessage().split(",")[0] for r in caplog.records] == ["x: 2/4 rows (50%)",
                                                                       "x: 4/4 rows (100%)"]


def test_disabled_writes_nothing_but_counts():
    out = io.StringIO()
    with Progress(total=3, stream=out, enabled=False) as bar:
        bar.update(3)
    assert out.getvalue() == "" and bar.n == 3


def test_terminal_gets_a_tqdm_bar(monkeypatch):
    monkeypatch.delenv("CI", raising=False)

    class Tty(io.StringIO):
        def isatty(self):
            return True

    out = Tty()
    with Progress(total=5, desc="bar", stream=out) as bar:
        bar.update(5)
    assert bar._bar is not None and "5/5" in out.getvalue()
