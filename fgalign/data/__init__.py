"""Dataset readers in the official VQAv2 / SNLI-VE / VCR formats, one unified row schema.

``read_task(task, root, split, data_cfg=None)`` is the entry point; ``read_task_report``
also returns the counts that ``fgalign data stats`` prints. The synthetic world that writes
these formats lives in ``fgalign.data.synth``.
"""
from fgalign.data.paths import DataFileError
from fgalign.data.readers import EmptySplitError, read_split, read_task, read_task_report

__all__ = ["DataFileError", "EmptySplitError", "read_split", "read_task", "read_task_report"]
