"""``report.md`` (and ``report.html``) for a run, sweep, ablation or adaptation folder.

    path = write_report("runs/demo/1a2b3c4d5e6f")     # → runs/demo/1a2b3c4d5e6f/report.md

What a folder is, is read from the files in it:

    run        metrics.json (+ config.yaml, figures/*.png, adapt/<target>/result.json)
    sweep      best.json + trials.csv (+ sweep.yaml, config.yaml, command.txt)
    ablation   ablation.csv (+ ablation.md, ablation.png, ablation.yaml, command.txt)
    adapt      result.json + history.csv (+ config.yaml)

The report holds the config, the tables, the figures (linked by relative path) and the
commands that made them. Both files are rendered from one list of blocks, so the HTML needs
no extra dependency.
"""
from __future__ import annotations

import csv
import html
import json
from pathlib import Path
from typing import Any

from fgalign.experiment.outputs import atomic_write_text

# ("h", level, text) | ("p", text) | ("table", header, rows) | ("img", rel path) | ("code", text)
Block = tuple


def _read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}" if abs(v) < 0.01 or abs(v) >= 1e4 else f"{v:.2f}"
    if isinstance(v, dict) and set(v) == {"mean", "ci95"}:
        return f"{v['mean']:+.2f} [{v['ci95'][0]:+.2f}, {v['ci95'][1]:+.2f}]"
    return str(v)


def _num(s: str) -> Any:
    """A CSV cell as int, float or the string itself."""
    for kind in (int, float):
        try:
            return kind(s)
        except (TypeError, ValueError):
            pass
    return s


def _config(d: Path, blocks: list[Block]) -> None:
    for name in ("config.yaml", "sweep.yaml", "ablation.yaml"):
        if (d / name).exists():
            blocks += [("h", 2, f"Config ({name})"), ("code", (d / name).read_text())]


def _command(d: Path, blocks: list[Block], default: str | None = None) -> None:
    text = (d / "command.txt").read_text().strip() if (d / "command.txt").exists() else default
    if text:
        blocks += [("h", 2, "Command"), ("code", text)]


def _images(d: Path, blocks: list[Block], pattern: str) -> None:
    for img in sorted(d.glob(pattern)):
        blocks.append(("img", str(img.relative_to(d))))


def _result_table(results: list[dict]) -> Block:
    header = ["target", "sources", "n", "zero-shot", "adapted", "Δ [95% CI]", "best epoch"]
    rows = [[r["target"], " + ".join(r["sources"]), r.get("n", ""), _fmt(r["zero_shot"]),
             _fmt(r["adapted"]), _fmt(r["delta"]), r.get("best_epoch", "")] for r in results]
    return ("table", header, rows)


def _variant_blocks(t: dict) -> list[Block]:
    """What the scores are (``metric`` in metrics.json), then one row per variant with the
    headline score and every other score the task names (a per-group dict: one column each)."""
    names = t.get("metric") or {"score": "score"}
    header, cols = ["variant", names["score"]], [("score", None)]
    first = next(iter(t["variants"].values()))
    said = [names["score"]]
    for key, name in names.items():
        if key == "score" or key not in first:
            continue
        if isinstance(first[key], dict):
            header += list(first[key])
            cols += [(key, sub) for sub in first[key]]
            said.append(f"{', '.join(first[key])}: {name}")
        else:
            header.append(name)
            cols.append((key, None))
            said.append(name)
    score = lambda v: f"{v:.2f}" if isinstance(v, (int, float)) else ""
    rows = [[v] + [score(x.get(k) if sub is None else x.get(k, {}).get(sub)) for k, sub in cols]
            for v, x in t["variants"].items()]
    return [("p", "scores (percent): " + "; ".join(said)), ("table", header, rows)] \
        + _family_blocks(t)


def _family_blocks(t: dict) -> list[Block]:
    """Per contrast family of a synthetic world (``by_family`` of each variant): one row per
    variant, one column per family, "score [lo, hi] (n)"; nothing when no variant has them."""
    fams = sorted({f for x in t["variants"].values() for f in (x.get("by_family") or {})})
    if not fams:
        return []
    cell = lambda e: (f"{e['score']:.2f} [{e['ci95'][0]:.2f}, {e['ci95'][1]:.2f}] (n={e['n']})"
                      if e else "")
    rows = [[v] + [cell((x.get("by_family") or {}).get(f)) for f in fams]
            for v, x in t["variants"].items()]
    return [("p", "by contrast family (percent, 95% bootstrap interval, n instances):"),
            ("table", ["variant"] + fams, rows)]


