"""Runs inside the benchmark-only venv (``scripts/bench_peer_venv.sh``), never imported by
the project: medspaCy's default pipeline (PyRuSH sentences, its ConText rules) on report
texts, with the finding spans our extractor found set as the targets, so both systems judge
negation and uncertainty of the same words.

Input JSON: ``[{"text": ..., "spans": [[start, end], ...]}, ...]``. Output JSON:
``{"seconds": s, "flags": [[[negated, uncertain], ...], ...]}``; seconds: reading the texts
(sentences and ConText), spans set from their offsets."""

from __future__ import annotations

import json
import sys
import time


def main(src: str, dst: str) -> None:
    from pathlib import Path

    import medspacy
    from spacy.util import filter_spans

    items = json.loads(Path(src).read_text(encoding="utf-8"))
    nlp = medspacy.load(enable=["medspacy_pyrush", "medspacy_context"])
    rush = nlp.get_pipe("medspacy_pyrush")
    context = nlp.get_pipe("medspacy_context")
    nlp("warm up: no effusion.")
    flags = []
    t0 = time.perf_counter()
    for item in items:
        doc = rush(nlp.make_doc(item["text"]))
        spans = [
            doc.char_span(s, e, label="FINDING", alignment_mode="expand") for s, e in item["spans"]
        ]
        doc.ents = filter_spans([sp for sp in spans if sp is not None])
        doc = context(doc)
        by_span = {(e.start_char, e.end_char): e for e in doc.ents}
        row = []
        for s, e in item["spans"]:
            ent = next((x for (a, b), x in by_span.items() if a <= s and e <= b), None)
            row.append(
                [bool(ent._.is_negated), bool(ent._.is_uncertain)] if ent else [False, False]
            )
        flags.append(row)
    seconds = time.perf_counter() - t0
    Path(dst).write_text(json.dumps({"seconds": seconds, "flags": flags}), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
