"""Every generated VQA / SNLI-VE / VCR item is true of its scene graph, and labels are balanced.

The checks re-derive answers from the scene graphs by parsing the texts here, independently of
the generator's code paths (only the vocabularies and the relation margin are shared).
"""
from __future__ import annotations

import json
import re
from collections import Counter

from synth_checks import SPLITS, clearly, resolve

from fgalign.data.synth.questions.snli_ve import NEUTRAL_PREDICATES
from fgalign.data.synth.questions.vqa import NUMBER_WORDS, PLURAL

REL = {"left of": "left", "right of": "right", "above": "above", "below": "below"}
SINGULAR = {v: k for k, v in PLURAL.items()}


def only_related(rel: str, ref: dict, objs: list[dict], side: int) -> dict:
    """The single object clearly in ``rel`` to ``ref``; asserts no other one is or ties."""
    verdicts = [(o, clearly(rel, o, ref, side)) for o in objs if o is not ref]
    assert all(v is not None for _, v in verdicts), "near-tie in a relation question"
    hits = [o for o, v in verdicts if v]
    assert len(hits) == 1
    return hits[0]


def vqa_answer(q: str, s: dict) -> str:
    objs, side = s["objects"], s["width"]
    if m := re.fullmatch(r"What (color|shape) is (?:the object )?(left of|right of|above|below) the (.+)\?", q):
        return only_related(REL[m[2]], resolve(m[3], objs), objs, side)[m[1]]
    if m := re.fullmatch(r"What (color|shape|size) is the (.+)\?", q):
        o = resolve(m[2], objs)
        assert m[1] not in m[2].split(), "the question gives its own answer away"
        return o[m[1]]
    if m := re.fullmatch(r"How many (.+) are there\?", q):
        w = m[1].split()
        if m[1] == "objects":
            return str(len(objs))
        if len(w) == 2:
            return str(sum(w[0] in (o["color"], o["size"]) for o in objs))
        return str(sum(o["shape"] == SINGULAR[m[1]] for o in objs))
    if m := re.fullmatch(r"Is there a (\w+) (\w+)\?", q):
        return "yes" if any((o["color"], o["shape"]) == (m[1], m[2]) for o in objs) else "no"
    if m := re.fullmatch(r"Is the (.+) bigger than the (.+)\?", q):
        a, b = resolve(m[1], objs), resolve(m[2], objs)
        assert a["size"] != b["size"]
        return "yes" if a["size"] == "large" else "no"
    if m := re.fullmatch(r"Are there more (\w+) objects than (\w+) objects\?", q):
        n1, n2 = (sum(o["color"] == c for o in objs) for c in (m[1], m[2]))
        assert n1 != n2
        return "yes" if n1 > n2 else "no"
    raise AssertionError(f"unparsed question {q!r}")


def test_vqa_answers_true_and_official_layout(world_dir, scenes):
    for split in SPLITS:
        qs = json.loads((world_dir / f"v2_OpenEnded_mscoco_{split}_questions.json").read_text())
        ann = json.loads((world_dir / f"v2_mscoco_{split}_annotations.json").read_text())
        assert qs["data_subtype"] == ann["data_subtype"] == split
        assert qs["task_type"] == "Open-Ended" and "info" in qs and "license" in ann
        by_id = {a["question_id"]: a for a in ann["annotations"]}
        assert len(by_id) == len(qs["questions"]) > 0
        for q in qs["questions"]:
            a = by_id[q["question_id"]]
            assert a["image_id"] == q["image_id"]
            gold = vqa_answer(q["question"], scenes[q["image_id"]])
            assert a["multiple_choice_answer"] == gold, q["question"]
            assert a["answer_type"] == ("number" if gold.isdigit() else
                                        "yes/no" if gold in ("yes", "no") else "other")
            answers = [x["answer"] for x in a["answers"]]
            assert [x["answer_id"] for x in a["answers"]] == list(range(1, 11))
            assert answers.count(gold) >= 6


