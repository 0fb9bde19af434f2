"""fgalign: fine-grained zero-shot vision-language understanding with CLIP, on Ray.

Importing the library needs no Ray, W&B or detectron2; those are imported where used.
"""
__version__ = "0.1.0"

__all__ = ["__version__", "predict"]


def __getattr__(name: str):
    """``fgalign.predict``: ``fgalign.tasks.predict.predict``, imported on first use (the module
    is not called ``predict``: importing it would then replace this function by the module)."""
    if name == "predict":
        # a lazy attribute: importing fgalign stays light (no torch, Ray or the tasks)
        from fgalign.tasks.predict import predict

        return predict
    raise AttributeError(f"module 'fgalign' has no attribute {name!r}")
