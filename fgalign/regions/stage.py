"""The ``regions`` stage: region proposals for each row's image (Ray-free, over dict-batches).

Reads:  ``image_path`` (relative to ``root``), ``error``, and when present ``given_boxes``
        (VCR metadata boxes) and ``object_names`` (labels for the ``dataset`` proposer).
Adds:   ``boxes`` float32 (R, 4) x1y1x2y2 pixels, ``box_scores`` float32 (R,),
        ``box_labels`` list[str] (R,) — per row, in object arrays (R varies by row, may be 0).
Sets:   ``error="regions:<reason>"`` on rows whose image cannot be read (missing, empty_file,
        corrupt, truncated, decompression_bomb, path_escapes_root, no_image_path) or whose
        proposer fails; other rows are unaffected. Rows with an existing error pass through
        with empty outputs. Rows in = rows out, same order.
"""
from __future__ import annotations

import logging
from typing import Any

import numpy as np

from fgalign.engine.batch import num_rows, object_column, row_errors
from fgalign.regions.base import Proposals, create_proposer
from fgalign.regions.crops import ImageLoadError, load_rgb

log = logging.getLogger(__name__)


class RegionProposer:
    """Stage callable: ``batch -> batch`` with region proposals added (see module docstring)."""

    def __init__(self, root: str, proposer: str = "segment", params: dict[str, Any] | None = None,
                 max_regions: int = 8, min_score: float = 0.0):
        """Args:
            root: dataset root; ``image_path`` values are relative to it.
            proposer: registry name (``list_proposers()``).
            params: proposer-specific keyword arguments (``regions.params`` in the config).
            max_regions: regions kept per image, by score (not applied to ``dataset`` boxes).
            min_score: proposals scoring below this are dropped.
        """
        self.root = root
        self.name = proposer
        kwargs = dict(params or {})
        if proposer != "dataset":
            kwargs.setdefault("max_regions", max_regions)
            kwargs.setdefault("min_score", min_score)
        self.proposer = create_proposer(proposer, **kwargs)

    def propose_row(self, image_path: str, given_boxes=None, names=None) -> Proposals:
        """Proposals for one image; raises ``ImageLoadError`` when it cannot be read."""
        image = np.asarray(load_rgb(self.root, image_path))  # (H, W, 3) uint8
        if not isinstance(given_boxes, (list, tuple, np.ndarray)):
            given_boxes = None  # None / a null cell (Arrow gives NaN for an all-null column)
        boxes = None if given_boxes is None else [list(b) for b in given_boxes]
        labels = None if names is None or len(names) == 0 else [str(x) for x in names]
        return self.proposer(image, given_boxes=boxes, given_labels=labels)

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        n = num_rows(batch)
        errors = row_errors(batch)
        given = batch.get("given_boxes")
        names = batch.get("object_names") if self.name == "dataset" else None
        results: list[Proposals] = []
        for i in range(n):
            props = Proposals.empty()
            if not errors[i]:
                try:
                    props = self.propose_row(str(batch["image_path"][i] or ""),
                                             None if given is None else given[i],
                                             None if names is None else names[i])
                except ImageLoadError as e:
                    errors[i] = f"regions:{e.reason}"
                except Exception as e:  # noqa: BLE001  (a proposer failure stays on its row)
                    log.warning("regions: proposer %s failed on row %d: %r", self.name, i, e)
                    errors[i] = f"regions:proposer_failed:{type(e).__name__}"
            results.append(props)
        out = dict(batch)
        out["boxes"] = object_column([p.boxes for p in results])
        out["box_scores"] = object_column([p.scores for p in results])
        out["box_labels"] = object_column([list(p.labels) for p in results])
        out["error"] = np.array(errors, dtype=object)
        return out
