"""BENCHMARKS.md: the generated results block, kept between markers so notes around it survive.

The harness rewrites only the text between ``<!-- bench:begin -->`` and ``<!-- bench:end -->``;
hand-written sections (causes of misses, before/after of fixes) stay as they are.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from fgalign.bench.core import Measurement

BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
SCALE_BEGIN, SCALE_END = "<!-- bench-scale:begin -->", "<!-- bench-scale:end -->"  # --only scale

HEADER = """# Benchmarks

Every number is a ratio of two things measured side by side in one run of
`fgalign bench` (same data, same process, same machine); the block below is written by that
command and replaced on each full run. Notes after it are by hand.

"""


def results_markdown(results: list[Measurement], info: dict[str, Any]) -> str:
    """The generated block: command, date, machine, the ratios table and raw numbers."""
    m = info["machine"]
    lines = [
        f"**Command:** `{info['command']}`  ",
        (f"**Date:** {info['date']} · **mode:** {info['mode']} · **took:** "
         f"{info['seconds'] / 60:.1f} min  "),
        (f"**Machine:** {m['cpu']}, {m['cores']} cores, {m['mem_gib']} GiB, {m['gpu']}; "
         f"Python {m['python']}, torch {m['torch']}  "),
        (f"**Load average** (1/5/15 min) at start {m['load_avg_1_5_15']}, at end "
         f"{info['load_end']} (other work on the machine makes timings noisy)  "),
        f"**Data:** {info['data']}",
        "",
        "| benchmark | ratio | target | status | measured |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        value = "–" if r.value is None else f"{r.value:.3f}"
        text = r.detail + (f" — {r.note}" if r.note and r.detail else r.note)
        lines.append(f"| {r.title} | {value} | {r.target or '–'} | {r.status} | "
                     f"{text.replace('|', '/')} |")
    notes = (info.get("scale") or {}).get("assumptions") if any(
        r.name.startswith("scale_projection") for r in results) else None
    if notes:
        lines += ["", "Projection assumptions:", "", *[f"- {n.strip()}" for n in notes]]
    return "\n".join(lines) + "\n"


def write_benchmarks_md(path: str | Path, results: list[Measurement], info: dict[str, Any],
                        begin: str = BEGIN, end: str = END) -> None:
    """Replace the generated block between ``begin`` and ``end`` of ``path`` (the file and the
    block are created when missing)."""
    path = Path(path)
    block = f"{begin}\n{results_markdown(results, info)}{end}"
    text = path.read_text() if path.is_file() else HEADER + f"{BEGIN}\n{END}\n"
    if begin in text and end in text:
        head, rest = text.split(begin, 1)
        tail = rest.split(end, 1)[1]
        text = head + block + tail
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text)
