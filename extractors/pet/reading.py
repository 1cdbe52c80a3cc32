"""How well and how fast the SUV mention reader reads report text (printed by
``medsg bench pet``; never a pass/fail test).

- ``score``: pair precision and recall of (SUV, slice) lesion pairs, and how many prior,
  reference or physiologic values came back as lesions, against gold values (the held-apart
  passages of ``extractors.pet.heldout``).
- ``reading_rate``: sentences per second of ``extract_suv_mentions`` on report texts, best of
  a few runs (the caller pins the process to one core)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from extractors.pet.report import LESION, extract_suv_mentions
from extractors.pet.sentences import sentence_spans


@dataclass
class ReadingScore:
    passages: int = 0
    true_pairs: int = 0
    predicted_pairs: int = 0
    gold_pairs: int = 0
    non_lesion: int = 0  # gold values that are not lesions
    non_lesion_as_lesion: int = 0
    misses: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.true_pairs / self.predicted_pairs if self.predicted_pairs else 1.0

    @property
    def recall(self) -> float:
        return self.true_pairs / self.gold_pairs if self.gold_pairs else 1.0

    def lines(self, name: str) -> list[str]:
        return [
            f"report reading, {name}: {self.passages} passages, pair precision "
            f"{self.precision:.3f} ({self.true_pairs}/{self.predicted_pairs}), pair recall "
            f"{self.recall:.3f} ({self.true_pairs}/{self.gold_pairs}) (targets 0.99 / 0.98); "
            f"prior, reference or physiologic values read as lesions: "
            f"{self.non_lesion_as_lesion} of {self.non_lesion} (target 0)"
        ]


def score(passages: Sequence[tuple[str, Sequence[tuple[float, str, int | None]]]]) -> ReadingScore:
    """Lesion (SUV, slice) pairs of the reader against gold ones."""
    out = ReadingScore()
    for text, gold in passages:
        out.passages += 1
        mentions = extract_suv_mentions(text)
        want = {(v, s) for v, role, s in gold if role == LESION and s is not None}
        got = {(m.suv, m.slice) for m in mentions if m.role == LESION and m.slice is not None}
        out.gold_pairs += len(want)
        out.predicted_pairs += len(got)
        out.true_pairs += len(want & got)
        wrong = [
            v
            for v, role, _s in gold
            if role != LESION and any(m.suv == v and m.role == LESION for m in mentions)
        ]
        out.non_lesion += sum(role != LESION for _v, role, _s in gold)
        out.non_lesion_as_lesion += len(wrong)
        if want != got or wrong:
            out.misses.append(text)
    return out


def reading_rate(texts: Sequence[str], runs: int = 5) -> tuple[int, int, float, float]:
    """(sentences, sentences with an SUV value, best sentences per second of wall time, best
    sentences per second of this process's CPU time). The CPU figure does not count time the
    process waited for a core, so it holds on a machine shared with other work."""
    n_sentences = sum(len(sentence_spans(t)) for t in texts)
    with_value = len(
        {(m.sentence_start, i) for i, t in enumerate(texts) for m in extract_suv_mentions(t)}
    )
    best = best_cpu = 0.0
    for _ in range(max(1, runs)):
        t0, c0 = time.perf_counter(), time.process_time()
        for t in texts:
            extract_suv_mentions(t)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        best = max(best, n_sentences / wall if wall > 0 else 0.0)
        best_cpu = max(best_cpu, n_sentences / cpu if cpu > 0 else 0.0)
    return n_sentences, with_value, best, best_cpu
