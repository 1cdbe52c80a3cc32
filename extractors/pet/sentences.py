"""Sentences and token starts of PET/CT report text, without spaCy: what the SUV mention
reader needs (sentence spans; where tokens start, to count the tokens between two places),
from a few compiled regexes.

Sentences end after ".", "!" or "?" (and any punctuation right after), as spaCy's
sentencizer does, except after the abbreviations reports use ("img.", "approx.", "No.",
"vs.") and the point of a decimal. Line breaks: a blank line, or a new line that starts a
numbered item, a bullet, a heading ("FINDINGS:") or an upper-case word, starts a sentence;
other line breaks (wrapped text) do not. A measurement block of a vendor's workstation
("SUVmax: 5.12" / "SUVmean: 3.4" / "Slice of max: 201", one per line) stays one sentence."""

from __future__ import annotations

import re
from typing import cast

_ABBREVIATIONS = frozenset(
    {"approx", "max", "img", "im", "no", "sl", "ser", "pt", "dr", "fig", "e.g", "i.e", "vs"}
    | {"cf", "resp", "prev", "incl", "lt", "rt", "mid"}
)
# A token: a number with its decimals ("\d+(?:[.,]\d+)*"), a word ("[^\W\d_]+") or one other
# non-space character. Written as its first character, then the rest its kind takes (a
# lookbehind tells the kind), so that the search skips whitespace in one step (issue 11).
_TOKEN_RE = re.compile(r"\S(?:(?<=\d)\d*(?:[.,]\d+)*|(?<=[^\W\d_])[^\W\d_]*|)")
# The same tokens in ASCII text, where a word is [A-Za-z]+ and a digit [0-9] (cheaper
# classes than Unicode categories; "\S" stays: Unicode white space holds \x1c-\x1f).
_ASCII_TOKEN_RE = re.compile(r"[A-Za-z]+|[0-9]+(?:[.,][0-9]+)*|\S")
_START = re.Match.start
_PUNCT = r"""!"#%&'()*,\-./:;?@\[\\\]_{}"""
# a period right before a lower-case letter, digit or "/" is inside a token (an e-mail,
# a URL, a host name: "example.org"), never a sentence end
_CLOSER = rf"[.!?](?![a-z0-9/@_-])(?:(?<=[!?])|(?<!\d\.)|(?!\d))[\s{_PUNCT}]*(?=[^\s{_PUNCT}])"
_CLOSER_RE = re.compile(_CLOSER)
# Speed (issue 11): in text without "!" or "?", the same pattern opening with what its
# "[.!?]" can match there, "\.": a literal, which the search skips to (a class it tests at
# each character)
_PERIOD_CLOSER_RE = re.compile(_CLOSER.replace("[.!?]", r"\.", 1))
_WORD_BEFORE_RE = re.compile(r"[A-Za-z.]*$")
# a line break that starts a sentence: a blank line, or a new line opening an item or heading
_LINE_BREAK_RE = re.compile(
    r"\n[ \t]*\n\s*(?=\S)|\n[ \t]*(?=(?:\d+[.)]|[-*•]|[A-Z][A-Z ]{2,}:?|[A-Z]{2,}\b)(?:\s|$))"
)


_WORD_BEFORE_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.")


def _abbreviation_period(text: str, q: int) -> bool:
    if q == 0 or text[q - 1] not in _WORD_BEFORE_CHARS:  # no word before ("5.2."): not one
        return False  # (the word below would be "", neither an abbreviation nor "e" / "i")
    # (the pattern matches at the end, if nowhere else)
    before = cast(re.Match[str], _WORD_BEFORE_RE.search(text, max(0, q - 8), q))
    word = before.group(0).lower().lstrip(".")
    return word in _ABBREVIATIONS or (
        word in ("e", "i") and text[q + 1 : q + 3].lower() in ("g.", "e.")
    )


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each sentence, without leading or trailing space."""
    closer = _CLOSER_RE if "!" in text or "?" in text else _PERIOD_CLOSER_RE
    cuts = [
        m.end()
        for m in closer.finditer(text)
        if text[m.start()] != "." or not _abbreviation_period(text, m.start())
    ]  # (in order, each once)
    if "\n" in text:  # (every line break starts with one)
        cuts = sorted({*cuts, *(m.end() for m in _LINE_BREAK_RE.finditer(text))})
    cuts.append(len(text))
    out = []
    start = 0
    for cut in cuts:
        kept = text[start:cut].lstrip()
        if kept:  # (the piece without its leading and trailing space)
            first = cut - len(kept)
            out.append((first, first + len(kept.rstrip())))
        start = cut
    return out


_SPACE = " \t\n\r\x0b\x0c\x1c\x1d\x1e\x1f"  # (the ASCII characters "\s" and isspace() take)


def _kind(byte: int) -> int:
    char = chr(byte)
    if char.isascii() and char.isalpha():
        return 1
    return 2 if char.isdigit() else 4 if char in ".," else 0 if char in _SPACE else 8


# each ASCII character's kind, a bit: letter 1, digit 2, "." or "," 4, other non-space 8
_KINDS = bytes(_kind(byte) if byte < 128 else 0 for byte in range(256))
_ONES = int.from_bytes(b"\x01" * 65536, "little")  # (a 1 in each byte, for 65,536 characters)


def token_marks(sentence: str) -> bytes:
    """A byte per character of the sentence: 1 where a token starts (words, numbers with
    their decimals, single punctuation marks), else 0. (Counting the tokens between two
    places is then one ``count``, the n-th token start before a place one match over the
    marks read backwards.)"""
    if not sentence.isascii() or len(sentence) > 65536:
        pattern = _ASCII_TOKEN_RE if sentence.isascii() else _TOKEN_RE
        marks = bytearray(len(sentence))
        for start in map(_START, pattern.finditer(sentence)):
            marks[start] = 1
        return bytes(marks)
    # Speed (issue 11): where _ASCII_TOKEN_RE's matches start, from each character's kind
    # as one byte of an integer ("x << 8": x of the character before), not match by match.
    # A letter starts a token after a non-letter; a digit after neither a digit nor a digit
    # and "." / ","; "." / "," unless between digits; any other non-space always.
    raw = sentence.encode("ascii")
    kinds = int.from_bytes(raw.translate(_KINDS), "little")
    letters, digits, points = kinds & _ONES, (kinds >> 1) & _ONES, (kinds >> 2) & _ONES
    before = digits << 8
    starts = (
        (letters & ~(letters << 8))
        | (digits & ~before & ~((points & before) << 8))
        | (points & ~(before & (digits >> 8)))
        | ((kinds >> 3) & _ONES)
    )
    return starts.to_bytes(len(raw), "little")  # (a start is a byte 1)
