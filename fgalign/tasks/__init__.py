"""Tasks: each one ``Task`` (``fgalign.tasks.base``) in ``fgalign/tasks/<task>.py`` (or a
package: ``fgalign/tasks/vqa/`` holds VQA's helpers), by name.

    from fgalign.tasks import get_task, task_names
    get_task("vqa").load_rows(cfg, ctx, "val2014")

Built-in: ``vqa`` (VQAv2), ``snli_ve`` (SNLI-VE), ``vcr`` (VCR), registered by importing
this package; a new task is one module with a ``@register_task`` class, its config section
and its prediction columns (see ``tests/test_fourth_task.py``).
"""
from fgalign.tasks import snli_ve, vcr, vqa  # noqa: F401  (register the built-in tasks)
from fgalign.tasks.base import (
    BUILTIN_TASKS,
    Task,
    get_task,
    read_split,
    read_task,
    read_task_report,
    register_task,
    task_names,
)

__all__ = ["BUILTIN_TASKS", "Task", "get_task", "read_split", "read_task", "read_task_report",
           "register_task", "task_names"]
