"""NegEx over tokens: the algorithm of negspacy's ``Negex`` component (pseudo cues mask
the triggers they cover, termination cues and sentence starts bound clauses, a preceding
trigger before a finding or a following trigger after it within its clause sets the flag),
without spaCy Docs. The cue lists are negspacy termsets (``extractors.reports.lexicon``)."""

from __future__ import annotations

import bisect
from collections.abc import Mapping, Sequence

from extractors.reports.tokens import Tokens, tokenize

_KINDS = {
    "pseudo_negations": "pseudo",
    "preceding_negations": "pre",
    "following_negations": "fol",
    "termination": "term",
}


class Negex:
    """One termset, compiled once; ``flags(tokens, spans)`` says which spans it sets."""

    def __init__(self, termset: Mapping[str, Sequence[str]]):
        self.by_first: dict[str, list[tuple[tuple[str, ...], str]]] = {}
        for key, kind in _KINDS.items():
            for phrase in termset[key]:
                words = tuple(tokenize(phrase).lower)
                if words:
                    self.by_first.setdefault(words[0], []).append((words, kind))

    def cues(self, toks: Tokens) -> list[tuple[str, int, int]]:
        """Every cue occurrence (kind, start, end), overlapping ones included."""
        lower = toks.lower
        n = len(lower)
        by_first = self.by_first
        out = []
        for i in [i for i, w in enumerate(lower) if w in by_first]:
            for words, kind in by_first[lower[i]]:
                k = len(words)
                if k == 1 or (i + k <= n and tuple(lower[i : i + k]) == words):
                    out.append((kind, i, i + k))
        return out

    def flags(self, toks: Tokens, spans: Sequence[tuple[int, int]]) -> list[bool]:
        """For each (start, end) token span: whether a trigger of its clause applies. A
        clause runs from a sentence start or a termination cue to the next one; a span
        that crosses a clause end is in none (as negspacy reads ``Span.ents``)."""
        cues = self.cues(toks)
        pseudo = [(s, e) for kind, s, e in cues if kind == "pseudo"]
        pre, fol, term = [], [], []
        for kind, s, e in cues:
            if kind == "pseudo" or (pseudo and any(ps <= s <= pe for ps, pe in pseudo)):
                continue
            (pre if kind == "pre" else fol if kind == "fol" else term).append((s, e))
        if not pre and not fol:
            return [False] * len(spans)
        starts = sorted([a for a, _ in toks.sents] + [s for s, _ in term] + [len(toks)])
        out = []
        for s, e in spans:
            k = bisect.bisect_right(starts, s)
            lo, hi = starts[k - 1], starts[k] if k < len(starts) else len(toks)
            out.append(
                e <= hi
                and (
                    any(lo <= p < s for p, _ in pre)
                    or any(lo <= fs < hi and fe > e for fs, fe in fol)
                )
            )
        return out