def test_vqa_disagreement_and_balance(world_dir):
    ann = json.loads((world_dir / "v2_mscoco_train_annotations.json").read_text())["annotations"]
    noisy = sum(any(x["answer"] != a["multiple_choice_answer"] for x in a["answers"]) for a in ann)
    assert 0.4 < noisy / len(ann) < 0.9
    words = {x["answer"] for a in ann for x in a["answers"]}
    assert {"grey", "two"} & words  # synonyms the soft metric has to handle
    top = Counter(a["multiple_choice_answer"] for a in ann).most_common(1)[0][1]
    assert top / len(ann) < 0.2
    types = Counter(a["answer_type"] for a in ann)
    assert set(types) == {"yes/no", "number", "other"}
    yn = Counter(a["multiple_choice_answer"] for a in ann if a["answer_type"] == "yes/no")
    assert abs(yn["yes"] - yn["no"]) <= 2


def number(word: str) -> int:
    return 0 if word == "no" else NUMBER_WORDS.index(word)


def snli_label(h: str, s: dict) -> str:
    objs, side = s["objects"], s["width"]
    if m := re.fullmatch(r"There is an? (?:(small|large) )?(\w+) (\w+) in the picture\.", h):
        hit = any((o["color"], o["shape"]) == (m[2], m[3]) and m[1] in (None, o["size"])
                  for o in objs)
        return "entailment" if hit else "contradiction"
    if m := re.fullmatch(r"There (?:is|are) (\w+) (\w+) objects?\.", h):
        n = sum(o["color"] == m[2] for o in objs)
        return "entailment" if number(m[1]) == n else "contradiction"
    if m := re.fullmatch(r"There (?:is|are) (\w+) (\w+)\.", h):
        shape = SINGULAR.get(m[2], m[2])
        n = sum(o["shape"] == shape for o in objs)
        return "entailment" if number(m[1]) == n else "contradiction"
    if m := re.fullmatch(r"The (.+) is (left of|right of|above|below) the (.+)\.", h):
        v = clearly(REL[m[2]], resolve(m[1], objs), resolve(m[3], objs), side)
        assert v is not None, "relation hypothesis on a near-tie"
        return "entailment" if v else "contradiction"
    for pred in NEUTRAL_PREDICATES:
        if h.endswith(f" {pred}."):
            subject = h[: -len(pred) - 2]
            if subject.startswith("The "):
                resolve(subject[4:], objs)  # the object it talks about is in the picture
            return "neutral"
    raise AssertionError(f"unparsed hypothesis {h!r}")


def test_snli_ve_labels_true_and_balanced(world_dir, scenes):
    by_file = {s["file"]: s for s in scenes.values()}
    for split in SPLITS:
        rows = [json.loads(x) for x in (world_dir / f"snli_ve_{split}.jsonl").read_text().splitlines()]
        labels = Counter(r["gold_label"] for r in rows)
        assert labels["entailment"] == labels["neutral"] == labels["contradiction"] > 0
        assert len({r["pairID"] for r in rows}) == len(rows)
        for r in rows:
            scene = by_file[r["Flikr30kID"]]
            assert snli_label(r["sentence2"], scene) == r["gold_label"], r["sentence2"]
            for o in scene["objects"]:  # the premise lists every object
                assert f"{o['size']} {o['color']} {o['shape']}" in r["sentence1"]


COUNT_NUM = {"no": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}


