"""The config's walk through one run, and where it climbs back up (issue 18).

    python docs/config_walk.py evaluate --config configs/demo.yaml --set data.root=W ...

A call carries the config when one of its arguments is a config section (``fgalign.config.
Section``: the whole ``Config`` or e.g. ``AlignCfg``), or ``self`` holds one (a
``TaskRunner``, an ``AlignmentScorer``). Two counts:

- **climbs back up** (the issue's measure): a config-carrying call into a package
  (``fgalign.<name>``) that is already on the call stack below the caller with another
  package in between, i.e. the walk returns into a module it left (a callback up the stack:
  the engine asking the experiment for specs, a task calling a runner that asks the task);
- **calls up the layers**: a config-carrying call from a lower layer into a higher one
  (layers, top to bottom: cli / commands, experiment, tasks / adapt, components (align,
  keywords, regions, embed, models, data, metrics), engine / ray, load, config). An executor
  calling the stage object its spec names (``rowguard`` → ``AlignmentScorer.__call__``) is
  one: the stage was handed down inside a spec, as Ray Data calls a user's function, and the
  walk never left the stage's package before.

Prints the number of config-carrying calls between modules and both lists;
``tests/test_stages.py`` runs ``walk`` over an in-process evaluation and asserts no climb
back up.
"""
import collections
import sys
from dataclasses import dataclass, field

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


def group(mod):
    parts = mod.split(".")
    return ".".join(parts[:2]) if parts[0] == "fgalign" else None


def left_before(frame):
    """Packages on the stack below ``frame``'s caller that the walk has left (another
    package sits between them and the caller)."""
    seen, f, current = set(), frame.f_back, None
    while f is not None:
        g = group(f.f_globals.get("__name__", ""))
        if g is not None:
            if current is None:
                current = g
            elif g != current:
                seen.add(g)
        f = f.f_back
    return seen


@dataclass
class Walk:
    calls: collections.Counter = field(default_factory=collections.Counter)  # (caller, callee)
    climbs_back: collections.Counter = field(default_factory=collections.Counter)
    layer_climbs: collections.Counter = field(default_factory=collections.Counter)


def walk(fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` traced: (its result, the ``Walk``)."""
    from fgalign.config import Section

    w = Walk()

    def carries(frame):
        co = frame.f_code
        for name in co.co_varnames[:co.co_argcount + co.co_kwonlyargcount]:
            v = frame.f_locals.get(name)
            if isinstance(v, Section):
                return True
            if name == "self" and any(isinstance(x, Section)
                                      for x in getattr(v, "__dict__", {}).values()):
                return True
        return False

    def prof(frame, event, arg):
        if event != "call" or frame.f_back is None:
            return
        callee = frame.f_globals.get("__name__", "")
        caller = frame.f_back.f_globals.get("__name__", "")
        rc, re_ = rank(caller), rank(callee)
        if rc is None or re_ is None or caller == callee or not carries(frame):
            return
        w.calls[(caller, callee)] += 1
        if group(caller) != group(callee) and group(callee) in left_before(frame):
            w.climbs_back[(caller + " -> " + callee, frame.f_code.co_name)] += 1
        if re_ < rc:
            w.layer_climbs[(caller + " -> " + callee, frame.f_code.co_name)] += 1

    sys.setprofile(prof)
    try:
        out = fn(*args, **kwargs)
    finally:
        sys.setprofile(None)
    return out, w


if __name__ == "__main__":
    from fgalign import cli

    _, w = walk(cli.main, sys.argv[1:])
    print("config-carrying calls between modules:", sum(w.calls.values()),
          "distinct edges:", len(w.calls))
    print("climbs back up (into a package left earlier on the stack):", len(w.climbs_back),
          "distinct,", sum(w.climbs_back.values()), "calls")
    for k, n in w.climbs_back.most_common():
        print(n, k)
    print("calls up the layers (a lower layer into a higher one):", len(w.layer_climbs),
          "distinct,", sum(w.layer_climbs.values()), "calls")
    for k, n in w.layer_climbs.most_common():
        print(n, k)
