"""The official dataset file formats: one module per format, each with its path conventions,
record builders (official field names), a ``read_split`` and a ``write_split``.

    vqav2     v2_OpenEnded_mscoco_{split}_questions.json, v2_mscoco_{split}_annotations.json,
              {split}/COCO_{split}_{image_id:012d}.jpg
    snli_ve   snli_ve_{split}.jsonl, flickr30k_images/<id>.jpg
    vcr       {split}.jsonl, vcr1images/<movie>/<img>.jpg + .json metadata
    jsonio    the byte layout (JsonStyle) the writers share

The readers return the records as stored; turning them into rows is the task readers' work
(``fgalign.data.vqa`` / ``snli_ve`` / ``vcr``). The writers are used by the synthetic world
(``fgalign.data.synth.world``), the photo sets and the scale data (``fgalign.bench.scale_data``).
"""
