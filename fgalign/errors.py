"""``InputError``: an input the user can fix, whose message says everything.

The command line prints such an error as one line, ``<prog>: error: <message>``, and exits
with status 2 (``fgalign.cli.main``); any other exception is a bug and keeps its traceback.
Subclasses: ``ConfigError`` (fgalign.config), ``DataFileError`` (fgalign.data.paths),
``WorldFormatError`` (fgalign.data.synth.manifest).
"""


class InputError(ValueError):
    """A bad config, data file or world: the message names it and how to fix it."""


def error_text(err: BaseException) -> str:
    """``"<type>: <message>"`` of any exception, never raising: an exception whose ``str``
    raises gives its ``repr`` (or only its type) instead, so a run that failed still says
    why, in ``failed.txt`` and in the error it ends with."""
    for text in (str, repr):
        try:
            return f"{type(err).__name__}: {text(err)}"
        except Exception:  # noqa: BLE001, S112 - the next form, then the type alone
            continue
    return f"{type(err).__name__}: (its message could not be printed)"
