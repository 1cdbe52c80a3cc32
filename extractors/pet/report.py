"""Reading SUV mentions from PET/CT report text, deterministically.

``extract_suv_mentions(text)`` returns one ``SuvMention`` per SUV value the report states:
the value, the axial slice (or image) number paired with it, its role ("lesion", "prior":
a value of an earlier exam, "reference": background, blood pool, liver, physiologic or
contralateral comparison), the side the sentence gives it, the sentence and offsets.

How (rules over plain regex sentences and token starts, ``extractors.pet.sentences``; a
report's own short form of "standardized uptake value" counts, found as scispaCy's
abbreviation detector finds it but without spaCy, ``extractors.reports.shortforms``):

1. Sentences; inside each, numbers that are not SUV values or slices are set aside first:
   table positions ("slice location -595.14"), coronal / sagittal / MIP image numbers,
   sizes ("2.1 x 1.1 cm"), dates and times, series, levels, segments, counts.
2. Slice references: "slice 104", "image 89", "IM 22", "series 3, image 89", "(4:87)",
   "axial slice 51-53" (a range), "images 104 and 110" (a list), common typos ("iamge").
3. SUV values: the first free number after an SUV keyword (SUVmax, SUV max, maximum SUV,
   SUV of, typos such as SUVnax), numbers listed after it ("3.71 and 3.56", "from 8.1 to
   5.2"), and bare numbers that a prior or reference cue introduces ("previously 2.8",
   "compared to 6.3", "liver 2.3").
4. Roles from cues near each value (window bounded by the neighbouring values): prior cues
   ("previously", "prior", "compared to", "from ... to", a date after the value), reference
   cues ("blood pool", "background", "physiologic", "normal liver", "liver SUV", a
   comparison with the liver or the contralateral side). Anything not cued is a lesion.
5. Slices pair with values by an optimal assignment on token distance (a comma or a
   non-lesion value costs more); "respectively" zips lists (series-and-image lists too);
   values listed together share one slice, and so do the values of a workstation's
   measurement block ("SUVmax: 5.12" / "SUVmean: 3.4" / "Slice of max: 201"). Laterality
   comes from the words of each value's own stretch of the sentence.
6. Issue 11: a sentence that refers back to the finding of the sentence before ("Its SUVmax
   is 7.7.") takes that sentence's one axial slice, within a paragraph; dual-time-point values
   ("10.2 at 60 minutes, rising to 12.5 on the delayed images") are both current; earlier
   scans named in other words ("baseline scan", "in retrospect on the first study") are
   prior; blood, the spleen and the patient's liver are references; uptake the sentence
   itself calls physiologic, reactive or inflammatory gets the role "physiologic" (rejected
   with its own reason code, ``mention_physiologic``).

Speed (issue 11; the rules and what they read are unchanged): the patterns run over every
sentence have lower-case twins without IGNORECASE and with ASCII classes, run over the
lower-case text of plain ASCII sentences (``_lower_case_twin``; the same spans); a cue
pattern runs only when the sentence holds one of its words, all found in one search
(``_CUE_WORDS_BY_PATTERN``, ``_Sentence.cues``); organ patterns are tried only where
a word starts with the first three letters of one of them (plain text: one search finds
them with their keys, ``_ORGAN_SCAN``); the time, measure and number patterns read a copy
of the text whose digits are all "0" (``_zero_twin``: a literal start the search skips to);
the keyword, slice and letter-led other-number patterns read " " + the text from the
character before a word (``_spaced_twin``: a character class the search skips to, not "\\b"
tried at every place), the digit-led other numbers the zeros text (``_other_number_spans``);
and ASCII token starts come from each character's kind (``sentences.token_marks``, once a
report). The per-sentence logic reads each fact once and skips what cannot apply: a
sentence's cue words are one integer of bits (one per cue pattern), so a role, side or
bare-value test whose words are absent is skipped before any slicing; pairing, list sharing
and stretches short-circuit for sentences without a slice reference or with one value; organ
hits are ordered once a sentence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import NamedTuple, cast

import numpy as np

from extractors.instances import instance_maker
from extractors.pet.mention import SuvMention
from extractors.pet.sentences import sentence_spans, token_marks

LESION, PRIOR, REFERENCE, PHYSIOLOGIC = "lesion", "prior", "reference", "physiologic"
ROLES = (LESION, PRIOR, REFERENCE, PHYSIOLOGIC)


# ---- patterns -------------------------------------------------------------------------------

_NUM = r"\d+(?:\.\d+)?"
_INT = r"\d{1,4}"

# SUV keywords; group "metric" words tell max / peak / mean.
# (Speed, issue 11: every alternative starts at a word boundary with one of the letters of
# the lookahead; testing both once per position, not per alternative, matches the same.
# Letters in lower case, "suv" for SUV: the pattern has a twin for lower-case text,
# ``_lower_case_twin``.)
_KEY_RE = re.compile(
    r"""(?ix)\b(?=[mpas])(?:
    (?P<pre>(?P<pm>max(?:imum|imal)?|peak|mean|average|avg)\.?\s+
        (?:standardi[sz]ed\s+uptake\s+values?|suvs?)(?![a-z]))
    |(?P<long>standardi[sz]ed\s+uptake\s+values?(?:\s+(?P<lm>max(?:imum)?|peak|mean))?(?![a-z]))
    |(?P<suv>s(?:uv|vu|\su\sv)s?(?:\s*[-_(]?\s*(?P<sm>max|nax|mx|mac|maz|amx|mas|ma|mzx|mqx|
        mxa|xam|axm|mac|peak|pk|mean|avg)\.?\)?)?(?![a-z]))
    |(?P<swap>sumvax(?![a-z])))
    """
)
_METRIC = {"peak": "peak", "pk": "peak", "mean": "mean", "avg": "mean", "average": "mean"}
# the groups of the metric words, by number (the same in the pattern's twin)
_PM, _LM, _SM = (_KEY_RE.groupindex[g] for g in ("pm", "lm", "sm"))

# (grouped by first letter, in the same order within a letter: an alternative of another
# letter fails at once, so the groups match as the flat list did, with fewer tries)
_SLICE_WORD = (
    r"(?:s(?:lices?|lcies?|lcie|clices?|lie|l\.)|"
    r"i(?:mages?|mgs?|mg\.?|amges?|mgaes?|mags?|maeg|mge|m\.?))"
)
# "(axial|PET|CT|fused) slice/image [#|no.] N [-|to|through M]"
_SLICE_RE = re.compile(
    rf"""(?ix)
    \b(?=[atpcfsi])(?:(?:axial|transaxial|pet(?:/ct)?|ct|fused)\s+){{0,2}}{_SLICE_WORD}
    (?:\s+of\s+(?:the\s+)?max(?:imum)?)?\s*(?:\#|no\.?|number|num\.?|:)?\s*
    (?P<a>{_INT})(?![\d.]\d|\s*(?:mm|cm|%)\b|\s*[x×]\s*\d)
    (?:\s*(?:-|–|to|through|thru)\s*(?P<b>{_INT})(?![\d.]\d))?
    (?P<more>(?:\s*(?:,\s*and|,|and|&)\s*{_INT}(?![\d.]\d|\s*(?:mm|cm|%)\b))*)
    """
)
_SERIES_IMAGE_RE = re.compile(
    rf"""(?ix)
    (?:\bser(?:ies|\.)?|\bse)\s*\#?\s*(?P<s>\d{{1,3}})\s*[,/;]?\s*(?:and\s+)?
        (?:{_SLICE_WORD})\s*(?:\#|no\.?|:)?\s*(?P<i>{_INT})(?![\d.]\d)
        (?P<more>(?:\s*(?:,\s*and|,|and|&)\s*{_INT}(?![\d.]\d|\s*(?:mm|cm|%)\b))*)
    |\b(?:{_SLICE_WORD})\s*(?:\#|no\.?|:)?\s*(?P<i2>{_INT})\s*(?:of|on|,|/)?\s*
        (?:ser(?:ies|\.)?|se)\s*\#?\s*(?P<s2>\d{{1,3}})(?![\d.]\d)
    |\(\s*(?P<s3>\d{{1,3}})\s*:\s*(?P<i3>{_INT})\s*\)
    """
)
_NON_AXIAL_RE = re.compile(
    rf"""(?ix)
    \b(?P<plane>coronal|sagittal|mip|maximum\s+intensity\s+projection)\s+
    (?:(?:pet|ct|fused)\s+)?(?:{_SLICE_WORD}|view|projection)?\s*(?:\#|no\.?|number|:)?\s*
    (?P<n>{_INT})(?![\d.]\d)
    """
)
_TABLE_RE = re.compile(
    rf"""(?ix)
    \b(?:(?:ct|pet)\s+)?(?:slice|table|couch|bed)\s+(?:location|position|loc\.?|pos\.?|level)
        \s*(?:of|at|is|=|:)?\s*(?:minus|negative|plus|-|\+|−)?\s*{_NUM}(?:\s*mm)?
    |\b(?:location|z)\s*(?:=|:)?\s*(?:minus|-|−)\s*{_NUM}(?:\s*mm)?
    |(?:minus|-|−){_NUM}\s*mm
    """
)
# (both alternatives start with the first digit of a number, matched once up front: the
# search then skips to digits; "\d*" after it is the rest of "\d+". What follows the number
# never starts with a digit or ".", so giving back some of it never helps: "*+", "?+", "++".
# A digit right after another starts no match: the one before it read the same rest, and
# failed, or its match holds this one, "(?<!\d\d)". The units are grouped by first letter;
# each is followed by no letter, so the order of those of a letter changes no match.)
_NUM_REST = r"\d*(?:\.\d+)?"
_NUM_REST_KEPT = r"\d*+(?:\.\d++)?+"
_MEASURE_RE = re.compile(
    rf"""(?ix)\d(?<!\d\d){_NUM_REST_KEPT}\s*+(?:
    (?:x|×|by)\s*{_NUM}(?:\s*(?:x|×|by)\s*{_NUM})?(?:\s*(?:cm|mm))?
    |(?:c[mc]|m(?:m|l|ci|bq|g/dl|mol/l|in(?:ute)?s?|onths?|os?)|%|gbq|kgs?|lbs?|
        h(?:u|ours?|rs?|)|d(?:ays?|)|w(?:eeks?|ks?)|y(?:ears?|rs?|/o|o)|-(?:year|month|day))
        (?![a-z]))
    """
)
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_DATE_RE = re.compile(
    rf"""(?ix)
    \b\d{{1,2}}[/.-]\d{{1,2}}[/.-]\d{{2,4}}\b
    |\b\d{{4}}-\d{{2}}-\d{{2}}\b
    |\b{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}\b
    |\b\d{{1,2}}(?:st|nd|rd|th)?\s+{_MONTH}\s+\d{{4}}\b
    |\b{_MONTH}\s+(?:of\s+)?\d{{4}}\b
    |\b\d{{1,2}}/\d{{4}}\b
    |\b(?:19|20)\d{{2}}\b
    """
)
_TIME_RE = re.compile(r"(?i)\b\d{1,2}:\d{2}(?::\d{2})?\s*(?:am|pm|h)?\b")
# (Speed, issue 11: the word boundary every alternative starts with is tested once, then
# that a word starts there; the keywords are grouped by first letter (same order within a
# letter); "++" never gives back a letter or digit that what follows could not match.
# The alternatives that start with a letter come first, then those that start with a digit,
# its digits matched once: at a place only the alternatives that start with its kind of
# character can match, so this order matches as the pattern's written order did, and each
# kind has a twin of its own, ``_other_number_spans``.)
_OTHER_LETTER_LED = r"""
    (?:s(?:eries|er\.?|e|egments?|eg\.?|tations?|tage|core|acral||/p)|l(?:evels?|esion|umbar|)|
        ribs?|zones?|grade|d(?:eauville(?:\s+score)?|ay)|c(?:ycles?|ervical|)|node|focus|bed|
        phase|week|t(?:horacic|)|vertebrae?|x)\s*\#?\s*\d++[a-z]?\b
    |(?:one|two|three|four|five)\s*(?:of|out\s+of)\s*\d++\b
    |[a-z]++-?\d+\b"""
# Gates (issue 11 speed), lookaheads that every alternative after them implies: from a word
# start, a letter-led alternative matches its word (then a keyword's "." or "/p"), white
# space, "#" or "-", then a digit or the next word ("of" / "out of", "deauville score");
# after the digits of a digit-led one comes white space, "of" / "out of" or a letter.
_OTHER_LETTER_GATE = r"[a-z]++[./]?+[a-z]*+[\s\#-]*+(?:\d|of|out|score)"
_OTHER_DIGIT_LED = r"""\d++(?=[\sa-z])(?:
    \s+(?:[a-z-]++\s+){0,2}?(?:nodes|lesions|foci|nodules|masses|metastases|areas|
        sites|levels|cycles|ribs|vertebrae|times|regions|stations)\b
    |\s*(?:of|out\s+of)\s*\d++\b
    |[a-z]+\b)"""
_OTHER_NUMBER_RE = re.compile(rf"(?ix)\b(?=\w)(?:{_OTHER_LETTER_LED}|{_OTHER_DIGIT_LED})")
# a number not inside another ("(?<![\d.])" before its first digit, tested after it, so that
# the search skips to digits)
_NUMBER_RE = re.compile(rf"\d(?<![\d.]\d){_NUM_REST}(?![\w]|\.\d)")

_PRIOR_BEFORE = re.compile(
    r"""(?ix)\b(?=[bcefhiloprv])(?:previous(?:ly)?|prior|before|formerly|baseline|earlier|
    initially|originally|
    in\s+retrospect|retrospectively|(?:first|initial|original|index)\s+(?:study|scan|exam\w*)|
    compared\s+(?:to|with)|comparison|versus|vs\.?|(?<!range\s)(?<!ranging\s)from|
    had\s+been|last\s+(?:exam|study|scan|pet))\b"""
)
_PRIOR_AFTER = re.compile(
    r"""(?ix)^[\s,;:()\-]*(?:(?:on|in|at|from|during)\s+(?:the\s+|a\s+)?(?:prior|previous|
    preceding|last|baseline|earlier|comparison|old|initial|first|original|pre-?treatment|
    pre-?therapy)\b|
    previously\b|prior\b|before\b|at\s+baseline\b|(?:on|in|from)\s+DATE\b|DATE\b)"""
)
_CURRENT = re.compile(r"(?i)\b(?=[nctpa])(?:now|currently|current|today|presently|at\s+present)\b")
# Cues that always make a value a reference when they lead up to it.
_REF_STRONG = re.compile(
    r"""(?ix)\b(?=[abcdhilmnprst])(?:(?:mediastinal\s+)?(?:background\s+)?blood[\s-]*pool|background|
    (?:mediastinal|aortic|cardiac|intravascular)\s+blood|blood(?=\s*(?:suv|activity|uptake))|
    reference|physiolog(?:ic|ical|ically)|normal\s+(?:liver|hepatic|spleen|splenic|marrow|
    brain|muscle|parenchyma|uptake|activity|tissue|lung)|mediastinal\s+(?:activity|uptake)|
    (?:hepatic|liver|splenic)\s+(?:background|reference|parenchyma|parenchymal|activity|uptake)|
    contralateral\s+(?:side|normal|muscle|tissue|uptake|activity)|threshold|cut-?off|
    considered\s+(?:abnormal|positive|significant)|defined\s+as)\b"""
)
_REF_AFTER = re.compile(
    r"""(?ix)^[\s,(]*(?:(?:in|for|of|within|at|on)\s+(?:the\s+)?(?:normal\s+|background\s+)?
    (?:liver|hepatic\s+\w+|blood[\s-]*pool|mediastin\w*|spleen|aorta|contralateral)|
    (?:normal\s+)?liver\b|(?:mediastinal\s+)?blood[\s-]*pool|background|reference|physiologic)"""
)
_CRITERION_AFTER = re.compile(
    r"""(?ix)^[\s,(]*(?:(?:was|were|is|are|be|been)\s+(?:considered|defined|used|regarded|taken)|
    (?:as\s+(?:the\s+|a\s+)?)?(?:threshold|cut-?off|criterion))"""
)
_REF_ORGAN = re.compile(r"(?i)\b(?=[lhsa])(?:liver|hepatic|spleen|splenic|aorta|aortic)\b")
_LESION_NOUN = re.compile(
    r"(?i)\b(?:lesions?|mass(?:es)?|nodules?|focus|foci|metasta\w*|nodes?|tumou?rs?|"
    r"implants?|deposits?|adenopathy)\b"
)
_COMPARE = re.compile(
    r"""(?ix)\b(?:compared\s+(?:to|with)|relative\s+to|similar\s+to|versus|vs\.?|than|
    equal\s+to|comparable\s+to|same\s+as|ratio)\b"""
)
_COMPARATIVE_DESCRIPTION = re.compile(
    r"(?i)\b(?:above|greater\s+than|higher\s+than|exceeding|more\s+than|over|in\s+excess\s+of|"
    r"out\s+of\s+proportion\s+to)\s+(?:the\s+)?(?:\w+\s+){0,2}$"
)
_LOCATION_PREP = re.compile(
    r"(?i)\b(?:in|within|involving|of|at|throughout|into|near|along)\s+(?:the\s+)?$"
)
_SIDE_RE = re.compile(
    r"""(?ix)\b(?=[blr])(?:(?P<bi>bilateral(?:ly)?|both\s+(?:sides|lungs|axillae|kidneys|adrenals|
    lobes|hila|breasts|hemithoraces|inguinal|axillary))\b
    |(?P<l>left|lt\.?)\b|(?P<r>right|rt\.?)\b)"""
)
# a sentence without an SUV keyword or a short form of one has no value to read
_MAYBE_KEY, _MAYBE_LONG = r"s(?:\s?[uv]\s?[uv]|umv)", r"uptake\s+value"
_MAYBE_VALUE = re.compile(rf"(?i){_MAYBE_KEY}|{_MAYBE_LONG}")
_VENDOR_SLICE = re.compile(r"(?im)^\s*slice\s+of\s+max(?:imum)?\s*[:=]")
# a sentence that refers back to the finding of the sentence before ("Its SUVmax is 7.7.")
_REFERS_BACK = re.compile(
    r"""(?ix)^\s*(?:it|its|this|these|they|their|the\s+(?:same\s+)?(?:lesion|nodule|node|mass|
    focus|finding|abnormality|opacity|deposit|tumou?r)s?|this\s+\w+)\b"""
)
_PARAGRAPH = re.compile(r"\n[ \t]*\n")
_RESPECTIVELY = re.compile(r"(?i)\brespectively\b")
_TIME_POINT = (
    r"(?:(?:at|on)\s+(?:\d+(?:\.\d+)?\s*(?:min\w*|hours?|hrs?|h)|(?:the\s+)?(?:early|"
    r"delayed|late|initial|standard)\s+(?:images?|imaging|scan|phase|acquisition)))"
)
_LIST_GLUE = re.compile(
    rf"""(?ix)^\s*{_TIME_POINT}?\s*(?:,\s*and|,|and|&|/|to|or|then)?\s*
    (?:,?\s*(?:ris\w*|increas\w*|rose|climb\w*|going\s+up)\s+to\s*)?$"""
)
# uptake the text itself calls physiologic or inflammatory: not a lesion (issue 11)
_PHYSIOLOGIC = re.compile(
    r"""(?ix)\b(?=[acdfilprstu])(?:
    (?:favou?r(?:ed|ing|s)?|likely|probably|presumabl[ey]|presumed|consistent\s+with|
        in\s+keeping\s+with|compatible\s+with|suggest(?:s|ing|ive\s+of)?|represent(?:s|ing)?|
        due\s+to|reflect(?:s|ing)?|related\s+to|attributed\s+to|thought\s+to\s+be)
        \s+(?:(?:an?|the|to\s+be|be)\s+)?(?:[a-z]+[\s-]+){0,2}?
        (?:physiolog\w*|inflammat\w*|reactive|infectio\w*|arthrit\w*|arthropath\w*|
        post-?(?:treatment|therapy|radiation|operative|surgical|procedural)|brown\s+fat|
        granulomatous|benign)
    |unchanged\s+over\s+(?:several|multiple|many|numerous|\d+)\s+(?:prior\s+)?(?:studies|
        exams|examinations|scans)
    |post-?treatment\s+inflammation)"""
)

# Organ words of report text -> coarse anatomy keys (extractors.pet.anatomy maps them to
# TotalSegmentator classes).
_ANATOMY_WORDS: dict[str, str] = {
    r"lungs?|pulmonary|lobe|lingula|perihilar": "lung",
    r"liver|hepatic": "liver",
    r"spleen|splenic": "spleen",
    r"kidneys?|renal|perirenal|perinephric": "kidney",
    r"adrenals?": "adrenal",
    r"pancrea(?:s|tic)": "pancreas",
    r"vertebra[el]?|vertebral": "vertebra",
    r"ribs?|costal": "rib",
    r"iliac\s+(?:bone|wing|crest)|ilium|acetabul\w*|pelvic\s+bone|sacrum|sacral": "pelvic_bone",
    r"femur|femoral\s+(?:head|neck|shaft)": "femur",
    r"sternum|sternal": "sternum",
    r"scapula[re]?": "scapula",
    r"humer(?:us|al)": "humerus",
    r"bones?|osseous|skeletal|marrow|lytic|sclerotic": "bone",
    r"bladder": "bladder",
    r"stomach|gastric|gastrohepatic": "stomach",
    r"colon|colonic|pericolonic|pericolic|sigmoid|rectum|rectal|cecum|cecal": "colon",
    r"thyroid": "thyroid",
    r"brain|cerebral|cerebellar": "brain",
    r"heart|cardiac|myocardi\w*|pericardial|epicardial": "heart",
    r"esophag\w*": "esophagus",
    r"prostat\w*": "prostate",
    r"breast": "breast",
    r"axilla(?:e|ry)?": "axilla",
    r"mediastin\w*|paratracheal|subcarinal|prevascular|aortopulmonary": "mediastinum",
    r"hil(?:ar|um|a)": "hilum",
    r"inguinal": "groin",
    r"retroperitone\w*": "retroperitoneum",
    r"para-?aortic|peri-?aortic|aortocaval|aorta|aortic": "aorta",
    r"paracaval|retrocaval|caval": "vena_cava",
    r"porto-?caval|portacaval|porta\s+hepatis|portal": "portal_vein",
    r"iliac\s+chain|(?:common|external|internal)\s+iliac": "iliac_vessels",
    r"cervical|supraclavicular|neck": "neck",
    r"pelvi[sc]|iliac(?!\s+(?:bone|wing|crest))": "pelvis",
}
_ANATOMY_RE = [(re.compile(rf"(?i)\b(?:{k})\b"), v) for k, v in _ANATOMY_WORDS.items()]


def _group_end(alt: str) -> int:
    """Where the group that opens ``alt`` closes."""
    depth = 0
    for i, ch in enumerate(alt):
        depth += (ch == "(") - (ch == ")")
        if depth == 0:
            return i
    raise ValueError(f"organ pattern {alt!r}: unbalanced")


def _first_letters(pattern: str) -> set[str]:
    """The letters an organ pattern of ``_ANATOMY_WORDS`` can start with (each of its
    alternatives starts with a letter or with a group of such alternatives)."""
    out: set[str] = set()
    for alt in _alternatives(pattern):
        if alt.startswith("(?:"):
            out |= _first_letters(alt[3 : _group_end(alt)])
        elif alt[:1].isalpha():
            out.add(alt[0].lower())
        else:  # pragma: no cover - a new pattern of another shape
            raise ValueError(f"organ pattern {alt!r}: starts with neither a letter nor (?:")
    return out


def _first_prefixes(pattern: str, n: int) -> set[str] | None:
    """The ``n`` letters an organ pattern of ``_ANATOMY_WORDS`` can start with, or None when
    some alternative does not start with ``n`` fixed letters (it is then tried by its first
    letter alone)."""
    out: set[str] = set()
    for alt in _alternatives(pattern):
        if alt.startswith("(?:"):
            inner = _first_prefixes(alt[3 : _group_end(alt)], n)
            if inner is None:
                return None
            out |= inner
        elif alt[:n].isalpha() and len(alt) >= n and alt[n : n + 1] not in ("?", "*", "+", "{"):
            out.add(alt[:n].lower())
        else:
            return None
    return out


def _alternatives(pattern: str) -> list[str]:
    """The top-level alternatives of a pattern ("a|(?:b|c)d" -> ["a", "(?:b|c)d"])."""
    alternatives, depth, start = [], 0, 0
    for i, ch in enumerate(pattern):
        depth += ch == "("
        depth -= ch == ")"
        if ch == "|" and depth == 0:
            alternatives.append(pattern[start:i])
            start = i + 1
    alternatives.append(pattern[start:])
    return alternatives


# organ patterns by the letter they start with: each is tried only at a word start with it
_ANATOMY_BY_LETTER: dict[str, list[tuple[re.Pattern[str], str]]] = {}
for _k, (_pattern, _key) in zip(_ANATOMY_WORDS, _ANATOMY_RE, strict=True):
    for _letter in sorted(_first_letters(_k)):
        _ANATOMY_BY_LETTER.setdefault(_letter, []).append((_pattern, _key))


# Organ patterns are indexed by the first three letters of the words they match (issue 11
# speed): of the word starts of a sentence, few start as an organ word does ("suv", "max",
# "lym", "the" do not), and only their patterns are tried.
_PREFIX = 3


def _index_by_prefix() -> tuple[dict[str, list], dict[str, list]]:
    """Organ patterns by the ``_PREFIX`` letters they start with, and, by first letter, those
    that cannot be indexed so (tried at every word start with that letter; they join each
    prefix of it too). Lists keep the order of ``_ANATOMY_RE``."""
    prefixes: dict[str, set[int]] = {}
    letter_only: dict[str, set[int]] = {}
    for i, k in enumerate(_ANATOMY_WORDS):
        first = _first_prefixes(k, _PREFIX)
        if first is None:
            for letter in _first_letters(k):
                letter_only.setdefault(letter, set()).add(i)
        for prefix in first or ():
            prefixes.setdefault(prefix, set()).add(i)
    for prefix, found in prefixes.items():
        found |= letter_only.get(prefix[0], set())

    def patterns(found: set[int]) -> list[tuple[re.Pattern[str], str]]:
        return [_ANATOMY_RE[i] for i in sorted(found)]

    return (
        {k: patterns(v) for k, v in prefixes.items()},
        {k: patterns(v) for k, v in letter_only.items()},
    )


def _prefix_alternation(words: Iterable[str]) -> str:
    """One regex for a set of words none of which starts another, nested by character so
    that a position tries one branch per character: {"adr", "aor", "axi", "bla", "bon"} ->
    "a(?:dr|or|xi)|b(?:la|on)"; {"cut", "cu"} raises ValueError."""
    by_first: dict[str, list[str]] = {}
    for word in sorted(words):
        by_first.setdefault(word[0], []).append(word[1:])
    parts = []
    for first, rests in by_first.items():
        if "" in rests and len(rests) > 1:
            raise ValueError(f"{first!r} starts another of the words {sorted(words)}")
        if len(rests) == 1:
            parts.append(re.escape(first + rests[0]))
        elif all(len(rest) == 1 for rest in rests):
            parts.append(f"{re.escape(first)}[{''.join(map(re.escape, rests))}]")
        else:
            parts.append(f"{re.escape(first)}(?:{_prefix_alternation(rests)})")
    return "|".join(parts)


_ANATOMY_BY_PREFIX, _ANATOMY_LETTER_ONLY = _index_by_prefix()
# In lower-case ASCII text after one space, the word starts with such a prefix, found in one
# search that skips to the characters that are not word characters (what "\b" before a
# letter means; [^a-z0-9_] is \w's complement in that text), each followed by the prefix:
# a match is the character before the word start, so it starts where the word does in the
# text without the space.
_ORGAN_START = re.compile(
    f"[^a-z0-9_](?={_prefix_alternation(_ANATOMY_BY_PREFIX)})"
    if not _ANATOMY_LETTER_ONLY
    else r"(?!)"  # pragma: no cover - a pattern without fixed first letters: every word start
)
_WORD_START = re.compile(r"(?i)\b[a-z]")
_START = re.Match.start
_Z_GATE = re.compile(r"\bz\s*[=:]?\s*(?:minus|-|−)")
# whether text may hold a date: every alternative of _DATE_RE has a digit followed by one
# of these (those with a month name too: its year, four digits), found in one search that
# skips to digits
_DATE_GATE_DIGITS = re.compile(r"\d(?:[/-]\d|\d{3}|\.\d{1,2}\.\d)")


def _lower_case_twin(pattern: re.Pattern[str]) -> re.Pattern[str]:
    """The same case-insensitive pattern without IGNORECASE and with ASCII classes, for
    lower-case ASCII text without the characters \\x1c-\\x1f (``_plain``).

    Issue 11 speed: under IGNORECASE, sre compares letters case-folded and cannot skip to
    the first letters of an alternation, and Unicode classes (\\w, \\b, \\d, \\s) look
    characters up in Unicode tables; on the lower-case text the twin finds the same spans
    (ASCII: lower() keeps every offset; the pattern spells each letter in lower case,
    checked here, so a letter matches just where (?i) matched it; on ASCII characters the
    ASCII classes are the Unicode ones, except that Unicode counts \\x1c-\\x1f as space)."""
    source = pattern.pattern
    inline = re.match(r"\(\?([a-z]+)\)", source)  # the leading "(?ix)"
    rest = source[inline.end() :] if inline else source
    letters = re.sub(r"\\.|\(\?P<\w+>", "", rest)  # without escapes (\S, \W) and group names
    caseless = bool(pattern.flags & re.IGNORECASE)
    if (
        (caseless and (inline is None or "i" not in inline.group(1)))
        or re.search(r"\(\?[a-zA-Z-]+[:)]", rest)  # flags set or cleared further on
        or re.search("[A-Z]" if caseless else "[A-Za-z]", letters)  # (a case-sensitive
    ):  # pattern without letters reads lower-case text as the text)
        raise ValueError(f"pattern {source[:40]!r}: not a lower-case (?i) pattern")
    kept = inline.group(1).replace("i", "") if inline else ""
    flags = (pattern.flags & ~(re.IGNORECASE | re.UNICODE)) | re.ASCII
    return re.compile((f"(?{kept})" if kept else "") + rest, flags)


# (plain text: the two alternatives' twins, searched in turn: each starts with a literal,
# which the search skips to; the pattern's two first letters make a class, tested at each
# "s" and "u")
_MAYBE_KEY_LOWER = _lower_case_twin(re.compile(f"(?i){_MAYBE_KEY}"))
_MAYBE_LONG_LOWER = _lower_case_twin(re.compile(f"(?i){_MAYBE_LONG}"))


class _Patterns(NamedTuple):
    """The patterns run over every sentence, as one kind of sentence reads them
    (``_Sentence.patterns`` over ``_Sentence.subject``): picked once a sentence, not looked
    up at each search (issue 11 speed)."""

    key: re.Pattern[str]
    slice: re.Pattern[str]
    time: re.Pattern[str]
    measure: re.Pattern[str]
    other_number: re.Pattern[str]
    number: re.Pattern[str]
    side: re.Pattern[str]
    date_gate: re.Pattern[str]
    date: re.Pattern[str]
    table: re.Pattern[str]
    series_image: re.Pattern[str]
    non_axial: re.Pattern[str]


# other text: the patterns over the text
_AS_WRITTEN = _Patterns(
    _KEY_RE,
    _SLICE_RE,
    _TIME_RE,
    _MEASURE_RE,
    _OTHER_NUMBER_RE,
    _NUMBER_RE,
    _SIDE_RE,
    _DATE_GATE_DIGITS,
    _DATE_RE,
    _TABLE_RE,
    _SERIES_IMAGE_RE,
    _NON_AXIAL_RE,
)
# the lower-case twins of the patterns the reader runs over every sentence, by id
_TWINS: dict[int, re.Pattern[str]] = {
    id(p): _lower_case_twin(p) for p in (*_AS_WRITTEN, *(organ for organ, _ in _ANATOMY_RE))
}
# plain ASCII text (``_plain``): their lower-case twins over the lower-case text
_LOWER_CASE = _Patterns(*(_TWINS[id(pattern)] for pattern in _AS_WRITTEN))
# Speed (issue 11): plain text with every digit written "0" (``_Sentence.set_aside``), read
# by the twins of the patterns that start with a digit, "0" in place of "\d": each then
# starts with a literal, which the search skips to at once (a digit class it tests at each
# character). The spans are the same: "0" is the one digit there and no pattern names one.
_DIGITS_AS_ZERO = bytes(0x30 if 0x30 <= b <= 0x39 else b for b in range(256))


def _digits_as_zero(low: str) -> str:
    """Plain lower-case text with every digit written "0" (what the zero twins read)."""
    return low.encode("ascii").translate(_DIGITS_AS_ZERO).decode("ascii")


def _zero_twin(twin: re.Pattern[str]) -> re.Pattern[str]:
    """A lower-case twin over text whose digits are all "0"; a leading "\\b\\d" (a digit
    after no word character) becomes "0(?<!\\w0)"."""
    source = twin.pattern
    if re.search(r"\d", re.sub(r"\\.|\{\d*,?\d*\}", "", source)):  # (a digit named)
        raise ValueError(f"pattern {source[:40]!r}: names a digit")
    inline = re.match(r"\(\?[a-z]+\)", source)  # (a twin's "(?x)")
    flags, source = (inline.group(), source[inline.end() :]) if inline else ("", source)
    for lead, rest in ((r"\b\d{1,2}", "0?"), (r"\b\d++", "0*+")):
        if source.startswith(lead):
            source = r"0(?<!\w0)" + rest + source[len(lead) :]
    return re.compile(flags + source.replace(r"\d", "0"), twin.flags)


_TIME_ZERO = _zero_twin(_LOWER_CASE.time)
_MEASURE_ZERO = _zero_twin(_LOWER_CASE.measure)
_DATE_GATE_ZERO = _zero_twin(_LOWER_CASE.date_gate)
_NUMBER_ZERO = _zero_twin(_LOWER_CASE.number)


def _spaced_twin(twin: re.Pattern[str]) -> re.Pattern[str]:
    """A lower-case twin that starts at a word boundary before a letter ("\\b(?="), over
    " " + the text: the boundary becomes the character before the word ("[^a-z0-9_]", what
    \\w is not in that text), a class the search skips to (it tests "\\b" at every place).
    A match starts where the word starts in the text and ends one character after its end
    there; the next match, after a match that ends with a word character, is the one
    finditer finds in the text (no word starts right after a word character)."""
    inline = re.match(r"\(\?[a-z]+\)", twin.pattern)  # (a twin's "(?x)")
    flags = inline.group() if inline else ""
    source = twin.pattern[len(flags) :]
    source = source.lstrip() if "x" in flags else source  # (verbose: leading space)
    if not source.startswith(r"\b(?=") or not twin.flags & re.ASCII:
        raise ValueError(f"pattern {source[:40]!r}: does not start at a word boundary")
    return re.compile(flags + "[^a-z0-9_]" + source[len(r"\b") :], twin.flags)


def _other_twins() -> tuple[re.Pattern[str], re.Pattern[str]]:
    """_OTHER_NUMBER_RE's letter-led alternatives over " " + the plain text
    (``_spaced_twin``) and its digit-led ones over the zeros text (``_zero_twin``)."""
    letter_led = re.compile(rf"(?ix)\b(?={_OTHER_LETTER_GATE})(?:{_OTHER_LETTER_LED})")
    digit_led = re.compile(rf"(?ix)\b{_OTHER_DIGIT_LED}")
    return _spaced_twin(_lower_case_twin(letter_led)), _zero_twin(_lower_case_twin(digit_led))


_OTHER_LETTER_SPACED, _OTHER_DIGIT_ZERO = _other_twins()
_SLICE_SPACED = _spaced_twin(_LOWER_CASE.slice)
_KEY_SPACED = _spaced_twin(_LOWER_CASE.key)


def _spans(pattern: re.Pattern[str], text: str) -> list[tuple[int, int]]:
    """The spans of ``pattern.finditer(text)``, for a pattern without empty matches, by
    searches (issue 11 speed: a finditer costs more than a search or two)."""
    spans = []
    search = pattern.search
    m = search(text)
    while m is not None:
        spans.append(m.span())
        m = search(text, m.end())
    return spans


def _other_number_spans(spaced: str, zeros: str) -> list[tuple[int, int]]:
    """The spans of _OTHER_NUMBER_RE's matches (finditer's: leftmost, not overlapping) in
    plain lower-case text, given " " + it and its zeros text. Speed (issue 11): a word
    start, where the letter-led alternatives may match, is never a digit, where the
    digit-led ones may; so the leftmost match of the two twins is the pattern's, and the
    search skips to the characters before words and to digits (not every place: "\\b")."""
    spans = []
    letter, digit = _OTHER_LETTER_SPACED.search, _OTHER_DIGIT_ZERO.search
    w, d = letter(spaced), digit(zeros)
    while w is not None or d is not None:
        if d is None or (w is not None and w.start() < d.start()):
            w = cast(re.Match[str], w)  # (the loop runs while one is left)
            start, end = w.start(), w.end() - 1
        else:
            start, end = d.span()
        spans.append((start, end))
        if w is not None and w.start() < end:
            w = letter(spaced, end)
        if d is not None and d.start() < end:
            d = digit(zeros, end)
    return spans


def _organ_alternation(indices: Iterable[int]) -> str:
    """The organ patterns ``indices`` of ``_ANATOMY_WORDS`` as one alternation, in their
    order, each ending as its twin does (``\\b``) and then in an empty group of its own: the
    group a match sets tells which pattern matched first, and where its word ends."""
    words = list(_ANATOMY_WORDS)
    return "|".join(rf"(?:{words[i]})\b()" for i in indices)


def _organ_scan() -> tuple[re.Pattern[str], list[tuple[str, re.Pattern[str] | None, list[int]]]]:
    """One search for the organ words of lower-case ASCII text after one space, and for each
    organ pattern (by index) its key and what to try after it at the same word start.

    Speed (issue 11): a match is the character before a word start with an organ prefix
    (as ``_ORGAN_START``) where one of the patterns matches; of those that can match there
    (the patterns of its prefix), the first in ``_ANATOMY_RE`` order does, as its twin would
    (the same pattern after a word boundary, with the same flags). The others of that prefix
    after it ("iliac chain": iliac_vessels, then pelvis) are found by the pattern's own
    alternation of the later patterns that share a prefix with it, matched at the word start,
    again and again from the one found. The groups hold nothing else: organ patterns have no
    groups of their own."""
    words = list(_ANATOMY_WORDS)
    if any(re.compile(k).groups for k in words):  # pragma: no cover - a new pattern
        raise ValueError("organ patterns must not have groups of their own")
    prefixes = [_first_prefixes(k, _PREFIX) or set() for k in words]
    after: list[tuple[str, re.Pattern[str] | None, list[int]]] = []
    for i, (_, key) in enumerate(_ANATOMY_RE):
        later = [j for j in range(i + 1, len(words)) if prefixes[i] & prefixes[j]]
        pattern = re.compile(_organ_alternation(later), re.ASCII) if later else None
        after.append((key, pattern, [-1, *later]))  # (by group number)
    scan = re.compile(
        f"[^a-z0-9_](?={_prefix_alternation(_ANATOMY_BY_PREFIX)})"
        f"(?={_organ_alternation(range(len(words)))})",
        re.ASCII,
    )
    return scan, after


# (_ORGAN_AFTER by pattern index: in _ORGAN_SCAN, group i + 1 is pattern i's)
_ORGAN_SCAN, _ORGAN_AFTER = _organ_scan()
# the ASCII characters that Unicode, not ASCII, counts as white space
_UNICODE_ONLY_SPACE = re.compile("[\x1c-\x1f]")


def _plain(text: str) -> bool:
    """Whether the lower-case twins may read ``text``: ASCII without \\x1c-\\x1f."""
    return text.isascii() and _UNICODE_ONLY_SPACE.search(text) is None


_LEFT_TOKENS_PRIOR = 4  # how far back a prior cue may stand from a value's keyword
_LEFT_TOKENS_REFERENCE = 8  # reference cues may lead a longer phrase ("blood pool activity with")
_MAX_KEY_GAP_TOKENS = 8  # SUV keyword ... value
_MAX_PAIR_COST = 24.0  # slice <-> value pairing beyond this is no pairing
# where one value's stretch of the sentence ends and the next one's begins
# the patterns of the cue tests below, compiled once
_OWN_SLICE_AFTER = re.compile(
    rf"(?ix)^\s*[(,]?\s*(?:on\s+|at\s+)?(?:(?:axial|pet|ct)\s+)?{_SLICE_WORD}\s*"
    rf"(?:\#|no\.?|:)?\s*{_INT}(?:\s*[-–]\s*{_INT})?\s*\)?"
)
_LEAD_IN = re.compile(
    r"(?ix)\s*(?:\(?\s*(?:of|at|is|was|=|:|measuring|with\s+(?:an?\s+)?|"
    r"activity|uptake|SUV\w*|max(?:imum)?|mean|approximately|about|\s)*)\s*"
)
_THRESHOLD_BEFORE = re.compile(
    r"(?ix)(?:[<>≥≤]=?|\b(?:greater|higher|more|less|lower)\s+than|\b(?:above|below|over|"
    r"under|exceeding|at\s+least|ratios?|index|indices|threshold|cut-?off)\b)"
    r"\s*(?:an?\s+|of\s+|was\s+|is\s+|=\s*|:\s*)*$"
)
_NUMBER_NEXT = re.compile(rf"(?i)^\s*(?:of\s+|at\s+|was\s+|SUV\w*\s+)?{_NUM}")
_STRETCH_BREAK = re.compile(r"(?i),?\s+(?:and|while|whereas|as\s+well\s+as)\s+|[,;]\s*")
_DIGITS = re.compile(r"\d+")
_HARD_BREAK = re.compile(r"[;]|\.\s")  # a semicolon or a sentence-like stop inside a span


def _may_break(text: str) -> bool:
    """False when ``text`` holds no _HARD_BREAK: neither ";" nor "." (tested before the
    search, issue 11 speed)."""
    return ";" in text or "." in text


_SEMICOLON = re.compile(r"[;]")
_CLAUSE_BREAK = re.compile(r"[,;]")
_CURRENT_BEFORE = re.compile(r"(?i)\b(?:now|currently|today|presently)\s*(?:at|of|is|:)?\s*$")
_REF_ORGAN_BEFORE = re.compile(r"(?i)\b(?:liver|hepatic|blood[\s-]*pool|spleen|aorta)\W*$")
_FROM = re.compile(r"(?i)\bfrom\b")
_TO = re.compile(r"(?i)\bto\b")
_CONTRALATERAL = re.compile(r"(?i)\bcontralateral")

# Speed (issue 11): the lower-case words one of which every match of a cue pattern contains
# (read off each pattern's alternatives above). In ASCII text, a sentence whose lower-case
# text holds none of them cannot match the pattern anywhere, so the pattern is not run
# (``_Sentence.cues``). Other text is always searched: case folding there is not
# lower() (under (?i), "K" matches the Kelvin sign). Text with a date written as DATE
# (``_Sentence.masked``) is searched with _PRIOR_AFTER whatever its words.
_CUE_WORDS_BY_PATTERN: list[tuple[re.Pattern[str], str]] = [
    (
        _PRIOR_BEFORE,
        "previous prior before formerly baseline earlier initially originally retrospect study"
        " scan exam compar versus vs from had last",
    ),
    (
        _PRIOR_AFTER,
        "prior previous preceding last baseline earlier comparison old initial first original"
        " pre before date",
    ),
    (_CURRENT, "now current today present"),
    (_CURRENT_BEFORE, "now current today present"),
    (
        _REF_STRONG,
        "blood background reference physiolog normal mediastinal hepatic liver splenic"
        " contralateral threshold cut considered defined",
    ),
    (
        _REF_AFTER,
        "liver hepatic blood mediastin spleen aorta contralateral background reference physiologic",
    ),
    (_CRITERION_AFTER, "considered defined used regarded taken threshold cut criterion"),
    (_REF_ORGAN, "liver hepatic spleen splenic aort"),
    (_REF_ORGAN_BEFORE, "liver hepatic blood spleen aorta"),
    (_COMPARE, "compar relative similar versus vs than equal same ratio"),
    (
        _THRESHOLD_BEFORE,
        "< > than above below over under exceeding least ratio index indices threshold cut",
    ),
    (
        _PHYSIOLOGIC,
        "physiolog inflammat reactive infectio arthr post brown granulomatous benign unchanged",
    ),
    (_SIDE_RE, "bilateral both left lt right rt"),
    (_SLICE_RE, "sl sc im ia"),  # the slice words of _SLICE_WORD: sl..., scl..., im..., iam...
]


def _gate_words() -> tuple[re.Pattern[str], dict[int, frozenset[str]]]:
    """One search for all the cue words, and each pattern's words, by the pattern's id
    (hashing a compiled pattern hashes its whole program, every time).

    In a match, each cue word starts where no letter comes before it, in the sentence too:
    after a word boundary or white space of the pattern, or where the piece of the sentence
    the pattern reads starts (a token start, the end of a number or of a slice reference).
    So the words are looked for only there: one search over the lower-case text after a
    space with every character but a-z written " " (``_cues_of``), which skips to each
    space, a literal, and looks at what follows it (" (?=(...))"; "<" and ">", not
    letters, are looked for anywhere, with "in").
    A word that another cue word starts ("previous" and "pre") is replaced by the shorter
    one: a sentence holding the longer holds the shorter, so each set of words still names
    what a match needs, and at most one word starts at each place."""
    every = {w for _, words in _CUE_WORDS_BY_PATTERN for w in words.split()}

    def shortest(word: str) -> str:
        return min((w for w in every if word.startswith(w)), key=len)

    by_pattern = {
        id(pattern): frozenset(shortest(w) for w in words.split())
        for pattern, words in _CUE_WORDS_BY_PATTERN
    }
    kept = {w for words in by_pattern.values() for w in words} - set(_CUE_SIGNS)
    return re.compile(f" (?=({_prefix_alternation(kept)}))"), by_pattern


_CUE_SIGNS = ("<", ">")  # cue words that are not letters


_CUE_SCAN, _CUE_WORDS = _gate_words()
# Each cue pattern is one bit; a cue word stands for the bits of the patterns it is a word of,
# and a sentence for the OR of its words' (``_Sentence.cues``): a pattern may match where
# its bit is set (``cues & _X_CUES``), one integer test at each place, not a call (issue 11
# speed; 14 bits: small integers).
_CUE_MASK = {key: 1 << i for i, key in enumerate(_CUE_WORDS)}
_CUE_BIT = {
    word: sum(_CUE_MASK[key] for key, words in _CUE_WORDS.items() if word in words)
    for word in set().union(*_CUE_WORDS.values())
}
_EVERY_CUE = -1  # (all bits: text that is not ASCII may match every cue pattern)
_PRIOR_BEFORE_CUES = _CUE_MASK[id(_PRIOR_BEFORE)]
_PRIOR_AFTER_CUES = _CUE_MASK[id(_PRIOR_AFTER)]
_CURRENT_CUES = _CUE_MASK[id(_CURRENT)]
_CURRENT_BEFORE_CUES = _CUE_MASK[id(_CURRENT_BEFORE)]
_REF_STRONG_CUES = _CUE_MASK[id(_REF_STRONG)]
_REF_AFTER_CUES = _CUE_MASK[id(_REF_AFTER)]
_CRITERION_AFTER_CUES = _CUE_MASK[id(_CRITERION_AFTER)]
_REF_ORGAN_CUES = _CUE_MASK[id(_REF_ORGAN)]
_REF_ORGAN_BEFORE_CUES = _CUE_MASK[id(_REF_ORGAN_BEFORE)]
_COMPARE_CUES = _CUE_MASK[id(_COMPARE)]
_THRESHOLD_BEFORE_CUES = _CUE_MASK[id(_THRESHOLD_BEFORE)]
_PHYSIOLOGIC_CUES = _CUE_MASK[id(_PHYSIOLOGIC)]
_SIDE_CUES = _CUE_MASK[id(_SIDE_RE)]
_SLICE_CUES = _CUE_MASK[id(_SLICE_RE)]
# the cues of a bare value ("previously 2.8", "liver 2.3": ``_Sentence._read_bare_values``)
_BARE_CUES = _PRIOR_BEFORE_CUES | _REF_STRONG_CUES | _CURRENT_BEFORE_CUES
_BARE_CUES |= _REF_ORGAN_BEFORE_CUES | _PRIOR_AFTER_CUES
# the cues after a value that make it a reference (``_Sentence._reference_cue``)
_RIGHT_REFERENCE_CUES = _CRITERION_AFTER_CUES | _REF_AFTER_CUES | _COMPARE_CUES
_REFERENCE_CUES = (
    _RIGHT_REFERENCE_CUES | _REF_STRONG_CUES | _REF_ORGAN_CUES | _THRESHOLD_BEFORE_CUES
)


# every character but a-z written " ", for _CUE_SCAN (its lookahead reads letters only)
_LETTERS_ONLY = bytes(byte if 0x61 <= byte <= 0x7A else 0x20 for byte in range(256))


def _letters_only(low: str) -> str:
    """ " " and the lower-case ASCII text with every character but a-z written " " (what
    _CUE_SCAN reads)."""
    return (" " + low).encode("ascii").translate(_LETTERS_ONLY).decode("ascii")


def _cues_of(low: str, letters: str | None = None, at: int = 0) -> int:
    """The bits of the cue words an ASCII sentence's lower-case text holds. (``letters``: the
    report's ``_letters_only`` text, if known, the sentence at ``at`` + 1 of it: one
    translation a report, issue 11 speed; no sentence starts after a letter, so " " comes
    before it.)"""
    if letters is None:
        letters, at = _letters_only(low), 0
    bits = 0
    for word in _CUE_SCAN.findall(letters, at, at + len(low) + 1):
        bits |= _CUE_BIT[word]
    if "<" in low or ">" in low:  # (_CUE_SIGNS)
        for sign in _CUE_SIGNS:
            if sign in low:
                bits |= _CUE_BIT[sign]
    return bits


def _window_gate(*patterns: re.Pattern[str]) -> re.Pattern[str]:
    """One search for the cue words of ``patterns`` (``_CUE_WORDS_BY_PATTERN``) anywhere in
    lower-case text: a window of an ASCII sentence that holds none holds no match of them
    (each alternative of these patterns spells one of its words out whole)."""
    every = {w for p, words in _CUE_WORDS_BY_PATTERN if p in patterns for w in words.split()}
    kept = {w for w in every if not any(w != o and w.startswith(o) for o in every)}
    return re.compile(_prefix_alternation(kept))


# Speed (issue 11): the role and bare-value tests below search a window of the sentence
# (a few tokens before a value, the rest of its clause); where the sentence holds a cue's
# words but the window does not, the test is skipped after one search of the lower-case
# window for them (``_Sentence.window_may_hold``).
_PRIOR_BEFORE_GATE = _window_gate(_PRIOR_BEFORE)
_COMPARE_GATE = _window_gate(_COMPARE)
_THRESHOLD_BEFORE_GATE = _window_gate(_THRESHOLD_BEFORE)
_PHYSIOLOGIC_GATE = _window_gate(_PHYSIOLOGIC)
# (a liver, hepatic or splenic cue needs its next word: "hepatic lesion" is none; the
# background and reference of "hepatic background" are words of the cue on their own)
# (each alternative starts with a letter: the search skips to those letters)
_REF_STRONG_GATE = re.compile(
    r"blood|background|reference|physiolog|normal|mediastinal|contralateral|threshold|cut|"
    r"considered|defined|hepatic\s+(?:parenchyma|activity|uptake)|"
    r"liver\s+(?:parenchyma|activity|uptake)|splenic\s+(?:parenchyma|activity|uptake)"
)
# (every match of _COMPARATIVE_DESCRIPTION holds one of these words)
_COMPARATIVE_DESCRIPTION_GATE = re.compile(
    "above|greater|higher|exceeding|more|over|excess|proportion"
)
# the strong reference and organ cues read the lower-case window of plain text, as twins
_REF_STRONG_TWIN = _lower_case_twin(_REF_STRONG)
_REF_ORGAN_TWIN = _lower_case_twin(_REF_ORGAN)
# a value may be prior where the sentence holds a word of these cues (or a date)
_PRIOR_CUES = _CURRENT_CUES | _PRIOR_BEFORE_CUES | _PRIOR_AFTER_CUES


# ---- sentence analysis ----------------------------------------------------------------------


class _SliceRef:
    """A slice reference of a sentence. (A plain class with its own ``__init__``, not a
    dataclass: compiled by mypyc, a dataclass's ``__init__`` stays Python, issue 11 speed.)"""

    __slots__ = ("end", "group", "number", "plane", "range_end", "series", "start")

    def __init__(
        self,
        number: int,
        start: int,  # sentence-relative span of the whole reference
        end: int,
        range_end: int | None = None,
        series: int | None = None,
        group: int | None = None,  # "slices 104 and 110": refs of one list share a group
        plane: str = "axial",  # or "coronal", "sagittal", "mip"
    ) -> None:
        self.number, self.start, self.end = number, start, end
        self.range_end, self.series, self.group, self.plane = range_end, series, group, plane


class _Value:
    """An SUV value of a sentence and what is learnt of it (plain class: as ``_SliceRef``)."""

    __slots__ = (
        "cue",
        "current",
        "end",
        "head",
        "key_start",
        "keyed",
        "metric",
        "other_plane",
        "ref",
        "right",
        "role",
        "start",
        "stretch",
        "suv",
    )

    def __init__(
        self,
        suv: float,
        start: int,  # sentence-relative span of the number
        end: int,
        key_start: int,  # where its SUV keyword starts (== start for a value without one)
        metric: str,
        keyed: bool,
        head: int | None = None,  # start of the value this one continues in a list
    ) -> None:
        self.suv, self.start, self.end, self.key_start = suv, start, end, key_start
        self.metric, self.keyed, self.head = metric, keyed, head
        self.role: str = LESION
        self.cue: str | None = None
        self.ref: _SliceRef | None = None
        self.other_plane: _SliceRef | None = None
        self.current = False  # "now", "currently" right before it
        self.stretch: tuple[int, int] = (0, 0)
        self.right: tuple[int, tuple[int, str]] | None = None  # (hi, _right_context's answer)


class _NthMark(dict[int, re.Pattern[bytes]]):
    """For each n, the pattern of token marks (``sentences.token_marks``) up to their n-th 1
    (``_Sentence.back``), compiled when first asked for."""

    def __missing__(self, n: int) -> re.Pattern[bytes]:
        pattern = self[n] = re.compile(b"(?:\\x00*+\\x01){%d}" % n)
        return pattern


_NTH_MARK = _NthMark()


class _ReportTokens:
    """The token marks of an ASCII report (``sentences.token_marks``), made when a sentence
    first needs its own: one call a report, not one a sentence (issue 11 speed). A sentence's
    are the report's over its span: a sentence (``sentence_spans``) starts after no letter or
    digit and never ends in a digit and "." / "," before a digit, and no token start in it
    depends on a character outside it but through those."""

    __slots__ = ("marks", "text")

    def __init__(self, text: str):
        self.text = text
        self.marks: bytes | None = None

    def marks_of(self, start: int, end: int) -> bytes:
        marks = self.marks
        if marks is None:
            marks = self.marks = token_marks(self.text)
        return marks[start:end]


class _Sentence:
    """One sentence: its text and token starts, what is set aside, slices, values."""

    __slots__ = (  # (made once a sentence, its attributes read many times)
        "_anatomy",
        "_anatomy_by_start",
        "_ascii",
        "_base",
        "_dated",
        "_marks",
        "_plain",
        "_report",
        "_sides",
        "after_space",
        "cues",
        "dates",
        "extra_keys",
        "low",
        "patterns",
        "slices",
        "subject",
        "taken",
        "text",
        "values",
        "zeros",
    )

    def __init__(
        self,
        text: str,
        marks: bytes | None,  # its ``sentences.token_marks``; None: made when first needed
        extra_keys: Iterable[str],
        plain: bool | None = None,  # the report's text is plain ASCII (``_plain``), if known
        low: str | None = None,  # text.lower(), if known (a piece of the report's)
        report: _ReportTokens | None = None,  # the report's token marks, if an ASCII one,
        base: int = 0,  # and where the sentence starts in it
        letters: str | None = None,  # the report's ``_letters_only`` text, if a plain one
        zeros: str | None = None,  # its ``_digits_as_zero`` text (plain text), if known
        dated: bool = True,  # False: the report holds no date-like digits (_DATE_GATE_ZERO)
    ):
        self.text = text
        self._marks = marks
        self._report, self._base = report, base
        self.taken = bytearray(len(text) + 1)
        self.extra_keys = (
            sorted({k for k in extra_keys if k}, key=len, reverse=True) if extra_keys else []
        )
        self.slices: list[_SliceRef] = []
        self.values: list[_Value] = []
        self.dates: list[tuple[int, int]] = []
        self._anatomy: list[tuple[int, int, str]] | None = None
        self._anatomy_by_start: list[tuple[int, int, str]] | None = None
        self._sides: dict[int, str | None] = {}  # side_of, by list (stretches are set first)
        self.low = text.lower() if low is None else low
        self._ascii = text.isascii()
        # its cue words' bits
        self.cues = _cues_of(self.low, letters, base) if self._ascii else _EVERY_CUE
        self._plain = _plain(text) if plain is None else plain
        # what the hot patterns read: the lower-case text with the twins, or the text
        self.patterns = _LOWER_CASE if self._plain else _AS_WRITTEN
        self.subject = self.low if self._plain else text
        # plain text: " " + its lower case, what the spaced twins read (``_spaced_twin``)
        self.after_space = " " + self.low if self._plain else None
        self.zeros, self._dated = zeros, dated

    # ---- token arithmetic
    def _token_marks(self) -> bytes:
        """The sentence's ``sentences.token_marks`` (a 1 where a token starts), made when
        first needed (issue 11 speed: many sentences count no tokens), from the report's
        where the sentence has one (``_ReportTokens``)."""
        marks = self._marks
        if marks is None:
            report, base = self._report, self._base
            marks = (
                token_marks(self.text)
                if report is None
                else report.marks_of(base, base + len(self.text))
            )
            self._marks = marks
        return marks

    def tokens_between(self, a: int, b: int) -> int:
        """How many tokens start in [a, b) (offsets in the sentence)."""
        if b <= a:
            return 0
        return (self._marks or self._token_marks()).count(1, a, b)

    def back(self, pos: int, n: int, floor: int) -> int:
        """The start of the n-th token before ``pos`` (n >= 1; the first token's where fewer
        come before it), not before ``floor``."""
        marks = self._marks or self._token_marks()
        # (the n-th 1 of the marks read backwards from pos: one match)
        size = len(marks)
        nth = _NTH_MARK[n].match(marks[::-1], size - pos)
        if nth is not None:
            start = size - nth.end()
        else:  # (fewer than n before pos)
            start = marks.find(1)
            if start < 0:  # (no token)
                return floor if floor > 0 else 0
            start = start if start < pos else pos
        return start if start > floor else floor

    def take(self, start: int, end: int) -> None:
        self.taken[start:end] = b"\x01" * (end - start)

    def may_contain(self, word: str) -> bool:
        """False when a case-insensitive pattern for the lower-case ``word`` cannot match:
        ASCII text without it (other text: True; case folding there is not lower())."""
        return not self._ascii or word in self.low

    def prior_after(self, masked: str) -> re.Match[str] | None:
        """_PRIOR_AFTER at the start of ``masked`` (a piece of the sentence, dates as DATE)."""
        if not self.dates and not self.cues & _PRIOR_AFTER_CUES:
            return None
        return _PRIOR_AFTER.match(masked)

    def free(self, start: int, end: int) -> bool:
        return self.taken.find(1, start, end) < 0

    def masked(self, a: int, b: int) -> str:
        """text[a:b] with dates written as DATE (for cues such as "6.3 on 3/12/2019")."""
        out = self.text[a:b]
        if not self.dates:
            return out
        for ds, de in sorted(self.dates, reverse=True):
            if ds >= a and de <= b:
                out = out[: ds - a] + "DATE" + out[de - a :]
        return out

    # ---- 1. set aside numbers that are not SUVs; find slice references
    def set_aside(self) -> None:
        # each pattern runs only where the words it needs are there (cheap substring tests)
        low, p, subject = self.low, self.patterns, self.subject
        table = (
            "loc" in low
            or "pos" in low
            or "level" in low
            or "mm" in low
            or ("z" in low and _Z_GATE.search(low))
        )
        for m in p.table.finditer(subject) if table else ():
            self.take(*m.span())
        series_or_pair = "se" in low or ":" in low
        for m in p.series_image.finditer(subject) if series_or_pair else ():
            start, end = m.span()
            if self.free(start, end):
                series = int(m.group("s") or m.group("s2") or m.group("s3"))
                image = m.group("i") or m.group("i2") or m.group("i3")
                more = _listed(m.group("more"))
                group = len(self.slices) if more else None
                # (_SliceRef by position: number, start, end, range_end, series, group, plane)
                self.slices.append(_SliceRef(int(image), start, end, None, series, group))
                self.slices += [_SliceRef(n, start, end, None, series, group) for n in more]
                self.take(start, end)
        planes = "cor" in low or "sag" in low or "mip" in low or "intensity" in low
        for m in p.non_axial.finditer(subject) if planes else ():
            start, end = m.span()
            if self.free(start, end):
                plane = m.group("plane").lower()
                plane = "mip" if plane.startswith(("mip", "maximum")) else plane
                self.slices.append(
                    _SliceRef(int(m.group("n")), start, end, None, None, None, plane)
                )
                self.take(start, end)
        find, taken = self.taken.find, self.taken
        key, plain = p.key, self._plain
        # (plain text: the slice pattern's twin over " " + the text, ``_spaced_twin``)
        spaced = cast(str, self.after_space) if plain else subject
        slices, shift = (_SLICE_SPACED, 1) if plain else (p.slice, 0)
        search = slices.search  # (searches, as finditer's: ``_spans``)
        hit = search(spaced) if self.cues & _SLICE_CUES else None
        while hit is not None:
            start, end = hit.start(), hit.end() - shift
            # (free and take in place, as the last loop does: this loop runs for most
            # sentences, the method calls cost about 1.7k instructions a sentence)
            if find(1, start, end) < 0:
                a, b, more_text = hit.group("a", "b", "more")
                more = _listed(more_text)
                group = len(self.slices) if more else None
                range_end = int(b) if b else None
                self.slices.append(_SliceRef(int(a), start, end, range_end, None, group))
                if more:
                    self.slices += [_SliceRef(n, start, end, None, None, group) for n in more]
                taken[start:end] = b"\x01" * (end - start)
            hit = search(spaced, hit.end())
        if plain:  # (the digit-led patterns' twins over the text with its digits as "0")
            zeros = self.zeros
            if zeros is None:  # (kept: ``_free_numbers`` reads it too)
                zeros = self.zeros = _digits_as_zero(low)
            date = self._dated and _DATE_GATE_ZERO.search(zeros) is not None
            time, measure = (_TIME_ZERO, zeros), (_MEASURE_ZERO, zeros)
        else:
            date = p.date_gate.search(subject) is not None
            time, measure = (p.time, subject), (p.measure, subject)
        for m in p.date.finditer(subject) if date else ():
            if self.free(*m.span()):
                self.dates.append(m.span())
                self.take(*m.span())
        # (the time, measure and other-number matches, in that order: one set aside is not
        # free for the next; plain text: the other numbers from their two twins, and a
        # piece is lower-case ASCII, read by the keyword pattern's twin; every SUV keyword
        # holds an "s")
        spans = _spans(*time) if ":" in low else []
        spans += _spans(*measure)
        if plain:
            spans += _other_number_spans(spaced, cast(str, zeros))
        else:
            spans += [m.span() for m in p.other_number.finditer(subject)]
        for start, end in spans:
            if find(1, start, end) >= 0:
                continue
            number = subject[start:end]
            if (plain and "s" not in number) or not key.search(number):
                taken[start:end] = b"\x01" * (end - start)

    # ---- 2. SUV values
    def keys(self) -> list[tuple[int, int, str]]:
        # (Speed, issue 11: the metric words read by group number, in one call; in plain
        # text, read by the twin, they are lower case already)
        # (plain text: the twin over " " + the text, ``_spaced_twin``; a key may end with "."
        # or ")", so the next search starts at its end in the text, as finditer's would)
        found = []
        plain = self._plain
        key, over, shift = (
            (_KEY_SPACED, cast(str, self.after_space), 1) if plain else (_KEY_RE, self.text, 0)
        )
        search = key.search
        m = search(over)
        while m is not None:
            pm, lm, sm = m.group(_PM, _LM, _SM)
            word = pm or lm or sm or "max"
            start, end = m.start(), m.end() - shift
            found.append((start, end, _METRIC.get(word if plain else word.lower(), "max")))
            m = search(over, end)
        if not self.extra_keys:  # (the matches neither overlap nor come out of order)
            return found
        for short in self.extra_keys:
            pattern = re.compile(rf"(?<![A-Za-z]){re.escape(short)}(?![a-z])")
            found += [(m.start(), m.end(), "max") for m in pattern.finditer(self.text)]
        merged: list[tuple[int, int, str]] = []
        for k in sorted(found, key=lambda k: (k[0], -k[1])):
            if not merged or k[0] >= merged[-1][1]:
                merged.append(k)
        return merged

    def read_values(self) -> None:
        keys = self.keys()
        if not keys:
            return
        # (a sentence without a word of a bare value's cue, nor a date, reads the numbers
        # after its first keyword only)
        bare = self.cues & _BARE_CUES or self.dates
        numbers = self._free_numbers(0 if bare else keys[0][1])
        if not numbers:  # (no value to read, keyed or bare)
            return
        text, values = self.text, self.values
        n_numbers, n_keys = len(numbers), len(keys)
        n_used = 0
        used = bytearray(n_numbers)  # (one flag a number; for the bare values)
        # Speed (issue 11): a key reads the first number in [its end, the next key's start);
        # earlier keys use numbers before that start only, so no number there is used yet,
        # and one forward walk over the numbers finds it for every key.
        j = 0
        for ki in range(n_keys):
            ks, ke, metric = keys[ki]
            next_key = keys[ki + 1][0] if ki + 1 < n_keys else len(text)
            while j < n_numbers and numbers[j][1] < ke:
                j += 1
            if j == n_numbers:
                break
            v, ns, ne = numbers[j]
            if ns >= next_key:
                continue
            gap = text[ke:ns]
            # (fewer than 9 characters hold at most 8 token starts)
            if (
                ns - ke > _MAX_KEY_GAP_TOKENS and self.tokens_between(ke, ns) > _MAX_KEY_GAP_TOKENS
            ) or (_may_break(gap) and _HARD_BREAK.search(gap)):
                continue
            head = ns
            values.append(_Value(v, ns, ne, ks, metric, True))
            used[j] = 1
            n_used += 1
            prev_end = ne
            j += 1
            while j < n_numbers:
                v, s, e = numbers[j]
                if s >= next_key or not _LIST_GLUE.match(text[prev_end:s]):
                    break
                values.append(_Value(v, s, e, s, metric, False, head))
                used[j] = 1
                n_used += 1
                prev_end = e
                j += 1
        if n_used < n_numbers and bare:
            self._read_bare_values(numbers, used)
        if len(values) > 1:
            values.sort(key=_START_OF)

    def _free_numbers(self, pos: int = 0) -> list[tuple[float, int, int]]:
        """(value, start, end) of each number not set aside that starts at ``pos`` or after
        (no number holds the end of an SUV keyword, which holds no digit)."""
        subject, zeros = self.subject, self.zeros
        if zeros is None:  # (other text, or before ``set_aside``: the pattern over the text)
            numbers = self.patterns.number.finditer(subject, pos)
        else:  # (plain text: its twin over the zeros text, a literal the search skips to)
            numbers = _NUMBER_ZERO.finditer(zeros, pos)
        out = []
        if self.taken.find(1, pos) < 0:  # (nothing set aside there: every number is free)
            for m in numbers:
                start, end = m.span()
                out.append((float(subject[start:end]), start, end))
            return out
        find = self.taken.find
        for m in numbers:
            start, end = m.span()
            if find(1, start, end) < 0:
                out.append((float(subject[start:end]), start, end))
        return out

    def _read_bare_values(self, numbers: list[tuple[float, int, int]], used: bytearray) -> None:
        """Bare values a cue introduces ("previously 2.8", "liver 2.3"), of the numbers not
        ``used`` (a flag each). (Run only when the sentence holds a word of one of those cues
        or a date: else none can match.)"""
        text, cues = self.text, self.cues
        for i, (v, s, e) in enumerate(numbers):
            if used[i]:
                continue
            lead = text[self.back(s, _LEFT_TOKENS_PRIOR, 0) : s]
            lead = _HARD_BREAK.split(lead)[-1] if _may_break(lead) else lead
            after = self.masked(e, min(len(text), e + 40))
            if (
                (cues & _PRIOR_BEFORE_CUES and _PRIOR_BEFORE.search(lead))
                or (cues & _REF_STRONG_CUES and _REF_STRONG.search(lead))
                or (cues & _CURRENT_BEFORE_CUES and _CURRENT_BEFORE.search(lead))
                or (cues & _REF_ORGAN_BEFORE_CUES and _REF_ORGAN_BEFORE.search(lead))
                or self.prior_after(after)
            ):
                self.values.append(_Value(v, s, e, s, "max", keyed=False))

    # ---- 3. roles
    def assign_roles(self) -> None:
        vals, cues = self.values, self.cues
        # (each test runs only where the sentence holds a word of its cues: none, no role)
        may_refer = cues & _REFERENCE_CUES
        may_be_prior = cues & _PRIOR_CUES or self.dates
        may_be_physiologic = cues & _PHYSIOLOGIC_CUES
        if not (may_refer or may_be_prior or may_be_physiologic):
            return  # (every value a lesion: lists follow their heads as they are)
        n, text = len(vals), self.text
        for i, val in enumerate(vals):
            lo = vals[i - 1].end if i else 0
            has_next = i + 1 < n
            hi = vals[i + 1].key_start if has_next else len(text)
            ref = may_refer and self._reference_cue(val, lo, hi, has_next)
            if ref:
                val.role, val.cue = REFERENCE, ref
                continue
            prior = may_be_prior and self._prior_cue(val, lo, hi, has_next)
            if prior:
                val.role, val.cue = PRIOR, prior
                continue
            if may_be_physiologic and self.window_may_hold(_PHYSIOLOGIC_GATE, val.end, hi):
                rest = text[val.end : hi]
                physiologic = _PHYSIOLOGIC.search(rest.split(";", 1)[0] if ";" in rest else rest)
                if physiologic:
                    val.role, val.cue = PHYSIOLOGIC, physiologic.group(0)
        if n > 1:  # (a list has two values at least)
            self._lists_follow_their_head()

    def window_may_hold(self, gate: re.Pattern[str], a: int, b: int) -> bool:
        """False when text[a:b] of an ASCII sentence holds no word of a cue's ``gate`` (then
        no match of the cue lies there); True for other text."""
        return not self._ascii or gate.search(self.low, a, b) is not None

    def _lists_follow_their_head(self) -> None:
        """List members take their head's role, except "from X to Y"."""
        vals = self.values
        starts = {v.start: v for v in vals}
        for val in vals:
            head = starts.get(val.head) if val.head is not None else None
            if head is None or val.cue is not None:
                continue
            glue = self.text[head.end : val.start]
            from_to = head.role == PRIOR and _FROM.search(head.cue or "") and _TO.search(glue)
            if not from_to and head.role != LESION:
                val.role, val.cue = head.role, head.cue

    def _right_context(self, val: _Value, hi: int) -> tuple[int, str]:
        """Text after the value up to the next value, without its own slice reference
        (kept on the value: the reference and the prior cue both read it)."""
        if val.right is not None and val.right[0] == hi:
            return val.right[1]
        text = self.masked(val.end, hi)
        m = _OWN_SLICE_AFTER.match(text)
        out = (m.end(), text[m.end() :]) if m else (0, text)
        val.right = (hi, out)
        return out

    def _belongs_to_next(self, rest: str, has_next: bool) -> bool:
        """Whether what follows a cue is only the lead-in of the next value."""
        return has_next and bool(_LEAD_IN.fullmatch(rest))

    def _reference_cue(self, val: _Value, lo: int, hi: int, has_next: bool) -> str | None:
        """The words that make the value a reference (or a criterion), or None. (None at
        once where the sentence holds no word of a reference cue.)"""
        if not self.cues & _REFERENCE_CUES:
            return None
        anchor = val.key_start
        left_start = self.back(anchor, _LEFT_TOKENS_REFERENCE, lo)
        left = self.text[left_start : val.start]
        # a strong cue leading up to the value ("blood pool activity with an SUV max of 1.9")
        cues, may_hold = self.cues, self.window_may_hold
        # (plain text: the twins over the lower-case window, the same spans; the cue's words
        # are read from the text)
        plain = self._plain
        read = self.low[left_start : val.start] if plain else left
        strong = (
            list((_REF_STRONG_TWIN if plain else _REF_STRONG).finditer(read))
            if cues & _REF_STRONG_CUES and may_hold(_REF_STRONG_GATE, left_start, val.start)
            else ()
        )
        if strong:
            m = strong[-1]
            between = left[m.end() :]
            cut = left_start + m.start()
            described = may_hold(
                _COMPARATIVE_DESCRIPTION_GATE, 0, cut
            ) and _COMPARATIVE_DESCRIPTION.search(self.text[:cut])
            if not (described and _CLAUSE_BREAK.search(between)):
                return left[m.start() : m.end()]
        # an organ named as the measured reference ("liver SUVmean 2.1", "compared to liver")
        organs = (
            list((_REF_ORGAN_TWIN if plain else _REF_ORGAN).finditer(read))
            if cues & _REF_ORGAN_CUES
            else ()
        )
        if organs:
            m = organs[-1]
            before = self.text[lo : left_start + m.start()]
            between = left[m.end() : anchor - left_start if anchor > left_start else None]
            compared: object = (
                self.cues & _COMPARE_CUES and _COMPARE.search(left[: m.start()]) is not None
            )
            attached = (
                self.tokens_between(left_start + m.end(), anchor) <= 2
                and not _LESION_NOUN.search(between)
                and not _LOCATION_PREP.search(before)
            )
            right_before_value = self.tokens_between(left_start + m.end(), val.start) <= 1
            if compared or attached or (right_before_value and not _LESION_NOUN.search(between)):
                return left[m.start() : m.end()]
        threshold = (
            cues & _THRESHOLD_BEFORE_CUES
            and may_hold(_THRESHOLD_BEFORE_GATE, anchor if val.keyed else left_start, val.start)
            and _THRESHOLD_BEFORE.search(self.text[anchor : val.start] if val.keyed else left)
        )
        if threshold:  # "SUV greater than 2.5": a criterion, not a measured lesion
            return "criterion " + threshold.group(0).strip()
        # a cue right after the value ("versus 2.3 in the liver", "1.9 (blood pool)")
        if not cues & _RIGHT_REFERENCE_CUES:
            return None
        _, right = self._right_context(val, hi)
        criterion = cues & _CRITERION_AFTER_CUES and _CRITERION_AFTER.match(right)
        if criterion:  # "an SUVmax of 2.5 was used as the threshold"
            return criterion.group(0).strip(" ,(")
        # (whether the words before the value compare: read once, for both tests below)
        compared = (
            cues & _COMPARE_CUES
            and may_hold(_COMPARE_GATE, left_start, val.start)
            and _COMPARE.search(left)
        )
        m2 = cues & _REF_AFTER_CUES and _REF_AFTER.match(right)
        if m2 and not self._belongs_to_next(right[m2.end() :], has_next):
            parenthesised = right[: m2.start() + 3].lstrip().startswith("(")
            if (
                not val.keyed
                or compared
                or parenthesised
                or (
                    cues & _REF_STRONG_CUES and _REF_STRONG.match(right[m2.start() :].lstrip(" ,("))
                )
            ):
                return m2.group(0).strip(" ,(")
        if compared and _CONTRALATERAL.search(left + right):
            return "contralateral"
        return None

    def _prior_cue(self, val: _Value, lo: int, hi: int, has_next: bool) -> str | None:
        """The words that make the value a prior one, or None. (Each cue is read only where
        the sentence holds one of its words, or a date for the cue after the value.)"""
        anchor, cues = val.key_start, self.cues
        # "now 4.1", "currently SUV max is 3.3": a current cue right before the value
        if cues & _CURRENT_CUES:
            near = self.text[self.back(anchor, 2 if val.keyed else 1, lo) : val.start]
            if _CURRENT.search(near):
                val.current = True
                return None
        if cues & _PRIOR_BEFORE_CUES:
            left_start = self.back(anchor, _LEFT_TOKENS_PRIOR, lo)
            found = (
                list(_PRIOR_BEFORE.finditer(self.text[left_start : val.start]))
                if self.window_may_hold(_PRIOR_BEFORE_GATE, left_start, val.start)
                else ()
            )
            if found:
                m = found[-1]
                between = self.text[left_start + m.end() : anchor]
                framing = _CLAUSE_BREAK.search(between)  # "Compared to prior, SUV max is 5.5"
                if not framing:
                    return m.group(0)
        if not self.dates and not cues & _PRIOR_AFTER_CUES:
            return None
        _, right = self._right_context(val, hi)
        after = self.prior_after(right)
        rest = right[after.end() :] if after else ""
        if after and not self._introduces_number(rest) and not (has_next and not rest.strip()):
            return after.group(0).strip(" ,;:()-")
        return None

    @staticmethod
    def _introduces_number(rest: str) -> bool:
        return bool(_NUMBER_NEXT.match(rest))

    # ---- 4. slices to values
    def pair_slices(self) -> None:
        if self.slices:  # (a sentence without a slice reference pairs nothing)
            self._pair_given_slices()
        if self.cues & _CURRENT_CUES:  # (a value is "current" only after such a word)
            self._earlier_before_now()

    def _pair_given_slices(self) -> None:
        vals, refs = self.values, self.slices
        axial = [r for r in refs if r.plane == "axial"]
        zipped = (
            self.may_contain("respectively")
            and _RESPECTIVELY.search(self.text)
            and self._zip_respectively(axial)
        )
        if not zipped:
            for val, ref in self._pairs(axial, vals):
                val.ref = ref
        if len(axial) < len(refs):  # coronal, sagittal or MIP numbers
            other = [r for r in refs if r.plane != "axial"]
            for val, ref in self._pairs(other, [v for v in vals if not v.ref]):
                val.other_plane = ref
        if len(axial) == 1:
            self._share_the_one_slice(axial[0])
        if len(vals) > 1:
            self._share_within_lists()

    def _share_the_one_slice(self, one: _SliceRef) -> None:
        """The one axial slice of a sentence goes to its lesions when it comes before them
        ("On image 80, X SUV 5.5 and Y SUV 3.1"), and to every value of a workstation's
        measurement block."""
        vals = self.values
        lesions = [v for v in vals if v.role == LESION]
        if lesions and one.end <= lesions[0].key_start and one.group is None:
            for val in lesions:
                val.ref = val.ref or one
        if self._may_open_a_line_with("slice") and _VENDOR_SLICE.search(self.text):
            for val in vals:
                val.ref = val.ref or one

    def _may_open_a_line_with(self, word: str) -> bool:
        """False when no line of the sentence can start with the lower-case ``word`` after
        white space, as _VENDOR_SLICE's "^\\s*" reads it: ASCII text that has no newline
        and does not start so (a cheap test before the search, issue 11 speed)."""
        if not self._ascii or "\n" in self.text:
            return self.may_contain(word)
        return self.low.lstrip().startswith(word)

    def _share_within_lists(self) -> None:
        """Values listed together share one slice ("6.2 and 4.8 on slice 120")."""
        vals = self.values
        for val in vals:
            if val.ref is not None or val.role != LESION:
                continue
            siblings = [v for v in vals if v is not val and _group(v) == _group(val)]
            shared = {id(s.ref): s.ref for s in siblings if s.ref and s.ref.group is None}
            if len(shared) == 1:
                val.ref = next(iter(shared.values()))

    def _earlier_before_now(self) -> None:
        """ "the node (SUV 6.3) now measures SUV 4.1 (image 80)": what came before "now",
        without a slice of its own, is the earlier value."""
        vals = self.values
        now = [i for i, v in enumerate(vals) if v.current and v.role == LESION]
        for val in vals[: now[0]] if now else []:
            if val.role == LESION and val.ref is None and val.cue is None:
                val.role, val.cue = PRIOR, "now (later in the sentence)"

    def _zip_respectively(self, axial: list[_SliceRef]) -> bool:
        lesions = [v for v in self.values if v.role == LESION]
        groups: dict[int, list[_SliceRef]] = {}
        for r in axial:
            if r.group is not None:
                groups.setdefault(r.group, []).append(r)
        for refs in groups.values():
            if len(refs) == len(lesions) >= 2:
                for v, r in zip(lesions, refs, strict=True):
                    v.ref = r
                return True
        return False

    def _pairs(self, refs: list[_SliceRef], vals: list[_Value]) -> list[tuple[_Value, _SliceRef]]:
        """Values and references paired one to one at the least total cost (``_pair_cost``);
        none beyond _MAX_PAIR_COST."""
        if not refs or not vals:
            return []
        cost_of = self._pair_cost
        if len(refs) == 1 and len(vals) == 1:  # (the common case: no assignment to solve)
            return [(vals[0], refs[0])] if cost_of(refs[0], vals[0]) < 1e6 else []
        cost = [[cost_of(r, v) for v in vals] for r in refs]
        return [(vals[j], refs[i]) for i, j in _min_cost_pairs(cost) if cost[i][j] < 1e6]

    def _pair_cost(self, r: _SliceRef, v: _Value) -> float:
        """Token distance between a reference and a value (a comma, a hard break or a
        non-lesion value cost more); 1e6 (no pairing) for overlapping spans or beyond
        _MAX_PAIR_COST."""
        a, b = (v.end, r.start) if v.end <= r.start else (r.end, v.start)
        if a > b:  # overlapping spans: the value sits inside the reference
            return 1e6
        gap = self.text[a:b]
        c = self.tokens_between(a, b) + 2.0 * gap.count(",")
        if _may_break(gap):
            c += 12.0 * len(_HARD_BREAK.findall(gap))
        if v.role != LESION:
            c += 3.0
        return c if c <= _MAX_PAIR_COST else 1e6

    # ---- 5. stretches: laterality and anatomy
    def stretches(self) -> None:
        vals = self.values
        if len(vals) == 1:  # (one value: the whole sentence)
            vals[0].stretch = (0, len(self.text))
            return
        ends = [max(v.end, v.ref.end if v.ref else 0) for v in vals]
        bounds = [0]
        text = self.text
        for i in range(len(vals) - 1):
            a, b = ends[i], vals[i + 1].key_start
            # (the first break in text[a:b], searched in place: the pattern reads nothing
            # before where it is tried, and the end as the slice's end)
            sep = _STRETCH_BREAK.search(text, a, b) if b > a else None
            bounds.append(sep.start() if sep else max(a, min(b, ends[i])))
        bounds.append(len(self.text))
        for i, val in enumerate(vals):
            val.stretch = (bounds[i], bounds[i + 1] if i + 1 < len(vals) else len(self.text))

    def side_of(self, val: _Value) -> str | None:
        """The side the stretches of the value's list give (read once per list)."""
        if not self.cues & _SIDE_CUES:  # (no side word in the sentence)
            return None
        sides, group = self._sides, _group(val)
        if group not in sides:
            sides[group] = self._side_of_group(group)
        return sides[group]

    def _side_of_group(self, group: int) -> str | None:
        vals = self.values
        several = len(vals) > 1
        found: list[tuple[str, str, str]] = []  # the side words: groups "bi", "l", "r"
        side, subject = self.patterns.side, self.subject
        for v in vals:
            if several and _group(v) != group:
                continue
            a, b = v.stretch
            # (Speed, issue 11: findall, no match objects; the stretch is searched in place,
            # as a slice of its own: the end as the slice's end; the start too where no word
            # character comes before it, the one thing the pattern reads before where it is
            # tried, at its "\b")
            if a and _is_word(subject[a - 1]):
                found += side.findall(subject[a:b])
            else:
                found += side.findall(subject, a, b)
        left = right = False
        for bilateral, lt, _ in found:
            if bilateral:
                return "bilateral"
            if lt:
                left = True
            else:
                right = True
        if left and right:
            return "bilateral"
        return "left" if left else "right" if right else None

    def anatomy_of(self, val: _Value) -> tuple[str, ...]:
        """The organ keys of the value's stretch, by where they start (then by name)."""
        hits = self._anatomy_by_start
        if hits is None:  # (ordered once a sentence, not once a value)
            hits = self._anatomy_by_start = _by_start_then_key(self.anatomy_hits())
        if not hits:
            return ()
        a, b = val.stretch
        if a == 0 and b == len(self.text):  # (the whole sentence, as for its one value)
            keys = [key for _, _, key in hits]
        else:
            keys = [key for s, e, key in hits if a <= s and e <= b]
        # (one key needs no dict to drop repeats: the commonest case, issue 11 speed)
        return (keys[0],) if len(keys) == 1 else tuple(dict.fromkeys(keys))

    def anatomy_hits(self) -> list[tuple[int, int, str]]:
        """Every organ word of the sentence (start, end, key), found once: each key's
        pattern is tried only where some organ word starts (plain text: ``_organ_hits``)."""
        if self._anatomy is None:
            if self._plain and not _ANATOMY_LETTER_ONLY:
                self._anatomy = _organ_hits(cast(str, self.after_space))
                return self._anatomy
            text, low = self.text, self.low
            if self._ascii and not _ANATOMY_LETTER_ONLY:
                starts = list(map(_START, _ORGAN_START.finditer(" " + low)))
            else:
                starts = [w.start() for w in _WORD_START.finditer(text)]
            plain = self._plain  # (the organ patterns' twins read the lower-case text)
            self._anatomy = [
                (m.start(), m.end(), key)
                for at in starts
                for pattern, key in _organ_patterns_at(text, at)
                if (m := _TWINS[id(pattern)].match(low, at) if plain else pattern.match(text, at))
            ]
        return self._anatomy


def _is_word(char: str) -> bool:
    """Whether ``\\w`` matches the character (Unicode; on ASCII the same as ASCII's)."""
    return char.isalnum() or char == "_"


def _organ_hits(after_space: str) -> list[tuple[int, int, str]]:
    """The organ words (start, end, key) of a plain sentence's lower-case text, given " " +
    it, as its twins find them at its organ word starts (``_ORGAN_SCAN``: one search, not one
    match per start and pattern)."""
    hits = []
    for m in _ORGAN_SCAN.finditer(after_space):
        # (at: the word start in the text; at + 1 here; a match holds one group)
        at, g = m.start(), cast(int, m.lastindex)
        key, later, index = _ORGAN_AFTER[g - 1]
        hits.append((at, m.start(g) - 1, key))
        # (the later patterns at the word start: what comes before it reads alike, " " for
        # the text's start)
        while later is not None and (hit := later.match(after_space, at + 1)) is not None:
            g = cast(int, hit.lastindex)
            key, later, index = _ORGAN_AFTER[index[g]]
            hits.append((at, hit.start(g) - 1, key))
    return hits


def _by_start_then_key(hits: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Organ hits (start, end, key), as ``anatomy_hits`` gives them (by start; at one start,
    by pattern), ordered by start, then key, then end. Speed (issue 11): only a start that
    holds two hits or more needs a sort; hits are seldom so."""
    if len(hits) > 1 and len({s for s, _, _ in hits}) < len(hits):
        return sorted(hits, key=_START_KEY_END)
    return hits


def _START_KEY_END(hit: tuple[int, int, str]) -> tuple[int, str, int]:
    return hit[0], hit[2], hit[1]


def _organ_patterns_at(text: str, at: int) -> list[tuple[re.Pattern[str], str]]:
    """The organ patterns that can match at the word start ``at``: those of its first
    ``_PREFIX`` letters (letters outside plain ASCII: those of its first letter, as before;
    under (?i), "ſ" matches "s")."""
    prefix = text[at : at + _PREFIX].lower()
    found = _ANATOMY_BY_PREFIX.get(prefix)
    if found is not None:
        return found
    if prefix.isascii():
        return _ANATOMY_LETTER_ONLY.get(prefix[:1], [])
    return _ANATOMY_BY_LETTER.get(text[at].lower(), [])


def _carry_slice(analysis: _Sentence, text: str, previous: tuple[int, int], base: int) -> None:
    """ "A lesion in the right hepatic lobe (series 2, image 140). Its SUVmax is 7.7.": a
    sentence that refers back to the finding of the sentence before, in the same paragraph,
    and gives no slice of its own, takes that sentence's one axial slice."""
    if analysis.slices or not _REFERS_BACK.match(analysis.text):
        return
    lesions = [v for v in analysis.values if v.role == LESION and v.ref is None]
    if not lesions or _PARAGRAPH.search(text, previous[1], base):
        return
    before = text[previous[0] : previous[1]]
    earlier = _Sentence(before, None, ())
    earlier.set_aside()
    axial = [r for r in earlier.slices if r.plane == "axial"]
    if len(axial) == 1:
        for val in lesions:
            val.ref = axial[0]


def _listed(more: str | None) -> list[int]:
    """The numbers a reference lists after its first ("slices 104, 110 and 120": the
    "more" group ", 110 and 120")."""
    return [int(x) for x in _DIGITS.findall(more)] if more else []


def _START_OF(val: _Value) -> int:
    return val.start


def _min_cost_pairs(cost: list[list[float]]) -> list[tuple[int, int]]:
    """The one-to-one pairing of rows and columns with the least total cost (a row or a
    column alone: its cheapest partner; else the Hungarian method of scipy)."""
    if len(cost) == 1:
        row = cost[0]
        return [(0, min(range(len(row)), key=row.__getitem__))]
    if len(cost[0]) == 1:
        return [(min(range(len(cost)), key=lambda i: cost[i][0]), 0)]
    from scipy.optimize import linear_sum_assignment

    rows, cols = linear_sum_assignment(np.array(cost))
    return list(zip(rows.tolist(), cols.tolist(), strict=True))


def _group(val: _Value) -> int:
    """Values listed together ("3.71 and 3.56") share the start of the first one."""
    return val.head if val.head is not None else val.start


# ---- public API -----------------------------------------------------------------------------


_SHORT_FORM_RE = re.compile(r"\(\s*([A-Za-z][A-Za-z0-9-]{1,9})\s*\)")
_UPTAKE_RE = re.compile(r"(?i)standardi[sz]ed\s+uptake")


def _abbreviation_keys(text: str) -> set[str]:
    """Short forms a report defines for "standardized uptake value" ("... (MSUV)")."""
    from extractors.reports.shortforms import long_form_start

    keys: set[str] = set()
    if "(" not in text:
        return keys
    for m in _SHORT_FORM_RE.finditer(text):
        short = m.group(1)
        words = text[: m.start()].split()[-min(len(short) + 5, len(short) * 2) :]
        window = " ".join(words)
        at = long_form_start(window, short)
        if at is not None and _UPTAKE_RE.search(window[at:]):
            keys.add(short)
    return keys


# SuvMention(*values) without its frozen __init__ (issue 11 speed)
_new_mention = instance_maker(SuvMention)


def _mentions_of(analysis: _Sentence, base: int) -> list[SuvMention]:
    """The mentions of an analysed sentence's values (offsets in the whole text)."""
    sentence = analysis.text
    sentence_end = base + len(sentence)
    out = []
    for val in analysis.values:
        ref = val.ref
        if ref is None:
            middle = slice_range = series = None
        elif ref.range_end is None:
            middle, slice_range, series = ref.number, None, ref.series
        else:  # "slices 51-53": the middle one
            a, b = ref.number, ref.range_end
            middle, slice_range, series = (a + b) // 2, (min(a, b), max(a, b)), ref.series
        other = val.other_plane
        out.append(
            _new_mention(
                val.suv,
                middle,  # slice
                val.role,
                analysis.side_of(val),  # laterality
                sentence,
                base + val.start,  # start, end
                base + val.end,
                base,  # sentence_start, sentence_end
                sentence_end,
                val.metric,
                slice_range,
                series,
                other.plane if other is not None else None,  # non_axial
                val.cue,
                analysis.anatomy_of(val),
            )
        )
    return out


def extract_suv_mentions(text: str) -> list[SuvMention]:
    """Every SUV value the report text states, in order, with slice, role, side and offsets."""
    if not text or not text.strip():
        return []
    extra = _abbreviation_keys(text)
    low = text.lower() if _plain(text) else None  # (each sentence's lower case)
    letters = _letters_only(low) if low is not None else None  # (the sentences' cue words)
    # (the digit-led patterns' text, made once a report; a report without date-like digits
    # has no sentence with them: the date gate has no lookaround)
    zeros = _digits_as_zero(low) if low is not None else None
    dated = zeros is None or _DATE_GATE_ZERO.search(zeros) is not None
    tokens = _ReportTokens(text) if text.isascii() else None
    mentions: list[SuvMention] = []
    previous: tuple[int, int] | None = None  # the sentence before, when it read no value
    for base, end in sentence_spans(text):
        stripped = text[base:end]
        maybe = (
            _MAYBE_KEY_LOWER.search(low, base, end) or _MAYBE_LONG_LOWER.search(low, base, end)
            if low is not None
            else _MAYBE_VALUE.search(stripped)
        )
        if not maybe and not extra:
            previous = (base, end)
            continue
        # (the arguments by position: a class call passes keywords in a dict, issue 11 speed)
        analysis = _Sentence(
            stripped,
            None,  # (its token starts: when first needed)
            extra,
            True if low else None,  # plain
            low[base:end] if low is not None else None,  # low
            tokens,  # report
            base,
            letters,
            zeros[base:end] if zeros is not None else None,
            dated,
        )
        analysis.set_aside()
        analysis.read_values()
        if not analysis.values:
            previous = (base, end)
            continue
        analysis.assign_roles()
        analysis.pair_slices()
        analysis.stretches()
        if previous is not None:
            _carry_slice(analysis, text, previous, base)
        previous = None
        mentions += _mentions_of(analysis, base)
    return mentions


_NAME_RE = re.compile(r"(?i)\b(?:dr|mr|mrs|ms|prof)\.?\s+[A-Z][a-zA-Z'-]+(?:\s+[A-Z][a-zA-Z'-]+)?")
_REDACTIONS = (
    (_DATE_RE, "[date]"),
    (re.compile(r"(?i)(?<!\()\b\d{1,2}:[0-5]\d(?::\d{2})?(?:\s*(?:am|pm|h))?\b(?!\))"), "[time]"),
    (_NAME_RE, "[name]"),
    (re.compile(r"\b\d{6,}\b"), "[id]"),
    (re.compile(r"(?i)\b(?:mrn|accession|acc|patient\s+id)\s*(?:#|no\.?|:)?\s*\S+"), "[id]"),
    (re.compile(r"\S+@\S+\.\w+"), "[email]"),
    (re.compile(r"\(?\b\d{3}\)?[\s.-]\d{3}[\s.-]\d{4}\b"), "[phone]"),
)


def redact(text: str) -> str:
    """Report text safe to publish: ``extractors.deid.deidentify`` (kept for callers)."""
    from extractors.deid import deidentify

    return deidentify(text)
