"""Figures of the region-word alignment: which region each keyword attends to, and how much.

    alignment_figure(cfg, "vqa", scored_rows[:4], "runs/.../figures/vqa_alignment.png")

One panel per instance: the image with its regions (numbered, one colour each: VCR's objects
by the number their texts give them, ``box_numbering``) and, beside
it, the question, the predicted statement and the gold one, and for each keyword of the
predicted statement the region it attends to most (argmax α, colour-coded) with α; a line
joins each keyword to its region. Rows need the embed-stage columns (``evaluate`` keeps them
for the first ``logging.figures`` rows).
"""
from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from fgalign.align.batch import to_array
from fgalign.align.rows import region_word_attention
from fgalign.config import AlignCfg, Config
from fgalign.data.vcr import object_number
from fgalign.experiment.outputs import temporary_name
from fgalign.regions.crops import load_rgb
from fgalign.schema import SNLI_VE_LABELS


def _keywords(row: dict, c: int) -> list[str]:
    kws = row.get("keywords")
    return [str(k) for k in list(kws[c])] if kws is not None and c < len(kws) else []


def box_numbering(row: dict, n_boxes: int) -> tuple[str, Callable[[int], int]]:
    """How box ``r`` of a figure is numbered: the dataset's objects (VCR, ``dataset``
    proposer: box r is object r) take the number the texts give them
    (``fgalign.data.vcr.object_number``), so "star 3" in a statement is box 3; proposals are
    "region" 1..R."""
    names = row.get("object_names")
    labels = row.get("box_labels")
    if (names is not None and labels is not None and n_boxes and len(names) == n_boxes
            and [str(x) for x in labels] == [str(x) for x in names]):
        return "object", object_number
    return "region", lambda r: r + 1


def _panel(fig, ax_img, ax_txt, image, row: dict, tau: float, ref_scope: str) -> None:
    import matplotlib.pyplot as plt
    from matplotlib.patches import ConnectionPatch, Rectangle

    boxes = to_array(row.get("boxes"), 2).reshape(-1, 4)
    colors = plt.cm.tab10(np.arange(max(len(boxes), 1)) % 10)
    kind, number = box_numbering(row, len(boxes))
    ax_img.imshow(image)
    ax_img.set_axis_off()
    for r, (x1, y1, x2, y2) in enumerate(boxes):
        ax_img.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, lw=1.5,
                                   ec=colors[r]))
        ax_img.text(x1 + 1, y1 + 6, str(number(r)), color=colors[r], fontsize=7, weight="bold")
    stmts = [str(s) for s in row.get("statements", [])]
    labels = row.get("labels")
    gold = int(next(iter(labels))) if labels is not None and len(labels) else -1
    pred = int(row.get("pred", -1))
    ax_txt.set_axis_off()
    lines = [f"Q: {row.get('text', '')}"[:90]]
    if len(stmts) == 1:  # SNLI-VE: one statement (the hypothesis), a predicted class
        name = lambda i: SNLI_VE_LABELS[i] if 0 <= i < 3 else "?"
        lines.append(f"pred: {name(pred)}   gold: {name(gold)}")
        pred = 0
    else:
        if 0 <= pred < len(stmts):
            lines.append(f"pred: {stmts[pred]}"[:90])
        lines.append("(correct)" if gold == pred and gold >= 0 else
                     f"gold: {stmts[gold]}"[:90] if 0 <= gold < len(stmts) else "gold: ?")
    ax_txt.text(0, 1, "\n".join(lines), va="top", fontsize=7, family="monospace",
                transform=ax_txt.transAxes)
    if not (0 <= pred < len(stmts)) or len(boxes) == 0:
        return
    alpha = region_word_attention(row, AlignCfg(tau=tau, ref_scope=ref_scope))  # (1, C, K, R)
    kws = _keywords(row, pred)
    for k, word in enumerate(kws):
        a = alpha[0, pred, k, : len(boxes)].numpy()
        r = int(a.argmax())
        y = 0.62 - 0.09 * k
        ax_txt.text(0.02, y, f"{word}  → {kind} {number(r)}  (α={a[r]:.2f})", color=colors[r],
                    fontsize=7, transform=ax_txt.transAxes, va="center")
        x1, y1, x2, y2 = boxes[r]
        fig.add_artist(ConnectionPatch(xyA=(0.0, y), coordsA=ax_txt.transAxes,
                                       xyB=((x1 + x2) / 2, (y1 + y2) / 2), coordsB=ax_img.transData,
                                       color=colors[r], lw=0.8, alpha=0.4 + 0.6 * float(a[r])))


