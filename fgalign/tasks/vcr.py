"""VCR as image-statement matching: Q→A over 4 answers, QA→R over 4 rationales, Q→AR.

    rows = add_vcr_statements(rows, modes=("q2a", "qa2r"))

Adds to each row: ``statements`` — ``answer_template`` ("{question} {answer}") filled for the
4 answers (group 0), then, with ``qa2r``, ``rationale_template`` ("{question} {answer}
{rationale}", with the gold answer; "" for rows without an answer label) for the 4 rationales
(group 1); ``cand_group`` (0 / 1 per statement);
``labels`` ([answer_label, rationale_label]); ``statement_refs`` (per statement, the object
indices it mentions: question refs, then answer / rationale refs), which the keyword stage
turns into ``kw_refs`` and the scorer into region masks over the ``dataset`` boxes.
"""
from __future__ import annotations


def _union(*ref_lists) -> list[int]:
    out: list[int] = []
    for refs in ref_lists:
        for r in refs or []:
            if int(r) not in out:
                out.append(int(r))
    return out


def add_vcr_statements(rows: list[dict], modes=("q2a", "qa2r"),
                       answer_template: str = "{question} {answer}",
                       rationale_template: str = "{question} {answer} {rationale}") -> list[dict]:
    """Fill ``statements``, ``cand_group``, ``labels``, ``statement_refs`` (module docstring)."""
    fill = lambda t, **kw: " ".join(t.format(**kw).split())
    for r in rows:
        r["statements"], r["cand_group"], r["statement_refs"] = [], [], []
        r["labels"] = [int(r.get("target", -1)), int(r.get("rationale_label", -1))]
        if r.get("error"):
            continue
        q, q_refs = r["text"], r["text_refs"]
        if "q2a" in modes:
            for ans, refs in zip(r["candidates"], r["candidate_refs"]):
                r["statements"].append(fill(answer_template, question=q, answer=ans))
                uses_q = "{question}" in answer_template
                r["statement_refs"].append(_union(q_refs if uses_q else [], refs))
                r["cand_group"].append(0)
        if "qa2r" in modes:
            gold = r["target"]
            known = 0 <= gold < len(r["candidates"])
            ans, a_refs = (r["candidates"][gold], r["candidate_refs"][gold]) if known else ("", [])
            uses_q = "{question}" in rationale_template
            uses_a = "{answer}" in rationale_template
            for rat, refs in zip(r["rationales"], r["rationale_refs"]):
                r["statements"].append(fill(rationale_template, question=q, answer=ans,
                                            rationale=rat))
                r["statement_refs"].append(_union(q_refs if uses_q else [],
                                                  a_refs if uses_a else [], refs))
                r["cand_group"].append(1)
    return rows
