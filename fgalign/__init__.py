"""fgalign: fine-grained zero-shot vision-language understanding with CLIP, on Ray.

Importing the library needs no Ray, W&B or detectron2; those are imported where used.
"""
__version__ = "0.1.0"
