"""``fgalign bench [--quick] [--config FILE] [--set k=v] [--only GROUP ...] [--out FILE]``.

Measures the ratios of BENCHMARKS.md side by side in one run and prints the table: Ray Data
embedding actors vs an in-process loop, a cached re-run vs the first run, one sweep trial vs
recomputing embeddings, scoring vs this machine's matmul rate, statement dedup, driver memory
at 1× vs 10× data, 1 vs 2 embedding actors, and a GPU section when CUDA is present.
``--only scale`` (never run unless named) is the real-scale benchmark of issue 11
(``fgalign.bench.scale``): VQAv2 / SNLI-VE / VCR-shaped data, cache bytes per question at
3,129 vs 100 answers, proposer and image-encoder calls per distinct image, driver memory and
questions/s at 10× vs 1×, and a projection to the real datasets on cluster.yaml. It runs the
real-dataset configs (configs/vqav2.yaml, snli_ve.yaml, vcr.yaml; ``--config`` is not used)
with test-tiny and the segment proposer on CPU; ``--set`` overrides go on top (a GPU box:
``--set model.name=ViT-B-16 --set model.pretrained=openai --set regions.proposer=torchvision
--set ray.stages.images.num_gpus=1 --set ray.stages.embed.num_gpus=1``). Its rows go to their own block of BENCHMARKS.md.
``--quick`` uses tiny data and the random ``test-tiny`` backbone (a smoke test, a few minutes);
the full mode uses the demo's data size and takes much longer (it prints how long). Full runs
rewrite the generated block of ``--out`` (default BENCHMARKS.md); quick runs write nothing
unless ``--out`` is given. Same as ``python pipelines/benchmark.py``.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

GROUPS = ("scoring", "pipeline", "engine", "embed", "scaling", "sweep", "gpu", "scale")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The benchmark flags (shared with pipelines/benchmark.py)."""
    from fgalign.cli import add_config_args

    add_config_args(p, required=False)
    p.set_defaults(config="configs/demo.yaml")
    p.add_argument("--quick", action="store_true", help="tiny sizes, test-tiny backbone")
    p.add_argument("--only", nargs="+", choices=GROUPS, help="run only these groups")
    p.add_argument("--work", default=None,
                   help="scratch folder (default runs/bench-<mode>; worlds are reused)")
    p.add_argument("--out", default=None, help="BENCHMARKS.md to update (full mode default)")
    p.add_argument("--json", default=None, help="also write the results as JSON here")
    p.add_argument("--repeats", type=int, default=None,
                   help="engine group: Ray / in-process pairs, median reported (default: 3, "
                        "quick: 1)")
    p.add_argument("--engine-images", type=int, default=None,
                   help="engine group: scenes of its world (default 300, quick: 30; the "
                        "demo's world has 1500)")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="measure the performance ratios (BENCHMARKS.md)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace, argv: list[str] | None = None) -> int:
    """Runs the benchmarks, prints the table, writes the outputs; 0 when every target is met."""
    import os

    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    os.environ.setdefault("RAY_DATA_DISABLE_PROGRESS_BARS", "1")
    from fgalign.bench.report import write_benchmarks_md
    from fgalign.bench.runner import command_line, print_results, run_all
    from fgalign.load import load_config

    load_config(args.config, args.overrides)  # a bad config fails here, before any bench runs
    mode = "quick" if args.quick else "full"
    work = Path(args.work or f"runs/bench-{mode}").resolve()
    results, info = run_all(args.config, args.overrides, mode, work, args.only, args.repeats,
                            args.engine_images)
    info["command"] = command_line(args.argv if argv is None else argv)
    print_results(results, info)
    out = args.out or (None if args.quick else "BENCHMARKS.md")
    if out:
        from fgalign.bench.report import SCALE_BEGIN, SCALE_END

        scale = [r for r in results if r.name.startswith("scale")]
        rest = [r for r in results if not r.name.startswith("scale")]
        if rest:
            write_benchmarks_md(out, rest, info)
        if scale:
            write_benchmarks_md(out, scale, info, SCALE_BEGIN, SCALE_END)
        print(f"wrote {out}")
    if args.json:
        Path(args.json).write_text(json.dumps({"info": info, "results": [
            r.to_dict() for r in results]}, indent=1, default=str))
    return 1 if any(r.status == "MISSED" for r in results) else 0