def vcr_true(text: str, q: str, s: dict) -> bool:
    """Whether a VCR answer / rationale (refs as plain indices) is true of the scene, parsed here
    independently of the generator; a statement on a near-tie fails the test."""
    objs, side = s["objects"], s["width"]

    def rel_true(rel_words: str, a: int, b: int) -> bool:
        v = clearly(REL[rel_words], objs[a], objs[b], side)
        assert v is not None, f"near-tie in {text!r}"
        return v

    if m := re.fullmatch(r"(\d+) is (left of|right of|above|below) (\d+) \.", text):
        return rel_true(m[2], int(m[1]), int(m[3]))
    if m := re.fullmatch(r"(\d+) is (\w+) \.", text):
        return objs[int(m[1])]["color"] == m[2]
    if m := re.fullmatch(r"(\d+) is (small|large) and (\d+) is (small|large) \.", text):
        return (objs[int(m[1])]["size"], objs[int(m[3])]["size"]) == (m[2], m[4])
    if m := re.fullmatch(r"(\d+) and (\d+) are both (small|large) \.", text):
        return objs[int(m[1])]["size"] == objs[int(m[2])]["size"] == m[3]
    if m := re.fullmatch(r"It is a (\w+) \.", text):
        qm = re.fullmatch(r"What shape is the object (left of|right of|above|below) (\d+) \?", q)
        return only_related(REL[qm[1]], objs[int(qm[2])], objs, side)["shape"] == m[1]
    if m := re.fullmatch(r"The object (left of|right of|above|below) (\d+) is a (\w+) \.", text):
        return only_related(REL[m[1]], objs[int(m[2])], objs, side)["shape"] == m[3]
    if m := re.fullmatch(r"(\w+) other objects? \.", text):
        qm = re.fullmatch(r"How many other objects have the same color as (\d+) \?", q)
        i = int(qm[1])
        return COUNT_NUM[m[1].lower()] == sum(o["color"] == objs[i]["color"] for o in objs) - 1
    if m := re.fullmatch(r"(\w+) (\w+) objects? , including (\d+) \.", text):
        i = int(m[3])
        return objs[i]["color"] == m[2] and \
            COUNT_NUM[m[1].lower()] == sum(o["color"] == m[2] for o in objs)
    if m := re.fullmatch(r"A (\w+) (\w+) \.", text):
        qm = re.fullmatch(r"What else is in the picture besides (\d+) \?", q)
        return any((o["color"], o["shape"]) == (m[1], m[2]) for o in objs if o["id"] != int(qm[1]))
    if m := re.fullmatch(r"There is a (\w+) (\w+) in the picture besides (\d+) \.", text):
        return any((o["color"], o["shape"]) == (m[1], m[2]) for o in objs if o["id"] != int(m[3]))
    raise AssertionError(f"unparsed VCR statement {text!r} (question {q!r})")


def test_vcr_every_choice_true_or_false_as_labelled(world_dir, scenes):
    """The labelled answer and rationale are true of the scene, the three others are false."""
    kinds = Counter()
    for split in SPLITS:
        rows = [json.loads(x) for x in (world_dir / f"{split}.jsonl").read_text().splitlines()]
        assert rows and len({r["annot_id"] for r in rows}) == len(rows)
        for r in rows:
            s = next(x for x in scenes.values() if x["file"] == r["img_fn"])
            objs = s["objects"]
            meta = json.loads((world_dir / "images" / r["metadata_fn"]).read_text())
            assert meta["names"] == r["objects"] == [o["shape"] for o in objs]
            assert len(meta["boxes"]) == len(meta["segms"]) == len(objs)
            assert len(r["answer_choices"]) == len(r["rationale_choices"]) == 4
            for toks in [r["question"]] + r["answer_choices"] + r["rationale_choices"]:
                for t in toks:
                    assert isinstance(t, str) or all(0 <= i < len(objs) for i in t)
            flat = lambda toks: " ".join(str(t[0]) if isinstance(t, list) else t for t in toks)
            q = flat(r["question"])
            kinds[" ".join(q.split()[:3])] += 1
            for key, label in (("answer_choices", "answer_label"),
                               ("rationale_choices", "rationale_label")):
                texts = [flat(c) for c in r[key]]
                assert len(set(texts)) == 4
                truth = [vcr_true(t, q, s) for t in texts]
                assert truth == [k == r[label] for k in range(4)], (q, texts, r[label])
    assert len(kinds) >= 6  # every question form occurs


def test_vcr_labels_balanced(world_dir):
    rows = [json.loads(x) for x in (world_dir / "train.jsonl").read_text().splitlines()]
    for key in ("answer_label", "rationale_label"):
        counts = Counter(r[key] for r in rows)
        assert max(counts.values()) - min(counts.values()) <= 1 and len(counts) == 4


def test_captions(world_dir, scenes):
    rows = [json.loads(x) for x in (world_dir / "captions_train.jsonl").read_text().splitlines()]
    by_image = {f"images/{s['file']}": s for s in scenes.values()}
    for r in rows:
        s = by_image[r["image"]]
        if r["box"] is None:
            for word in re.findall(r"\w+", r["caption"]):
                if word in {"red", "green", "blue", "yellow", "purple", "orange", "cyan", "gray"}:
                    assert any(o["color"] == word for o in s["objects"]), r["caption"]
        else:
            o = next(o for o in s["objects"] if o["box"] == r["box"])
            assert r["caption"] in (f"a {o['color']} {o['shape']}",
                                    f"a {o['size']} {o['color']} {o['shape']}")


