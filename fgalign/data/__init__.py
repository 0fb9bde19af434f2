"""Dataset readers in the official VQAv2 / SNLI-VE / VCR formats, one unified row schema.

Each task's reader is part of its ``Task`` (``fgalign.tasks``): ``fgalign.tasks.read_task(task,
root, split, data_cfg=None)`` is the entry point by name, ``read_task_report`` also returns the
counts that ``fgalign data stats`` prints. The synthetic world that writes these formats lives
in ``fgalign.data.synth``.
"""
from fgalign.data.paths import DataFileError
from fgalign.data.readers import EmptySplitError

__all__ = ["DataFileError", "EmptySplitError"]
