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
    """Termsets compiled once, scanned together; ``flags(tokens, spans)`` says, for each
    termset, which spans it sets."""

    def __init__(self, termsets: Mapping[str, Mapping[str, Sequence[str]]]):
        self.names = list(termsets)
        self.by_first: dict[str, list[tuple[tuple[str, ...], int, str]]] = {}
        for t, termset in enumerate(termsets.values()):
            for key, kind in _KINDS.items():
                for phrase in termset[key]:
                    words = tuple(tokenize(phrase).lower)
                    if words:
                        self.by_first.setdefault(words[0], []).append((words, t, kind))
        # first words of the triggers: without one, no span is set, whatever else is there
        self._trigger_first = frozenset(
            words[0]
            for entries in self.by_first.values()
            for words, _t, kind in entries
            if kind in ("pre", "fol")
        )
        # the same cues by first word, then by length, then by words: a token's cues are
        # found with one dictionary lookup per cue length (cue order kept within a length)
        self._by_length: dict[str, list[tuple[int, dict[tuple[str, ...], list]]]] = {}
        for first, entries in self.by_first.items():
            lengths: dict[int, dict[tuple[str, ...], list[tuple[int, str]]]] = {}
            for words, t, kind in entries:
                lengths.setdefault(len(words), {}).setdefault(words, []).append((t, kind))
            self._by_length[first] = sorted(lengths.items())

    def cues(self, toks: Tokens) -> list[list[tuple[str, int, int]]]:
        """Every cue occurrence (kind, start, end) of each termset, overlapping ones too
        (in no particular order within a token: ``_flags`` does not depend on it)."""
        lower = toks.lower
        n = len(lower)
        by_length = self._by_length
        out: list[list[tuple[str, int, int]]] = [[] for _ in self.names]
        for i in [i for i, w in enumerate(lower) if w in by_length]:
            for k, table in by_length[lower[i]]:
                if i + k > n:
                    break
                hit = table.get(tuple(lower[i : i + k]))
                if hit is not None:
                    for t, kind in hit:
                        out[t].append((kind, i, i + k))
        return out

    def flags(self, toks: Tokens, spans: Sequence[tuple[int, int]]) -> dict[str, list[bool]]:
        """For each termset and each (start, end) token span: whether a trigger of its
        clause applies. A clause runs from a sentence start or a termination cue to the next
        one; a span that crosses a clause end is in none (as negspacy reads ``Span.ents``)."""
        if self._trigger_first.isdisjoint(toks.lower):  # no trigger word at all: nothing set
            return {name: [False] * len(spans) for name in self.names}
        return {
            name: _flags(cues, toks, spans)
            for name, cues in zip(self.names, self.cues(toks), strict=True)
        }


def _flags(cues, toks: Tokens, spans: Sequence[tuple[int, int]]) -> list[bool]:
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
                any(lo <= p < s for p, _ in pre) or any(lo <= fs < hi and fe > e for fs, fe in fol)
            )
        )
    return out