def test_vqa_prior_exact():
    from fgalign.data.synth.priors import vqa_prior

    train = [{"multiple_choice_answer": a, "answer_type": t}
             for a, t in [("2", "number"), ("2", "number"), ("red", "other")]]
    test = [{"answer_type": "number", "answers": [{"answer": "two"}] * 3 + [{"answer": "3"}] * 7},
            {"answer_type": "other", "answers": [{"answer": "red"}] * 10}]
    prior = vqa_prior(train, test)
    # "2" vs 3 x "two" (normalised to "2"): 7 leave-one-out sets see 3 matches, 3 see 2 → 0.9
    assert prior["prediction"] == "2" and prior["score"] == 45.0
    assert prior["by_answer_type"]["prediction"] == {"number": "2", "other": "red"}
    assert prior["by_answer_type"]["score"] == 95.0


def test_world_priors_are_low(world_dir):
    prior = json.loads((world_dir / "world.json").read_text())["prior"]
    assert prior["snli_ve"]["score"] == 33.33
    assert prior["vqa"]["score"] < 25 and prior["vqa"]["by_answer_type"]["score"] < 40
    assert 0 <= prior["vcr"]["q2ar"] <= prior["vcr"]["q2a"] <= 50


def test_contrast_families_exact():
    """Family of small hand-made claims (exact expected values)."""
    from fgalign.data.synth.contrast import object_family, snli_ve_family, vqa_family

    objs = [{"color": "red", "shape": "circle", "size": "small"},
            {"color": "blue", "shape": "star", "size": "large"}]
    scene = {"objects": objs}
    assert object_family({"color": "red", "shape": "circle"}, objs) is None
    assert object_family({"color": "green", "shape": "circle"}, objs) == "color"
    assert object_family({"color": "red", "shape": "square"}, objs) == "shape"
    assert object_family({"size": "large", "color": "red", "shape": "circle"}, objs) == "size"
    assert object_family({"color": "green", "shape": "square"}, objs) == "existence"
    assert object_family({"color": "red", "shape": "star"}, objs) == "color"  # binding
    assert snli_ve_family("There are two stars.", scene) == "count"
    assert snli_ve_family("The circle is left of the star.", scene) == "relation"
    assert snli_ve_family("There is a large red circle in the picture.", scene) == "size"
    assert [vqa_family(q) for q in (
        "What color is the star?", "What shape is the red object?", "How many stars are there?",
        "Are there more red objects than blue objects?", "Is there a red star?",
        "What shape is left of the red circle?", "Is the red circle bigger than the star?",
        "What size is the star?")] == ["color", "shape", "count", "count", "existence",
                                       "relation", "size", "size"]


def test_snli_ve_pairs_are_minimal(world_dir):
    """Each caption's entailed and contradicted hypotheses differ only in the words of the
    family the contradiction falsifies (existence: colour and shape; count: the number)."""
    import itertools

    recs = {json.loads(x)["id"]: json.loads(x)["family"]
            for x in (world_dir / "contrasts_train.jsonl").read_text().splitlines()
            if json.loads(x)["task"] == "snli_ve"}
    rows = [json.loads(x) for x in (world_dir / "snli_ve_train.jsonl").read_text().splitlines()]
    by_caption = {k: {r["gold_label"]: r for r in g}
                  for k, g in itertools.groupby(rows, key=lambda r: r["captionID"])}
    allowed = {"color": 1, "shape": 1, "size": 1, "count": 3, "relation": 2, "existence": 3}
    for cap in by_caption.values():
        e, c = cap["entailment"]["sentence2"].split(), cap["contradiction"]["sentence2"].split()
        fam = recs[cap["contradiction"]["pairID"]]
        assert len(e) == len(c), (e, c)  # "is one star" / "are two stars": verb, number, noun
        diff = sum(a != b for a, b in zip(e, c))
        assert 1 <= diff <= allowed[fam], (fam, e, c)
