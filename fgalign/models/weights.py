"""Are a backbone's weights here? Checked before any stage runs, as one ``InputError`` line.

    check_weights(cfg.model)   # raises WeightsUnavailableError naming what to download

An open_clip architecture needs ``model.pretrained`` or ``model.checkpoint``. A pretrained tag
whose file is neither a local path nor in the Hugging Face / open_clip cache is fetched by
open_clip when the stages start; when that cannot work (``HF_HUB_OFFLINE`` is set, or the
host does not answer), the error says which file to download, where to put it and which key
(``model.checkpoint``) to set, instead of a traceback from inside a stage after minutes of
retries. A backbone that is not an open_clip architecture is not checked here.
"""
from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from fgalign.errors import InputError
from fgalign.names import BACKBONE_NAMES, is_bundle_path

WEIGHT_FILES = ("open_clip_model.safetensors", "open_clip_pytorch_model.bin")


class WeightsUnavailableError(InputError):
    """The backbone's weights are neither local nor downloadable from here."""


def _reachable(host: str, timeout: float = 3.0) -> bool:
    """``host`` accepts a TCP connection on port 443 within ``timeout`` seconds."""
    try:
        socket.create_connection((host, 443), timeout=timeout).close()
        return True
    except OSError:
        return False


def _hf_source(hf_hub: str) -> tuple[str, list[str]]:
    """(repo id, candidate file names) of an open_clip ``hf_hub`` entry (``org/name/[file]``);
    open_clip tries the ``.safetensors`` file first."""
    repo, filename = os.path.split(hf_hub)
    return repo, list(dict.fromkeys([*WEIGHT_FILES, filename] if filename else WEIGHT_FILES))


def _cached_hf(repo: str, files: list[str]) -> str | None:
    from huggingface_hub import try_to_load_from_cache

    for f in files:
        hit = try_to_load_from_cache(repo, f)
        if isinstance(hit, str) and Path(hit).is_file():
            return hit
    return None


def weights_source(name: str, tag: str) -> dict[str, Any]:
    """Where open_clip gets ``name`` / ``tag``: ``url`` (to download), ``host``, ``cached``
    (a local file already there, or None) and ``cache`` (the folder it would go to)."""
    import open_clip

    cfg = open_clip.get_pretrained_cfg(name, tag) or {}
    if cfg.get("hf_hub"):
        repo, files = _hf_source(cfg["hf_hub"])
        from huggingface_hub.constants import HF_HUB_CACHE

        return {"url": f"https://huggingface.co/{repo}/resolve/main/{files[0]}",
                "host": "huggingface.co", "cached": _cached_hf(repo, files),
                "cache": HF_HUB_CACHE}
    url = cfg.get("url", "")
    cache = Path("~/.cache/clip").expanduser()
    target = cache / os.path.basename(url) if url else None
    return {"url": url, "host": urlparse(url).hostname or "",
            "cached": str(target) if target is not None and target.is_file() else None,
            "cache": str(cache)}


def check_weights(model: Any, probe: bool = True) -> None:
    """Raise ``WeightsUnavailableError`` (one line) when ``model`` (a ``ModelCfg``) cannot get
    its weights from here; return quietly when they are local or can be downloaded.

    Args:
        model: the ``model`` config section (``name``, ``pretrained``, ``checkpoint``).
        probe: try a 3 s connection to the download host when the file is not cached.
    """
    if model.checkpoint is not None:
        if not Path(model.checkpoint).is_file():
            raise WeightsUnavailableError(f"model.checkpoint: file not found: {model.checkpoint}")
        return
    if model.name in BACKBONE_NAMES or is_bundle_path(model.name):
        return
    import open_clip

    if model.name not in open_clip.list_models():
        return  # a registered plug-in backbone: its factory knows its weights
    tags = open_clip.list_pretrained_tags_by_model(model.name)
    if model.pretrained is None:
        raise WeightsUnavailableError(
            f"{model.name} needs weights: set model.pretrained to one of {', '.join(tags)} "
            f"(downloaded when online), or model.checkpoint to a local .safetensors / .pt file; "
            f"refusing to run a randomly initialised {model.name}")
    if Path(model.pretrained).is_file():
        return
    src = weights_source(model.name, model.pretrained)
    if src["cached"]:
        return
    offline = os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0")
    if not offline and (not probe or (src["host"] and _reachable(src["host"]))):
        return
    file = os.path.basename(urlparse(src["url"]).path) or WEIGHT_FILES[0]
    raise WeightsUnavailableError(
        f"weights of {model.name} pretrained={model.pretrained} are not here and "
        f"{src['host'] or 'the download host'} cannot be reached: download {src['url']} on a "
        f"machine with network, copy it here (e.g. ~/weights/{model.name}-{model.pretrained}-"
        f"{file}) and set model.checkpoint to that file (--set model.checkpoint=PATH), or fill "
        f"the cache {src['cache']} and retry")
