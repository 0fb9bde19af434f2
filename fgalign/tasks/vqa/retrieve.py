"""VQA candidates by retrieve-then-rerank: a cheap first pass keeps the top ``k`` answers.

TAP-C ("CLIP Models are Few-shot Learners", ACL 2022) scores every answer of the vocabulary
with CLIP; at VQAv2's 3,129 answers, building, keyword-parsing and embedding one statement per
answer for 214k questions is what made cost grow with the vocabulary. Here a first pass ranks
the answers the type / prefix filters keep (``fgalign.tasks.vqa.answers.candidates_for``) by

    s(a) = cos(image, prompt(a)) / τ_r + w · log P(a | question prefix)

(``prompt(a)``: ``tasks.vqa.retrieval_prompt`` with the answer, embedded once in the text
table; the prior is the train answer distribution of the question's first two words, backed off
to its answer type, add-one smoothed) and keeps the best ``k``; statements, keywords, text
embeddings and fine-grained scoring see only those. Cost per question is then independent of
the vocabulary size.

The stage also records what the cut costs: ``gold_rank`` (rank of the question's best-credit
vocabulary answer in the first pass, -1 when the filters drop it or no vocabulary answer
earns credit) and, with ``oracle`` on, appends that answer when the cut dropped it
(``oracle_index``: its candidate index, else -1) — scored like the others, but only the
``oracle`` variant of the metrics may pick it (``fgalign.experiment.finalize``). recall@k is the share of
labelled questions whose best-credit answer survived (``gold_rank < k``).

Reads:  ``text``, ``image_key``, ``target`` (for gold_rank; may be empty), ``error``.
Adds:   ``candidates`` (C ≤ k+1; the kept answers in vocabulary order, then the oracle one),
        ``statements`` (C,), ``cand_group`` (C,) zeros,
        ``labels`` [gold candidate or -1], ``answer_type_inferred``, ``question_prefix``,
        ``gold_rank`` int, ``oracle_index`` int, ``pool_size`` int (answers the filters kept).
"""
from __future__ import annotations

from collections import Counter

import numpy as np

from fgalign.engine.batch import as_list, num_rows, object_column, row_errors
from fgalign.engine.store import EmbeddingTable, region_key, text_keys
from fgalign.metrics import normalize_answer, vqa_accuracy
from fgalign.tasks.vqa.answers import (
    candidates_for,
    infer_answer_type,
    majority_answer,
    question_prefix,
)
from fgalign.tasks.vqa.convert import create_converter


def vocab_lookup(vocab: list[str]) -> dict[str, list[int]]:
    """Normalised answer → indices of the vocabulary answers of that class."""
    out: dict[str, list[int]] = {}
    for i, a in enumerate(vocab):
        out.setdefault(normalize_answer(a), []).append(i)
    return out


def best_credit(answers: list[str], vocab: list[str], lookup: dict[str, list[int]]
                ) -> tuple[set[int], float]:
    """The vocabulary answers with the highest official VQA accuracy for ``answers`` (the ten
    human answers), and that accuracy; (∅, 0) when no vocabulary answer earns credit.

    Only answers whose normalised form some human gave can earn credit, so only those are
    scored (at most 10 classes, not the whole vocabulary).
    """
    found = {i for h in answers for i in lookup.get(normalize_answer(h), [])}
    credit = {i: vqa_accuracy(vocab[i], answers) for i in found}
    top = max(credit.values(), default=0.0)
    return ({i for i, c in credit.items() if c == top} if top > 0 else set()), top


def prompts(vocab: list[str], template: str) -> list[str]:
    """The retrieval prompt of each vocabulary answer (``template.format(answer=a)``)."""
    return [template.format(answer=a) for a in vocab]


def log_prior(ctx: dict) -> dict[str, np.ndarray]:
    """log P(answer | key) over the vocabulary (V,), per question prefix and per answer type.

    Keys: every prefix of ``ctx["prefix_counts"]`` and ``"type:<answer type>"``; add-one
    smoothing over the vocabulary.
    """
    vocab = ctx["answer_vocab"]
    index = {a: i for i, a in enumerate(vocab)}
    out: dict[str, np.ndarray] = {}
    by_type: dict[str, np.ndarray] = {}
    for i, (t, n) in enumerate(zip(ctx["answer_types"], ctx["answer_counts"])):
        by_type.setdefault(t, np.zeros(len(vocab)))[i] += n
    for t, c in by_type.items():
        out[f"type:{t}"] = np.log((c + 1) / (c.sum() + len(vocab)))
    for prefix, counts in (ctx.get("prefix_counts") or {}).items():
        c = np.zeros(len(vocab))
        for a, n in counts.items():
            if a in index:
                c[index[a]] = n
        out[prefix] = np.log((c + 1) / (c.sum() + len(vocab)))
    return out


