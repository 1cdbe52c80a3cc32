"""Report text de-identification: the one module every record that carries report text
goes through (CT report phrases, PET report sentences, chest X-ray report sentences).

``find_phi(text)`` returns the spans of protected health information with their kind;
``deidentify(text)`` replaces each with a placeholder of its kind ("[name]", "[date]",
"[id]", ...). Removed: names (after a title, before a credential, after the words that
introduce one, or a known first name with a surname), record numbers and other ids,
dates in every common form and times, ages over 89 (HIPAA Safe Harbor; younger ages stay),
phone and fax numbers, social security numbers, street addresses, cities and ZIP codes,
e-mail addresses and URLs. Kept as they are: the marks of text other de-identifiers
removed ("XXXX" of IU X-ray, "___" and "[**...**]" of MIMIC) and this module's own
placeholders, so it is idempotent. Measurements, SUV values, slice and series numbers
("(4:87)", "image 45", "T12") stay. Rules only (``extractors.deid.rules`` says why);
measured by ``medsg bench deid``."""

from __future__ import annotations

import re
from dataclasses import dataclass

from extractors.deid.names import NOT_NAMES
from extractors.deid.rules import RULES

DEID_VERSION = "1"
PLACEHOLDERS = {
    "name": "[name]",
    "id": "[id]",
    "ssn": "[id]",
    "date": "[date]",
    "age": "[age]",
    "phone": "[phone]",
    "address": "[address]",
    "geo": "[location]",
    "email": "[email]",
    "url": "[url]",
    "time": "[time]",
}
# marks of earlier de-identification, and our own placeholders: never touched
_KEEP = re.compile(
    r"X{2,}|_{2,}|\[\*\*.*?\*\*\]|\[(?:" + "|".join(p[1:-1] for p in PLACEHOLDERS.values())
    + r")\]"
)  # fmt: skip
_WORD = re.compile(r"[\w']+")


@dataclass(frozen=True)
class Phi:
    """One span of protected health information in a text."""

    kind: str  # a key of PLACEHOLDERS
    start: int
    end: int
    text: str


def _trim_report_words(text: str, start: int, end: int) -> tuple[int, int]:
    """A name or place span without the report words at its ends ("Findings", "Emergency
    Department"): context rules take capitalised words, and these are not names."""
    words = [(m.start(), m.end()) for m in _WORD.finditer(text, start, end)]
    while words and text[words[0][0] : words[0][1]] in NOT_NAMES:
        words.pop(0)
    while words and text[words[-1][0] : words[-1][1]] in NOT_NAMES:
        words.pop()
    return (words[0][0], words[-1][1]) if words else (start, start)


def _minus(spans: list[tuple[int, int]], keep: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out = []
    for s, e in spans:
        for ks, ke in keep:
            if ke <= s or ks >= e:
                continue
            if ks > s:
                out.append((s, ks))
            s = max(s, ke)
            if s >= e:
                break
        if s < e:
            out.append((s, e))
    return out


def find_phi(text: str) -> list[Phi]:
    """Every PHI span of ``text``, in order, not overlapping (where matches overlap, the
    earlier rule takes the overlap), never inside a mark of earlier de-identification."""
    if not text:
        return []
    keep = [(m.start(), m.end()) for m in _KEEP.finditer(text)]
    taken: list[tuple[int, int, str]] = []
    for kind, pattern in RULES:
        at = 0
        while (m := pattern.search(text, at)) is not None:
            at = m.start() + 1  # every start: "James Wilson Emily Davis" is two names
            group = "phi" if "phi" in pattern.groupindex else 0
            s, e = m.span(group)
            if kind in ("name", "geo"):
                s, e = _trim_report_words(text, s, e)
            blocked = keep + [(ts, te) for ts, te, _ in taken]
            for ps, pe in _minus([(s, e)], sorted(blocked)):
                if text[ps:pe].strip(" ,.;:-"):
                    taken.append((ps, pe, kind))
    merged: list[tuple[int, int, str]] = []
    for s, e, k in sorted(taken):  # "Smith, John": one name; touching spans: one
        gap = text[merged[-1][1] : s] if merged else None
        if merged and (not gap or (k == merged[-1][2] == "name" and not gap.strip(" ,"))):
            merged[-1] = (merged[-1][0], e, merged[-1][2])
        else:
            merged.append((s, e, k))
    return [Phi(k, s, e, text[s:e]) for s, e, k in merged]


def deidentify(text: str) -> str:
    """``text`` with every PHI span replaced by the placeholder of its kind."""
    out, at = [], 0
    for phi in find_phi(text):
        out += [text[at : phi.start], PLACEHOLDERS[phi.kind]]
        at = phi.end
    out.append(text[at:])
    return "".join(out)


__all__ = ["DEID_VERSION", "PLACEHOLDERS", "Phi", "deidentify", "find_phi"]