def run_blocks(d: Path) -> list[Block]:
    m = json.loads((d / "metrics.json").read_text())
    blocks: list[Block] = [("h", 1, f"Run {d.name}"),
                           ("p", f"config hash `{m.get('config_hash')}`")]
    for task, t in m["tasks"].items():
        blocks.append(("h", 2, f"{task} ({t.get('split', '')}, n={t.get('n', '')})"))
        if "skipped" in t:
            blocks.append(("p", f"skipped: {t['skipped']}"))
            continue
        if not t.get("labels", True):
            blocks.append(("p", "no labels in this split: predictions written, not scored"))
        elif t.get("unlabelled"):
            blocks.append(("p", f"{t['unlabelled']} rows without a label: predicted, not scored"))
        if t.get("truncated"):
            note = f"{t['truncated']} rows with a text truncated to the text encoder's context"
            blocks.append(("p", note))
        if t.get("variants"):
            blocks += _variant_blocks(t)
        for name, delta in t.get("delta", {}).items():
            blocks.append(("p", f"{name}: {_fmt(delta)}"))
        if t.get("errors"):
            blocks.append(("p", "errors: " + ", ".join(f"{k}={v}" for k, v in t["errors"].items())))
    adapted = [json.loads(p.read_text()) for p in sorted(d.glob("adapt/*/result.json"))]
    if adapted:
        blocks += [("h", 2, "Adaptation (leave one task out)"), _result_table(adapted)]
    blocks.append(("h", 2, "Figures"))
    _images(d, blocks, "figures/*.png")
    _config(d, blocks)
    _command(d, blocks, "fgalign evaluate --config config.yaml   # or pipelines/full.py")
    return blocks


def sweep_blocks(d: Path) -> list[Block]:
    best = json.loads((d / "best.json").read_text())
    trials = sorted(_read_csv(d / "trials.csv"), key=lambda r: -float(r.get("source_val") or 0))
    blocks: list[Block] = [
        ("h", 1, f"Sweep {d.name}"),
        ("p", (f"held-out target **{best['target']}**, sources {', '.join(best['sources'])}; "
               f"{best['trials']} trials; mean time per trial "
               f"{_fmt(best.get('time_per_trial_s'))} s vs {_fmt(best.get('embed_time_s'))} s "
               "for the embedding stage")),
        ("h", 2, "Best trial (by source-val score)"), _result_table([best]),
        ("table", ["hyperparameter", "value"], [[k, _fmt(v)] for k, v in best["params"].items()]),
        ("h", 2, "Trials"),
        ("table", list(trials[0]) if trials else [],
         [[_fmt(_num(v)) for v in t.values()] for t in trials]),
    ]
    plot = sweep_figure(trials, d / "sweep.png")
    if plot:
        blocks.append(("img", plot.name))
    _config(d, blocks)
    _command(d, blocks)
    return blocks


