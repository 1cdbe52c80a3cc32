"""NegEx over tokens: the algorithm of negspacy's ``Negex`` component (pseudo cues mask
the triggers they cover, termination cues and sentence starts bound clauses, a preceding
trigger before a finding or a following trigger after it within its clause sets the flag),
without spaCy Docs. The cue lists are negspacy termsets (``extractors.reports.lexicon``)."""

from __future__ import annotations

import itertools
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
        out = []
        for i, w in enumerate(lower):
            for words, kind in self.by_first.get(w, ()):
                k = len(words)
                if k == 1 or (i + k <= n and tuple(lower[i : i + k]) == words):
                    out.append((kind, i, i + k))
        return out

    def flags(self, toks: Tokens, spans: Sequence[tuple[int, int]]) -> list[bool]:
        """For each (start, end) token span: whether a trigger of its clause applies."""
        cues = self.cues(toks)
        pseudo = [(s, e) for kind, s, e in cues if kind == "pseudo"]
        pre, fol, term = [], [], []
        for kind, s, e in cues:
            if kind == "pseudo" or any(ps <= s <= pe for ps, pe in pseudo):
                continue
            (pre if kind == "pre" else fol if kind == "fol" else term).append((s, e))
        starts = sorted([a for a, _ in toks.sents] + [s for s, _ in term] + [len(toks)])
        bounds = list(itertools.pairwise(starts))
        out = [False] * len(spans)
        for lo, hi in bounds:
            inside = [j for j, (s, e) in enumerate(spans) if lo <= s and e <= hi and s < e]
            if not inside:
                continue
            sub_pre = [s for s, _ in pre if lo <= s < hi]
            sub_fol = [e for s, e in fol if lo <= s < hi]
            for j in inside:
                s, e = spans[j]
                if any(p < s for p in sub_pre) or any(f > e for f in sub_fol):
                    out[j] = True
        return out
