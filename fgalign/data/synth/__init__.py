"""The synthetic diagnostic world: scenes of coloured shapes in the VQAv2 / SNLI-VE / VCR layouts.

    from fgalign.data.synth import generate_world, ensure_world
    world = generate_world("data/synth", seed=0, images=600)   # world.json content
    world["prior"]["vqa"]["score"]                            # answer-prior baseline (%)

Modules: ``scene`` (scene graphs), ``render`` (PIL images), ``questions/`` (VQA, SNLI-VE, VCR),
``captions`` (backbone corpus), ``priors`` (baselines), ``contrast`` (contrast table),
``manifest`` (world.json: layout, identity), ``world`` (orchestration, file layout).
"""
from fgalign.data.synth.manifest import FORMAT_VERSION, WorldFormatError, world_data_cfg
from fgalign.data.synth.world import (
                                      DATA_PATHS,
                                      ensure_world,
                                      generate_world,
                                      resolve_world,
                                      split_sizes,
                                      write_world,
)

__all__ = ["DATA_PATHS", "FORMAT_VERSION", "WorldFormatError", "ensure_world", "generate_world",
           "resolve_world", "split_sizes", "world_data_cfg", "write_world"]