def alignment_figure(cfg: Config, task: str, rows: list[dict], path: str | Path) -> Path | None:
    """Save the alignment figure of up to ``len(rows)`` error-free rows; returns its path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in rows if not r.get("error") and r.get("kw_embs") is not None]
    if not rows:
        return None
    fig, axes = plt.subplots(len(rows), 2, figsize=(9, 2.6 * len(rows)), squeeze=False,
                             gridspec_kw={"width_ratios": [1, 2.2]})
    for (ax_img, ax_txt), row in zip(axes, rows):
        _panel(fig, ax_img, ax_txt, load_rgb(cfg.data.root, str(row["image_path"])), row,
               cfg.align.tau, cfg.align.ref_scope)
    fig.suptitle(f"{task}: region-word alignment of the predicted statement", fontsize=9)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temporary_name(path)  # whole or not at all (fgalign.experiment.outputs)
    try:
        fig.savefig(tmp, dpi=110, format="png")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
        plt.close(fig)
    return path


TAB10 = ("1f77b4", "ff7f0e", "2ca02c", "d62728", "9467bd", "8c564b", "e377c2", "7f7f7f",
         "bcbd22", "17becf")  # matplotlib's tab10, the colours of ``alignment_figure``


def keyword_regions(row: dict, c: int, tau: float, ref_scope: str = "keyword"
                    ) -> list[tuple[str, int, float]]:
    """(keyword, region it attends to most, α) for each keyword of candidate ``c`` of a
    hydrated row (``boxes``, ``region_embs``, ``kw_embs``, ``kw_mask``); [] without regions."""
    boxes = to_array(row.get("boxes"), 2).reshape(-1, 4)
    if len(boxes) == 0 or row.get("kw_embs") is None:
        return []
    alpha = region_word_attention(row, AlignCfg(tau=tau, ref_scope=ref_scope))  # (1, C, K, R)
    out = []
    for k, word in enumerate(_keywords(row, c)[: alpha.shape[2]]):
        a = alpha[0, c, k, : len(boxes)].numpy()  # (R,)
        out.append((word, int(a.argmax()), float(a.max())))
    return out


def overlay_figure(image, boxes: np.ndarray, links: list[tuple[str, int, float]],
                   path: str | Path) -> Path:
    """Save ``image`` (PIL RGB) with its regions drawn and, on each region, the keywords that
    attend to it most (``keyword_regions``) with α: a PNG of the image's own size (W, H).

    Args:
        image: the photo (PIL ``Image``, RGB).
        boxes: (R, 4) region boxes, x1 y1 x2 y2 in the image's pixels.
        links: (keyword, region index, α) per keyword.
        path: where to write the PNG (parent folders are created).
    """
    from PIL import ImageDraw, ImageFont

    im = image.convert("RGB").copy()
    draw = ImageDraw.Draw(im)
    size = max(10, min(im.size) // 25)
    try:
        font = ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1: one bitmap size
        font = ImageFont.load_default()
    width = max(1, min(im.size) // 150)
    palette = [tuple(int(h[i:i + 2], 16) for i in (0, 2, 4)) for h in TAB10]
    words: dict[int, list[str]] = {}
    for word, r, a in links:
        words.setdefault(r, []).append(f"{word} {a:.2f}")
    for r, (x1, y1, x2, y2) in enumerate(np.asarray(boxes, float).reshape(-1, 4)):
        color = palette[r % len(palette)]
        draw.rectangle([x1, y1, x2, y2], outline=color, width=width if r in words else 1)
        label = f"{r}: " + ", ".join(words[r]) if r in words else str(r)
        box = draw.textbbox((x1 + width, y1 + width), label, font=font)
        draw.rectangle(box, fill=(0, 0, 0))
        draw.text((x1 + width, y1 + width), label, fill=color, font=font)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    im.save(path, format="PNG")
    return path

