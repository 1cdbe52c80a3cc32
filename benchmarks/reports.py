"""``medsg bench reports``: figures and speed of the report extractor (printed, never
pass/fail).

1. Figures against the MeSH coding (``extractors.reports.evaluate``) on the 800 IU X-ray
   reports the rules were written on, and on the OpenI reports they were not
   (``extractors.reports.openi``: a dev half and a held-apart half), when present.
2. Speed on one core (the process is pinned to one CPU), best of ``--repeats``, each repeat
   from a cold sentence cache: reports per second, next to spaCy's blank English tokenizer
   plus sentencizer on the same reports, and their ratio.
3. ``--peer medspacy``: medspaCy's ConText on the same 800 reports, run in its own venv
   (``benchmarks.reports_peer``)."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from benchmarks.cores import pin_one_core
from extractors.reports.evaluate import Report, evaluate, load_iu_reports
from extractors.reports.extract import clear_sentence_cache, extract_findings


def rates(texts: list[str], repeats: int) -> dict[str, float]:
    """Best reports per second of ``extract_findings`` (each run from a cold sentence cache)
    and of ``spacy.blank("en")`` + sentencizer (``nlp.pipe``), over ``repeats`` rounds that
    run one after the other, so both see the same load on a shared machine; by the wall
    clock and by this process's CPU time (what one core gives when others share it)."""
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("sentencizer")
    list(nlp.pipe(texts[:50]))

    def ours() -> None:
        clear_sentence_cache()
        for t in texts:
            extract_findings(t)

    def theirs() -> None:
        for doc in nlp.pipe(texts, batch_size=256):
            list(doc.sents)

    best = {"ours": 0.0, "spacy": 0.0, "ours_cpu": 0.0, "spacy_cpu": 0.0}
    for _ in range(repeats):
        for name, run in (("ours", ours), ("spacy", theirs)):
            t0, c0 = time.perf_counter(), time.process_time()
            run()
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            best[name] = max(best[name], len(texts) / wall)
            best[name + "_cpu"] = max(best[name + "_cpu"], len(texts) / max(cpu, 1e-9))
    return best


def _figures(name: str, reports: list[Report]) -> list[str]:
    clear_sentence_cache()
    ev = evaluate(reports)
    return [f"-- {name}: {len(reports)} reports", *ev.lines()[1:]]


def run_reports(args: argparse.Namespace) -> int:
    from shards.layout import default_realdata_dir

    path = (
        Path(args.reports)
        if args.reports
        else (default_realdata_dir() / "reports" / "iu_xray" / "indiana_reports.csv")
    )
    if not path.is_file():
        print(f"medsg bench reports: {path} not found (set MEDSG_REALDATA or --reports)")
        return 2
    core = pin_one_core()
    reports = load_iu_reports(path)
    texts = [r.text for r in reports]
    print(f"{path}")
    for line in _figures("IU X-ray, the reports the rules were written on", reports):
        print(line)
    from extractors.reports.openi import default_openi_path, load_openi

    openi = Path(args.openi) if getattr(args, "openi", None) else default_openi_path()
    if openi.exists():
        tuned = {int(r.uid) for r in reports if r.uid.isdigit()}
        for split, what in (("dev", "rules may be written on it"), ("heldout", "held apart")):
            rows = load_openi(openi, tuned, split)
            for line in _figures(f"OpenI {split} ({what})", rows):
                print(line)
    else:
        print(f"-- OpenI reports: {openi} not found (scripts/fetch_openi_reports.sh)")
    r = rates(texts, args.repeats)
    print(f"speed, {core}, best of {args.repeats} alternating rounds, ours from a cold cache:")
    print(
        f"  extract_findings: {r['ours']:,.0f} reports/s wall clock, {r['ours_cpu']:,.0f} per "
        f"CPU second (target: at least 5,000)"
    )
    print(
        f"  spaCy blank English tokenizer + sentencizer: {r['spacy']:,.0f} reports/s wall "
        f"clock, {r['spacy_cpu']:,.0f} per CPU second"
    )
    print(
        f"  ratio extract_findings / spaCy tokenizer: {r['ours'] / r['spacy']:.2f} wall clock, "
        f"{r['ours_cpu'] / r['spacy_cpu']:.2f} CPU time"
    )
    if getattr(args, "peer", None) == "medspacy":
        from benchmarks.reports_peer import run_medspacy

        for line in run_medspacy(path, reports, getattr(args, "peer_python", None)):
            print(line)
    return 0
