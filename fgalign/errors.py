"""``InputError``: an input the user can fix, whose message says everything.

The command line prints such an error as one line, ``<prog>: error: <message>``, and exits
with status 2 (``fgalign.cli.main``); any other exception is a bug and keeps its traceback.
Subclasses: ``ConfigError`` (fgalign.config), ``DataFileError`` (fgalign.data.paths),
``WorldFormatError`` (fgalign.data.synth.manifest).
"""


class InputError(ValueError):
    """A bad config, data file or world: the message names it and how to fix it."""
