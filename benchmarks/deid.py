"""The de-identification benchmark behind ``medsg bench deid``.

On the test set of ``evaluation.deid_set`` (the real IU X-ray report sentences when the
real data folder is there, and the project's own CXR, CT and PET sentences), with PHI of
every kind injected:

- recall: the share of injected PHI strings that ``extractors.deid.find_phi`` removes
  whole (every character of the gold string inside a removed span), per kind and in all;
- clinical-word loss: on the same sentences without PHI, the share of words that a
  removed span touches (the report words the de-identifier destroys);
- speed: sentences per second.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from evaluation.deid_set import KINDS, Case, cases
from extractors.deid import deidentify, find_phi


@dataclass
class DeidScore:
    sentences: int = 0
    gold: Counter = field(default_factory=Counter)  # kind -> injected strings
    found: Counter = field(default_factory=Counter)  # kind -> removed whole
    words: int = 0  # words of the clean sentences
    words_lost: int = 0  # of them, touched by a removed span
    missed: list[tuple[str, str]] = field(default_factory=list)  # (gold, sentence)
    lost: list[tuple[str, str]] = field(default_factory=list)  # (removed text, sentence)
    seconds: float = 0.0
    clean_seen: set[str] = field(default_factory=set)

    @property
    def recall(self) -> float:
        total = sum(self.gold.values())
        return sum(self.found.values()) / total if total else 1.0

    @property
    def word_loss(self) -> float:
        return self.words_lost / self.words if self.words else 0.0

    def lines(self) -> list[str]:
        kinds = ", ".join(f"{k} {self.found[k]}/{self.gold[k]}" for k in KINDS if self.gold[k])
        return [
            f"deid: {self.sentences} sentences: recall of injected PHI "
            f"{sum(self.found.values())}/{sum(self.gold.values())} ({100 * self.recall:.2f}%), "
            f"clinical-word loss {self.words_lost}/{self.words} ({100 * self.word_loss:.3f}%), "
            f"{self.sentences / self.seconds if self.seconds else 0:.0f} sentences/s",
            f"deid recall by kind: {kinds}",
            *(f"deid missed: {g!r} in {s!r}" for g, s in self.missed[:20]),
            *(f"deid clinical words lost: {w!r} in {s!r}" for w, s in self.lost[:20]),
        ]


def _words(text: str) -> list[tuple[int, int]]:
    import re

    return [m.span() for m in re.finditer(r"[^\W_]+", text)]


def score_case(case: Case, score: DeidScore) -> None:
    """Add one case to ``score``: its gold strings found or missed, its clean words kept
    or lost."""
    spans = [(p.start, p.end) for p in find_phi(case.text)]
    covered = set()
    for s, e in spans:
        covered.update(range(s, e))
    for kind, s, e in case.gold:
        score.gold[kind] += 1
        # whole: every letter and digit of it removed (spaces and punctuation may stay)
        if all(i in covered for i in range(s, e) if case.text[i].isalnum()):
            score.found[kind] += 1
        else:
            score.missed.append((case.text[s:e], case.text))
    score.sentences += 1
    if case.clean in score.clean_seen:  # an own sentence used again: its words count once
        return
    score.clean_seen.add(case.clean)
    clean = [(p.start, p.end, p.text) for p in find_phi(case.clean)]
    words = _words(case.clean)
    score.words += len(words)
    for ws, we in words:
        if any(s < we and ws < e for s, e, _ in clean):
            score.words_lost += 1
    score.lost += [(t, case.clean) for *_se, t in clean]


def run(realdata: Path | None, json_out: Path | None = None) -> DeidScore:
    score = DeidScore()
    t0 = time.perf_counter()
    for case in cases(realdata):
        score_case(case, score)
    score.seconds = time.perf_counter() - t0
    if json_out is not None:
        payload = {
            "sentences": score.sentences,
            "recall": score.recall,
            "word_loss": score.word_loss,
            "gold": dict(score.gold),
            "found": dict(score.found),
            "words": score.words,
            "words_lost": score.words_lost,
            "missed": score.missed,
            "lost": score.lost,
        }
        json_out.write_text(json.dumps(payload, indent=1, sort_keys=True) + "\n")
    return score


def add_bench_command(bench_sub) -> None:
    """Register ``deid`` under ``medsg bench`` (an argparse sub-parsers object)."""
    from shards.layout import default_realdata_dir

    p = bench_sub.add_parser(
        "deid",
        help="report de-identification: recall of injected PHI, clinical-word loss",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--json", type=Path, default=None, help="also write the figures here")
    p.add_argument("--text", default=None, help="only print this text de-identified")
    p.add_argument(
        "--realdata",
        type=Path,
        default=default_realdata_dir(),
        help="real data folder (its IU X-ray report sentences are used when present)",
    )
    p.set_defaults(func=_cli)


def _cli(args: argparse.Namespace) -> int:
    if args.text is not None:
        print(deidentify(args.text))
        return 0
    realdata = args.realdata if args.realdata.is_dir() else None
    if realdata is None:
        print(f"note: {args.realdata} not found: the project's own sentences only")
    for line in run(realdata, args.json).lines():
        print(line, flush=True)
    return 0
