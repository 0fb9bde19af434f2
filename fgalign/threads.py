"""``torch_threads(n)``: torch's intra-op thread count for one block, restored after it.

    with torch_threads(1):
        fit()

Small CPU fits run on one thread (``fgalign.tasks.snli_ve.fit_logreg``, the adaptation's
``adapt.num_threads``): their ops are too small to gain from more, and a reduction takes other
paths with other thread counts, so their results would depend on the machine's cores.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run the block with ``n`` torch threads (None: unchanged); restores the old number."""
    import torch

    old = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)
