"""Token phrase rules, matched without spaCy's per-token regex predicates.

A rule is a phrase of the lexicon's small pattern language (``extractors.reports.lexicon``):
words separated by spaces, each word a ``|`` list of alternatives, an alternative ending in
``*`` a prefix ("fractur*"), a word ending in ``?`` optional, ``_N`` up to N tokens that are
not punctuation. Optional words are expanded when the rules are built; a token is tested
against a word by a set lookup and one ``str.startswith`` over a tuple of prefixes; which
rules may start at a token is looked up once per distinct word and cached. Matches are every
(label, start, end) a rule can make, as spaCy's ``Matcher`` returns them; ``longest`` keeps
the longest non-overlapping ones, as ``spacy.util.filter_spans`` does."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence

from extractors.reports.tokens import Tokens

_Word = tuple[frozenset[str], tuple[str, ...]]  # exact words, prefixes
_Element = _Word | int  # an int: a gap of up to that many non-punctuation tokens


def _word(alternatives: str) -> _Word:
    alts = alternatives.split("|")
    exact = frozenset(a for a in alts if not a.endswith("*"))
    prefixes = tuple(a[:-1] for a in alts if a.endswith("*"))
    return exact, prefixes


def expand(phrase: str) -> list[tuple[_Element, ...]]:
    """The optional-free variants of one phrase, as element tuples."""
    slots: list[list[_Element | None]] = []
    for w in phrase.split():
        optional = w.endswith("?") and len(w) > 1
        w = w[:-1] if optional else w
        if w.startswith("_") and w[1:].isdigit():
            slots.append([int(w[1:])])
            continue
        tokens = _tokenized_alternatives(w)
        slots.append([tokens, None] if optional else [tokens])
    out = []
    for combo in itertools.product(*slots):
        elements: list[_Element] = []
        for slot in combo:
            if slot is None:
                continue
            if isinstance(slot, int):
                elements.append(slot)
            else:
                elements.extend(slot)
        while elements and isinstance(elements[0], int):
            elements.pop(0)  # a leading gap matches nothing more than no gap
        if elements:
            out.append(tuple(elements))
    return out


def _tokenized_alternatives(word: str) -> list[_Word]:
    """One word of a pattern; an alternative with punctuation inside ("x-ray", "and/or") is a
    word of its own only when every alternative splits the same way, else it stays whole."""
    from extractors.reports.tokens import tokenize

    parts = [tokenize(a.rstrip("*")).lower for a in word.split("|")]
    if all(len(p) == 1 for p in parts):
        return [_word(word)]
    if len({len(p) for p in parts}) == 1 and all(a.endswith("*") is False for a in word.split("|")):
        return [_word("|".join(col)) for col in zip(*parts, strict=True)]
    return [_word(word)]


class PhraseRules:
    """Labelled phrase rules over tokens; build once, call per text."""

    def __init__(self, rules: Iterable[tuple[str, Sequence[str]]]):
        self.labels: list[str] = []
        self.patterns: list[tuple[_Element, ...]] = []
        for label, phrases in rules:
            for phrase in phrases:
                for pattern in expand(phrase):
                    self.labels.append(label)
                    self.patterns.append(pattern)
        self._by_exact: dict[str, list[int]] = {}
        self._by_prefix: list[tuple[str, int]] = []
        for pid, pattern in enumerate(self.patterns):
            exact, prefixes = pattern[0]  # type: ignore[misc]
            for w in exact:
                self._by_exact.setdefault(w, []).append(pid)
            self._by_prefix += [(p, pid) for p in prefixes]
        self._first: dict[str, tuple[int, ...]] = {}
        # patterns without a gap are matched by a plain loop (no recursion)
        self._plain = [not any(isinstance(el, int) for el in p) for p in self.patterns]

    def _starting(self, word: str) -> tuple[int, ...]:
        hit = self._first.get(word)
        if hit is None:
            ids = set(self._by_exact.get(word, ()))
            ids.update(pid for p, pid in self._by_prefix if word.startswith(p))
            hit = tuple(sorted(ids))
            self._first[word] = hit
        return hit

    def __call__(self, toks: Tokens) -> list[tuple[str, int, int]]:
        """Every (label, start, end) match, by start then rule order."""
        lower, punct = toks.lower, toks.punct
        first = self._first
        for w in set(lower).difference(first):
            self._starting(w)
        hi = len(lower)
        out: list[tuple[str, int, int]] = []
        patterns, labels, plain = self.patterns, self.labels, self._plain
        for i in [i for i, w in enumerate(lower) if first[w]]:
            for pid in first[lower[i]]:
                pattern = patterns[pid]
                n = len(pattern)
                if n == 1:
                    out.append((labels[pid], i, i + 1))
                    continue
                if plain[pid]:
                    end = i + n
                    if end > hi:
                        continue
                    k = i
                    for exact, prefixes in pattern:
                        w = lower[k]
                        if not (w in exact or (prefixes and w.startswith(prefixes))):
                            break
                        k += 1
                    else:
                        out.append((labels[pid], i, end))
                    continue
                ends = _ends(pattern, 1, i + 1, lower, punct, hi)
                for end in dict.fromkeys(ends) if len(ends) > 1 else ends:
                    out.append((labels[pid], i, end))
        return out


def _ends(pattern, k: int, pos: int, lower, punct, hi: int) -> list[int]:
    """Token positions where ``pattern[k:]`` can end when it starts at ``pos``."""
    if k == len(pattern):
        return [pos]
    el = pattern[k]
    if isinstance(el, int):
        out = []
        for skip in range(el + 1):
            if skip and (pos + skip - 1 >= hi or punct[pos + skip - 1]):
                break
            out += _ends(pattern, k + 1, pos + skip, lower, punct, hi)
        return out
    if pos >= hi:
        return []
    w = lower[pos]
    exact, prefixes = el
    if w in exact or (prefixes and w.startswith(prefixes)):
        return _ends(pattern, k + 1, pos + 1, lower, punct, hi)
    return []


def longest(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """The longest non-overlapping spans, earliest first on ties, in text order
    (``spacy.util.filter_spans``)."""
    if not isinstance(spans, list):
        spans = list(spans)
    if len(spans) < 2:
        return spans[:]
    ordered = sorted(spans, key=lambda s: (s[1] - s[0], -s[0]), reverse=True)
    taken: set[int] = set()
    kept = []
    for s, e in ordered:
        if s not in taken and e - 1 not in taken:
            kept.append((s, e))
            taken.update(range(s, e))
    return sorted(kept)
