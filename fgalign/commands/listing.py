"""``fgalign list [models|proposers|extractors|tasks]``: the registered names, one per line.

    fgalign list                     # every kind, under a heading each
    fgalign list proposers           # one name per line (for scripts)
    fgalign list models --open-clip  # also open_clip's architectures (open_clip.list_models())
    fgalign list models --filter 'ViT-B*' --open-clip

The names are the ones a config accepts: ``model.name`` (models), ``regions.proposer`` and
``tasks.vcr.proposer`` (proposers), ``keywords.extractor`` (extractors), ``data.tasks``
(tasks). Plug-ins appear once their module is imported (``--set data.task_modules=[...]`` for
tasks).
"""
from __future__ import annotations

import argparse
import fnmatch

KINDS = ("models", "proposers", "extractors", "tasks")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("list", help="list registered models, proposers, extractors or tasks",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("kind", nargs="?", choices=KINDS, help="what to list (default: all)")
    p.add_argument("--filter", default=None, metavar="PATTERN",
                   help="only names matching this shell pattern, e.g. 'ViT-B*'")
    p.add_argument("--open-clip", action="store_true",
                   help="models: also open_clip's architectures")
    p.set_defaults(func=run)


def names(kind: str, open_clip: bool = False) -> list[str]:
    """Registered names of one kind (registries load here, not when the CLI starts)."""
    if kind == "models":
        from fgalign.models import list_backbones

        out = list_backbones()
        if open_clip:
            import open_clip as oc

            out += [m for m in oc.list_models() if m not in out]
        return out
    if kind == "proposers":
        from fgalign.regions import PROPOSERS

        return PROPOSERS.list()
    if kind == "extractors":
        from fgalign.keywords import EXTRACTORS

        return EXTRACTORS.list()
    from fgalign.tasks import task_names

    return task_names()


def run(args: argparse.Namespace) -> int:
    kinds = [args.kind] if args.kind else list(KINDS)
    for kind in kinds:
        found = names(kind, args.open_clip)
        if args.filter:
            found = [n for n in found if fnmatch.fnmatch(n, args.filter)]
        if len(kinds) > 1:
            print(f"{kind}:")
        for n in found:
            print(f"  {n}" if len(kinds) > 1 else n)
    return 0