def sweep_figure(trials: list[dict[str, str]], path: Path) -> Path | None:
    """Source-val score of each trial against each numeric hyperparameter."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    params = [k for k in (trials[0] if trials else {}) if k.startswith("config/")
              and all(isinstance(_num(t[k]), (int, float)) for t in trials)]
    if not params:
        return None
    fig, axes = plt.subplots(1, len(params), figsize=(2.6 * len(params), 2.6), squeeze=False)
    y = [float(t["source_val"]) for t in trials]
    for ax, k in zip(axes[0], params):
        ax.scatter([float(t[k]) for t in trials], y, s=14)
        ax.set_xlabel(k.removeprefix("config/"), fontsize=8)
        if k.split("/")[-1] in ("lr", "weight_decay", "temperature_init"):
            ax.set_xscale("log")
    axes[0][0].set_ylabel("source val (%)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def ablation_blocks(d: Path) -> list[Block]:
    rows = _read_csv(d / "ablation.csv")
    blocks: list[Block] = [("h", 1, f"Ablation {d.name}"),
                           ("p", ("score with its 95% bootstrap interval; Δ: paired bootstrap "
                                 "against global-only matching on the same instances"))]
    header = ["proposer", "backbone", "task", "component", "n", "score [95% CI]", "Δ vs global"]
    blocks.append(("table", header, [
        [r["proposer"], r["backbone"], r["task"], r["component"], r["n"],
         f"{float(r['score']):.2f} [{float(r['ci95_lo']):.2f}, {float(r['ci95_hi']):.2f}]",
         f"{float(r['delta_vs_global']):+.2f} [{float(r['delta_lo']):+.2f}, "
         f"{float(r['delta_hi']):+.2f}]" if r.get("delta_vs_global") else ""] for r in rows]))
    _images(d, blocks, "*.png")
    _config(d, blocks)
    _command(d, blocks)
    return blocks


def adapt_blocks(d: Path) -> list[Block]:
    res = json.loads((d / "result.json").read_text())
    hist = _read_csv(d / "history.csv")
    blocks: list[Block] = [("h", 1, f"Adaptation, target {res['target']}"), _result_table([res]),
                           ("table", ["learned", "value"],
                            [[k, _fmt(v)] for k, v in res.get("learned", {}).items()]),
                           ("h", 2, "Training history"),
                           ("table", list(hist[0]) if hist else [],
                            [[_fmt(_num(v)) for v in h.values()] for h in hist])]
    _config(d, blocks)
    _command(d, blocks, f"fgalign adapt --config config.yaml --target {res['target']}")
    return blocks


KINDS = (("best.json", sweep_blocks), ("ablation.csv", ablation_blocks),
         ("metrics.json", run_blocks), ("result.json", adapt_blocks))


def to_markdown(blocks: list[Block]) -> str:
    out = []
    for b in blocks:
        if b[0] == "h":
            out.append("#" * b[1] + " " + b[2])
        elif b[0] == "p":
            out.append(b[1])
        elif b[0] == "code":
            out.append("```\n" + b[1].rstrip() + "\n```")
        elif b[0] == "img":
            out.append(f"![{Path(b[1]).stem}]({b[1]})")
        elif b[0] == "table" and b[1]:
            out.append("\n".join(["| " + " | ".join(map(str, b[1])) + " |",
                                  "|" + "---|" * len(b[1])] +
                                 ["| " + " | ".join(map(str, r)) + " |" for r in b[2]]))
    return "\n\n".join(out) + "\n"


def to_html(blocks: list[Block], title: str) -> str:
    e = html.escape
    out = [f"<!doctype html><meta charset=utf-8><title>{e(title)}</title>",
           ("<style>body{font-family:sans-serif;max-width:1100px;margin:auto}"
           "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px}"
           "img{max-width:100%}</style>")]
    for b in blocks:
        if b[0] == "h":
            out.append(f"<h{b[1]}>{e(b[2])}</h{b[1]}>")
        elif b[0] == "p":
            out.append(f"<p>{e(b[1]).replace('**', '')}</p>")
        elif b[0] == "code":
            out.append(f"<pre>{e(b[1])}</pre>")
        elif b[0] == "img":
            out.append(f'<p><img src="{e(b[1])}" alt="{e(Path(b[1]).stem)}"></p>')
        elif b[0] == "table" and b[1]:
            head = "".join(f"<th>{e(str(h))}</th>" for h in b[1])
            body = "".join("<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in r) + "</tr>"
                           for r in b[2])
            out.append(f"<table><tr>{head}</tr>{body}</table>")
    return "\n".join(out) + "\n"


def write_report(folder: str | Path) -> Path:
    """Write ``report.md`` and ``report.html`` into ``folder``; returns the Markdown path."""
    d = Path(folder)
    for marker, build in KINDS:
        if (d / marker).exists():
            blocks = build(d)
            break
    else:
        raise FileNotFoundError(f"{d} is not a run, sweep, ablation or adaptation folder "
                                f"(none of {', '.join(m for m, _ in KINDS)} found)")
    atomic_write_text(d / "report.html", to_html(blocks, d.name))  # whole or not at all
    atomic_write_text(d / "report.md", to_markdown(blocks))
    return d / "report.md"
