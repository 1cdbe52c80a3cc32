"""Where the long form of a short form defined in parentheses begins ("chronic obstructive
pulmonary disease (COPD)", "maximum standardized uptake value (MSUV)"): the algorithm of
Schwartz & Hearst (2003), as scispaCy's abbreviation detector uses it, without spaCy."""

from __future__ import annotations


def long_form_start(text: str, short: str) -> int | None:
    """Where in ``text`` (the words before "(SHORT)") the long form of ``short`` begins:
    each letter of the short form, last to first, is found in the text going backwards, the
    first one at the start of a word; None when they are not all there."""
    li, si = len(text) - 1, len(short) - 1
    while si >= 0:
        c = short[si].lower()
        if not c.isalnum():
            si -= 1
            continue
        while (li >= 0 and text[li].lower() != c) or (
            si == 0 and li > 0 and text[li - 1].isalnum()
        ):
            li -= 1
        if li < 0:
            return None
        li -= 1
        si -= 1
    return li + 1
