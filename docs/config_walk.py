"""The config's walk through one run: calls that carry the config from a module of a lower
layer up into a module of a higher layer (issue 18's "climbs back up").

    python docs/config_walk.py evaluate --config configs/demo.yaml --set data.root=W ...

A call carries the config when one of its arguments is a config section (``fgalign.config.
Section``: the whole ``Config`` or e.g. ``AlignCfg``), or ``self`` holds one (a ``StagePlan``,
an ``AlignmentScorer``). Layers, top to bottom: cli / commands, experiment, tasks / adapt,
components (align, keywords, regions, embed, models, data, metrics), engine / ray, load,
config. Prints the number of config-carrying calls between modules and every climb.
"""
import collections
import sys

from fgalign.config import Section

RANK = [("fgalign.cli", 0), ("fgalign.commands", 0), ("fgalign.experiment", 1), ("fgalign.tasks", 2),
        ("fgalign.adapt", 2), ("fgalign.align", 3), ("fgalign.keywords", 3), ("fgalign.regions", 3),
        ("fgalign.embed", 3), ("fgalign.models", 3), ("fgalign.data", 3), ("fgalign.metrics", 3),
        ("fgalign.variants", 3), ("fgalign.logging", 3),
        ("fgalign.ray", 4), ("fgalign.engine", 4), ("fgalign.load", 5), ("fgalign.config", 6),
        ("fgalign.names", 6), ("fgalign.schema", 6), ("fgalign.numbers", 6)]
def rank(mod):
    for p, r in RANK:
        if mod == p or mod.startswith(p + "."):
            return r
    return None
climbs = collections.Counter(); calls = collections.Counter()
def carries(frame):
    co = frame.f_code
    for name in co.co_varnames[:co.co_argcount + co.co_kwonlyargcount]:
        v = frame.f_locals.get(name)
        if isinstance(v, Section):
            return True
        if name == "self" and any(isinstance(x, Section) for x in getattr(v, "__dict__", {}).values()):
            return True
    return False
def prof(frame, event, arg):
    if event != "call":
        return
    callee = frame.f_globals.get("__name__", "")
    caller_f = frame.f_back
    if caller_f is None:
        return
    caller = caller_f.f_globals.get("__name__", "")
    rc, re_ = rank(caller), rank(callee)
    if rc is None or re_ is None or caller == callee:
        return
    if not carries(frame):
        return
    calls[(caller, callee)] += 1
    if re_ < rc:
        climbs[(caller + " -> " + callee, frame.f_code.co_name)] += 1
from fgalign import cli

argv = sys.argv[1:]
sys.setprofile(prof)
try:
    cli.main(argv)
finally:
    sys.setprofile(None)
print("config-carrying calls between modules:", sum(calls.values()), "distinct edges:", len(calls))
print("climbs (calls from a lower layer up into a higher one):", len(climbs), "distinct,", sum(climbs.values()), "calls")
for k, n in climbs.most_common():
    print(n, k)