class CandidateRetriever:
    """Stage callable: the top-``k`` VQA answers of each question, and their statements.

    Args:
        vqa: the VQA task context (``fgalign.tasks.vqa.answers.prepare_vqa``).
        tables: ``{"image": dir, "text": dir}`` (the image embedding of each row's image and
            the prompt embeddings must be there: the images stage and the prompt input set).
        k: answers kept per question.
        prompt: retrieval prompt template (``{answer}``).
        tau: temperature of the similarity term.
        prior_weight: weight w of the log prior.
        type_filter / prefix_filter: the answer pool (``candidates_for``).
        converter: question → statement converter name; ``converter_kwargs`` its arguments.
        oracle: append the best-credit answer when the cut dropped it (``oracle_index``).
    """

    VERSION = 2  # 2: kept answers in vocabulary order

    def __init__(self, vqa: dict, tables: dict[str, str], k: int = 32, prompt: str = "{answer}",
                 tau: float = 0.05, prior_weight: float = 1.0, type_filter: bool = True,
                 prefix_filter: bool = True, converter: str = "rule",
                 converter_kwargs: dict | None = None, oracle: bool = True):
        self.ctx, self.k, self.tau, self.w = vqa, k, tau, prior_weight
        self.type_filter, self.prefix_filter, self.oracle = type_filter, prefix_filter, oracle
        self.vocab = list(vqa["answer_vocab"])
        self.index = {a: i for i, a in enumerate(self.vocab)}
        self.lookup = vocab_lookup(self.vocab)
        self.images = EmbeddingTable(tables["image"])
        self.prompt_embs = EmbeddingTable(tables["text"]).get(
            text_keys(prompts(self.vocab, prompt)))  # (V, D)
        self.prior = log_prior(vqa)
        self.convert = create_converter(converter, **(converter_kwargs or {}))

    def rank(self, question: str, image_emb: np.ndarray) -> tuple[list[int], list[int]]:
        """(kept vocabulary indices, best first; the whole filtered pool, best first)."""
        pool, qtype = candidates_for(question, self.ctx, self.type_filter, self.prefix_filter)
        idx = np.asarray([self.index[a] for a in pool], np.int64)
        prior = self.prior.get(question_prefix(question), self.prior.get(f"type:{qtype}"))
        s = self.prompt_embs[idx] @ image_emb / self.tau  # (P,)
        if prior is not None:
            s = s + self.w * prior[idx]
        order = idx[np.argsort(-s, kind="stable")].tolist()
        return order[: self.k], order

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        n, errors = num_rows(batch), row_errors(batch)
        ok = [i for i in range(n) if not errors[i]]
        embs = self.images.get(np.asarray([region_key(str(batch["image_key"][i]), 0)
                                           for i in ok], np.int64)) if ok else None
        cands, ranks, oracle, pools = [[] for _ in range(n)], [-1] * n, [-1] * n, [0] * n
        for j, i in enumerate(ok):
            question = str(batch["text"][i])
            kept, pool = self.rank(question, embs[j])
            answers = [str(a) for a in as_list(batch["target"][i])] if "target" in batch else []
            best, _ = best_credit(answers, self.vocab, self.lookup)
            gold = min((r for r, v in enumerate(pool) if v in best), default=-1)
            ranks[i] = gold
            cands[i] = [self.vocab[v] for v in sorted(kept)]  # vocabulary order: ties as before
            if self.oracle and gold >= self.k:
                oracle[i] = len(cands[i])
                cands[i].append(self.vocab[pool[gold]])
            pools[i] = len(pool)
        stmts = self.convert([str(batch["text"][i]) for i in ok], [cands[i] for i in ok]) \
            if ok else []
        statements = [[] for _ in range(n)]
        for i, s in zip(ok, stmts):
            statements[i] = list(s)
        out = dict(batch)
        out["candidates"] = object_column(cands)
        out["statements"] = object_column(statements)
        out["cand_group"] = object_column([[0] * len(c) for c in cands])
        labels = []
        for i, c in enumerate(cands):
            answers = [str(a) for a in as_list(batch["target"][i])] if "target" in batch else []
            best, _ = best_credit(answers, c, vocab_lookup(c))
            labels.append([min(best) if best else -1])
        out["labels"] = object_column(labels)
        out["answer_type_inferred"] = np.array([infer_answer_type(str(t), self.ctx)
                                                for t in batch["text"]],
                                               dtype=object)
        out["question_prefix"] = np.array([question_prefix(str(t)) for t in batch["text"]],
                                          dtype=object)
        out["gold_rank"] = np.asarray(ranks, np.int64)
        out["oracle_index"] = np.asarray(oracle, np.int64)
        out["pool_size"] = np.asarray(pools, np.int64)
        out["error"] = np.array(errors, dtype=object)
        return out


def answer_counts(train_rows: list[dict], vocab: list[str]) -> dict[str, dict[str, int]]:
    """Train counts of each vocabulary answer per question prefix (for ``log_prior``): a
    question counts for the vocabulary answer of its majority answer's class."""
    lookup = vocab_lookup(vocab)
    out: dict[str, Counter] = {}
    for r in train_rows:
        if r.get("error") or not r["target"]:
            continue
        hit = lookup.get(normalize_answer(majority_answer(r["target"])))
        if hit:
            out.setdefault(question_prefix(r["text"]), Counter())[vocab[hit[0]]] += 1
    return {p: dict(c) for p, c in sorted(out.items())}


__all__ = ["CandidateRetriever", "answer_counts", "best_credit", "log_prior", "prompts",
           "vocab_lookup"]
