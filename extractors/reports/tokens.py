"""A plain tokenizer and sentence splitter for report text, close to spaCy's blank English
on report prose (hyphens, slashes and brackets split off, but "and/or" and "w/o" kept whole;
"cannot" read as "can not"; decimals kept whole; "vs." and a few titles do not end a
sentence) at a fraction of its cost: one compiled regex, no Doc.

Why not spaCy's tokenizer: the report extractor reads the 227,835 MIMIC-CXR reports and more;
its rules need token boundaries, lower-case forms, punctuation flags and sentences, nothing
else, and building Docs cost more than all the rules together."""

from __future__ import annotations

import bisect
import itertools
import operator
import re
import unicodedata
from dataclasses import dataclass

_TOKEN = r"\b(?:and/or|w/o)\b|\bcan(?=not\b)|\d+(?:\.\d+)+|[^\W_]+|\S"
# a token and the space before it, in lower-case text
_SPACED_TOKEN_RE = re.compile(rf"\s*(?:{_TOKEN})")
# the same on text without "_", "/" or "cannot", where only its decimals and its last two
# alternatives can match (most sentences; about twice as fast)
_SPACED_PLAIN_RE = re.compile(r"\s*(?:\d+(?:\.\d+)+|\w+|[^\w\s])")
# words whose following period is part of them (spaCy's tokenizer exceptions that occur in
# reports): the period does not end the sentence
_SENTENCE_PUNCT = frozenset({".", "!", "?"})
_PUNCT = frozenset({".", "!", "?"})
_PUNCT = frozenset(c for c in map(chr, range(0x3000)) if unicodedata.category(c).startswith("P"))


_P_CLASS = "".join(re.escape(c) for c in sorted(_PUNCT) if c < "\u2100")
# a sentence closer (not the point of a decimal), the punctuation and space after it, and
# the start of the next sentence: a character that is neither space nor punctuation
# (it starts with a character set, so the regex engine skips ahead to candidates quickly)
# a period right before a lower-case letter, digit or "/" is inside a token (an e-mail,
# a URL, a host name: "example.org"), never a sentence end
_BOUNDARY_RE = re.compile(
    rf"[.!?](?![a-z0-9/@_-])(?:(?<=[!?])|(?<!\d\.)|(?!\d))[\s{_P_CLASS}]*(?=[^\s{_P_CLASS}])"
)
# words whose period belongs to them (spaCy's tokenizer exceptions that occur in reports)
_WORD_BEFORE_RE = re.compile(r"[A-Za-z.]*$")
_ABBREVIATIONS = frozenset({"vs", "dr", "mr", "mrs", "ms", "prof", "st", "approx", "e.g", "i.e"})


# the last two characters before a period that may end an abbreviation (a cheap test first)
_ABBREVIATION_ENDS = frozenset({w[-2:] for w in _ABBREVIATIONS} | {" e", " i", "(e", "(i"})


def _abbreviation_period(text: str, q: int) -> bool:
    """Whether the period at ``q`` belongs to an abbreviation ("vs.", "e.g.", "i.e.")."""
    word = _WORD_BEFORE_RE.search(text, max(0, q - 8), q).group(0).lower().lstrip(".")
    return word in _ABBREVIATIONS or (
        word in ("e", "i") and text[q + 1 : q + 3].lower() in ("g.", "e.")
    )


def sentence_bounds(text: str) -> list[tuple[int, int]]:
    """(start, end) characters of each sentence: one ends after ".", "!" or "?" and any
    punctuation right after it, as spaCy's sentencizer does; a period that belongs to an
    abbreviation ("vs.", "e.g.") or a decimal ends none. No leading or trailing space."""
    out = []
    start = len(text) - len(text.lstrip())
    for m in _BOUNDARY_RE.finditer(text, start):
        q = m.start()
        if (
            text[q] == "."
            and text[q - 2 : q].lower() in _ABBREVIATION_ENDS
            and (_abbreviation_period(text, q))
        ):
            continue
        end = m.end()
        out.append((start, len(text[start:end].rstrip()) + start))
        start = end
    tail = text[start:].rstrip()
    if tail:
        out.append((start, start + len(tail)))
    return out


def is_punct(text: str) -> bool:
    """spaCy's ``is_punct``: a token of one Unicode punctuation character."""
    return text in _PUNCT or (len(text) == 1 and unicodedata.category(text).startswith("P"))


@dataclass
class Tokens:
    """The tokens of one text: lower-case forms, character spans, punctuation flags, and
    sentences as token ranges (``sent_of[i]`` is the sentence of token ``i``)."""

    text: str
    lower: list[str]
    starts: list[int]
    ends: list[int]
    punct: list[bool]
    sents: list[tuple[int, int]]
    sent_of: list[int]
    low: str = ""  # the text in lower case

    def __len__(self) -> int:
        return len(self.lower)

    def span_text(self, a: int, b: int) -> str:
        return self.text[self.starts[a] : self.ends[b - 1]] if b > a else ""

    def span_lower(self, a: int, b: int) -> str:
        """``span_text(a, b).lower()``."""
        if len(self.low) != len(self.text):  # lower case of another length ("İ"): as it was
            return self.span_text(a, b).lower()
        return self.low[self.starts[a] : self.ends[b - 1]] if b > a else ""


def tokenize(text: str, one_sentence: bool = False) -> Tokens:
    """Tokens and sentences of ``text`` (sentences as ``sentence_bounds`` finds them, or
    the whole text as one when the caller knows it is one)."""
    low = text.lower()
    plain = not ("_" in low or "/" in low or "cannot" in low)
    # each token with the space before it
    spaced = (_SPACED_PLAIN_RE if plain else _SPACED_TOKEN_RE).findall(low)
    lower = list(map(str.lstrip, spaced))  # tokens never start with a space
    ends = list(itertools.accumulate(map(len, spaced)))
    starts = list(map(operator.sub, ends, map(len, lower)))
    punct = list(map(_PUNCT.__contains__, lower))
    n = len(lower)
    if one_sentence:
        return Tokens(text, lower, starts, ends, punct, [(0, n)] if n else [], [0] * n, low)
    sents: list[tuple[int, int]] = []
    sent_of: list[int] = []
    a = 0
    for _s, e in sentence_bounds(text):
        b = bisect.bisect_left(starts, e, a)
        if b > a:
            sent_of += [len(sents)] * (b - a)
            sents.append((a, b))
            a = b
    if a < n:  # tokens after the last sentence's end (cannot happen; kept safe)
        sent_of += [len(sents)] * (n - a)
        sents.append((a, n))
    return Tokens(text, lower, starts, ends, punct, sents, sent_of, low)
