"""Finding mentions in chest X-ray and chest CT reports: what finding, where (a taxonomy
structure of ``extractors.ct.taxonomy``), which side, negated or uncertain, with the
sentence and character offsets.

Rules only, no model: a plain tokenizer and sentence splitter (``extractors.reports.tokens``),
phrase rules for findings and anatomy (``extractors.reports.lexicon`` compiled by
``extractors.reports.matcher``: set lookups and prefix tests, no per-token regex), short forms
a report defines ("chronic obstructive pulmonary disease (COPD)") read as their long form,
and NegEx twice (``extractors.reports.negex``, negspacy's algorithm and termsets): once for
negation, once for uncertainty. Everything is compiled once per process (``rules()``).
Sections: mentions come from the findings and impression (and text under no header);
indication, history, comparison and technique are skipped. Normal statements ("heart size is
normal", "lungs are clear") name no finding and give no mention.

Until issue 11 this ran as a spaCy pipeline (sentencizer, scispaCy's abbreviation detector, a
token Matcher with regex predicates, two negspacy components) at about 200 reports/s; the
same rules now read thousands of reports per second, with the same mentions on the 800 IU
reports apart from sentence offsets (no leading or trailing whitespace) and sentences split
at "word.Word" where spaCy kept one token."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from extractors.ct.taxonomy import region_structure
from extractors.instances import instance_maker
from extractors.reports.lexicon import (
    ANATOMY,
    FINDINGS,
    NEGATION,
    NORMAL_FOR_AGE,
    NOT_FINDINGS,
    SIDE_WORDS,
    UNCERTAINTY,
)
from extractors.reports.matcher import PhraseRules, longest
from extractors.reports.negex import Negex
from extractors.reports.shortforms import long_form_start
from extractors.reports.tokens import Tokens, sentence_bounds, tokenize

EXTRACTOR = "extractors.reports"

_SECTION_WORDS = (
    r"(findings|impressions?|conclusions?|summary|indications?|"
    r"clinical history|history|comparisons?|technique|examination|exam|procedure|"
    r"reason for (?:exam|study)|recommendations?)"
)
_SECTION_RE = re.compile(rf"(?im)(?<![^\s.]){_SECTION_WORDS}\s*:")
# the same header, read backwards from a colon (a report has few colons: cheaper than a scan)
_HEADER_BEFORE_COLON = re.compile(rf"(?i)(?<![^\s.]){_SECTION_WORDS}\s*\Z")
_KEEP_SECTIONS = {"findings", "impression", "conclusion", "summary"}
_INTERNAL_NEGATION = frozenset({"not", "no", "without", "never"})
_OUT_OF_FIELD = {"abdomen"}  # below the diaphragm: not a finding of the chest radiograph

# where a finding lies when the sentence names no anatomy
DEFAULT_REGION: dict[str, str] = {
    "pleural_effusion": "lung_base",
    "blunting": "lung_base",
    "pneumothorax": "lung",
    "cardiomegaly": "heart",
    "pericardial_effusion": "heart",
    "edema": "lung",
    "emphysema": "lung",
    "hyperinflation": "lung",
    "low_lung_volumes": "lung",
    "interstitial_markings": "lung",
    "scoliosis": "spine",
    "kyphosis": "spine",
    "degenerative_change": "spine",
    "aortic_tortuosity": "aorta",
    "hernia": "lower_mediastinum",
    "elevated_hemidiaphragm": "hemidiaphragm",
    "flattened_diaphragm": "hemidiaphragm",
    "obscured_diaphragm": "hemidiaphragm",
    "mediastinal_widening": "mediastinum",
}
# devices and surgical material are reported wherever they are (a chest radiograph shows
# clips in the right upper quadrant), so they are kept out of the chest's field too
_ANYWHERE = frozenset({"support_device", "postsurgical_change"})
# "old right rib fractures", "deformity ... related to remote trauma": present, not counted
# as a positive finding (the MeSH coders code such reports normal)
_CHRONIC_FINDINGS = frozenset({"fracture", "deformity"})
_CHRONIC_WORDS = frozenset({"old", "healed", "healing", "remote", "prior", "chronic", "ununited"})
# findings whose anatomy is the finding itself, whatever the words around them
FIXED_REGION: dict[str, str] = {
    "cardiomegaly": "heart",
    "pericardial_effusion": "heart",
    "scoliosis": "spine",
    "kyphosis": "spine",
    "mediastinal_widening": "mediastinum",
}
# regions that, named without a side ("basilar atelectasis", "apical scarring", "lower lobe
# atelectasis"), radiologists and the MeSH coders read as both sides
_BOTH_WHEN_UNSIDED = frozenset({"lung_base", "lower_lobe", "apical_zone", "upper_zone"})
_BOTH_SIDES_FINDINGS = frozenset({"flattened_diaphragm"})
# a side the clause gives at its end, for every finding of it
_TRAILING_SIDE_RE = re.compile(
    r"\b(?:are|is)\s+(?:present|seen|noted|identified|visible)\s+(?:on|in|at)\s+the\s+"
    r"(left|right)(?:\s+side)?\W*$"
)
_AORTA_REGIONS = {"aorta", "aortic_arch", "ascending_aorta", "descending_aorta"}
# findings that are about the whole of both lungs when no side is given
_BOTH_LUNGS = {"edema", "emphysema", "hyperinflation", "low_lung_volumes", "interstitial_markings"}


@dataclass(frozen=True)
class FindingMention:
    """One mention of a finding in a report."""

    finding: str  # key of extractors.reports.lexicon.FINDINGS
    text: str  # the words that name it
    anatomy: str | None  # taxonomy structure id (a bilateral group when both sides)
    laterality: str | None  # "left", "right", "bilateral" or None (patient's side)
    negated: bool
    uncertain: bool
    sentence: str
    start: int  # character offsets of ``text`` in the report
    end: int
    sentence_start: int
    sentence_end: int
    section: str | None  # findings, impression, ... or None (no header)
    region: str | None = None  # anatomy region words resolved to (lung_base, upper_lobe...)
    normal_for_age: bool = False  # degenerative change of the spine: present, read as normal
    chronic: bool = False  # an old, healed or remote fracture or deformity

    @property
    def present(self) -> bool:
        """Stated as there (neither negated nor uncertain)."""
        return not self.negated and not self.uncertain

    @property
    def positive(self) -> bool:
        """A present abnormality (present, and neither read as normal for age nor old)."""
        return self.present and not self.normal_for_age and not self.chronic


def finding_words(key: str) -> str:
    return FINDINGS[key][0] if key in FINDINGS else key.replace("_", " ")


# ---- the rules, built once -----------------------------------------------------------------


@dataclass(eq=False)
class _Rules:
    # findings ("F", key), phrases that are no finding ("U", ""), anatomy ("A", region|side):
    # one set of rules, so a text is scanned once
    words: PhraseRules
    negex: Negex  # "negation" and "uncertainty" termsets, scanned together

    def findings(self, toks: Tokens) -> list[tuple[str, int, int]]:
        return [(label[2:], s, e) for label, s, e in self.words(toks) if label[0] == "F"]


@functools.cache
def rules() -> _Rules:
    """Every rule of the extractor, compiled once per process."""
    words = [(f"F|{key}", phrases) for key, (_w, phrases) in FINDINGS.items()]
    words.append(("U|", NOT_FINDINGS))
    words += [(f"A|{region}|{side or ''}", [p]) for p, region, side in ANATOMY]
    return _Rules(
        words=PhraseRules(words), negex=Negex({"negation": NEGATION, "uncertainty": UNCERTAINTY})
    )


@dataclass
class _Doc:
    """One section's tokens with its finding spans (``ents``: start, end, label) and anatomy
    spans (start, end, region, side)."""

    toks: Tokens
    ents: list[tuple[int, int, str]]
    anatomy: list[tuple[int, int, str, str | None]]


_ABBREVIATION_RE = re.compile(r"\(\s*([A-Za-z][A-Za-z0-9-]{1,9})\s*\)")


def short_forms(text: str, r: _Rules) -> dict[str, str]:
    """Short forms the text defines whose long form names a finding ("chronic obstructive
    pulmonary disease (COPD)"): lower-case short form -> finding key. De-identification
    marks ("(XXXX)") define nothing."""
    out: dict[str, str] = {}
    if "(" not in text:
        return out
    for m in _ABBREVIATION_RE.finditer(text):
        short = m.group(1)
        if not any(ch.isupper() for ch in short) or set(short) == {"X"}:
            continue
        words = text[: m.start()].split()[-min(len(short) + 5, len(short) * 2) :]
        window = " ".join(words)
        at = long_form_start(window, short)
        if at is None:
            continue
        label = _long_form_finding(window[at:], r)
        if label:
            out.setdefault(short.lower(), label)
    return out


@functools.lru_cache(maxsize=65536)
def _long_form_finding(long_form: str, r: _Rules) -> str | None:
    """The finding a long form names ("chronic obstructive pulmonary disease"), if any."""
    inner = r.findings(tokenize(long_form, one_sentence=True))
    return inner[0][0] if inner else None


def _read(
    chunk: str, r: _Rules, one_sentence: bool = False, shorts: dict[str, str] | None = None
) -> _Doc:
    """Tokens, finding spans and anatomy spans of one section (or of one sentence);
    ``shorts``: the short forms the section defines (every occurrence is labelled)."""
    toks = tokenize(chunk, one_sentence)
    labelled: dict[tuple[int, int], str] = {}
    spans: list[tuple[int, int]] = []
    blocked: list[tuple[int, int]] = []
    amatches: list[tuple[str, int, int]] = []
    for label, s, e in r.words(toks):  # one pass over the matches, by kind
        kind = label[0]
        if kind == "F":
            labelled[(s, e)] = label[2:]
            spans.append((s, e))
        elif kind == "U":
            blocked.append((s, e))
        else:
            amatches.append((label[2:], s, e))
    for i, w in enumerate(toks.lower) if shorts else ():
        label = shorts.get(w)  # type: ignore[union-attr]
        if label is not None and (i, i + 1) not in labelled:
            labelled[(i, i + 1)] = label
            spans.append((i, i + 1))
    kept: list[tuple[int, int]] = []
    for s, e in longest(spans):
        if blocked and any(a <= s and e <= b for a, b in blocked):
            continue
        if kept and kept[-1][1] == s and labelled[kept[-1]] == labelled[(s, e)]:
            merged = (kept[-1][0], e)  # "stimulator device": one mention
            labelled[merged] = labelled[(s, e)]
            kept[-1] = merged
            continue
        kept.append((s, e))
    ents = [(s, e, labelled[(s, e)]) for s, e in kept]
    anatomy: list[tuple[int, int, str, str | None]] = []
    if ents and amatches:
        alabels: dict[tuple[int, int], str] = {}
        for label, s, e in amatches:  # words two rules name alike: the one with a side wins
            if not alabels.get((s, e), "|").endswith("|") and label.endswith("|"):
                continue
            alabels[(s, e)] = label
        for s, e in longest([(s, e) for _l, s, e in amatches]):
            region, _, side = alabels[(s, e)].partition("|")
            anatomy.append((s, e, region, side or None))
    return _Doc(toks, ents, anatomy)


# ---- sections -----------------------------------------------------------------------------


def sections(text: str) -> list[tuple[str | None, int, int]]:
    """``(name, start, end)`` of each part of the report: text before the first header has
    no name."""
    marks = []
    at = text.find(":")
    while at >= 0:
        m = _HEADER_BEFORE_COLON.search(text, max(0, at - 40), at)
        if m:
            marks.append((m.group(1).lower(), m.start(), at + 1))
        at = text.find(":", at + 1)
    out: list[tuple[str | None, int, int]] = []
    if not marks:
        return [(None, 0, len(text))]
    if text[: marks[0][1]].strip():
        out.append((None, 0, marks[0][1]))
    for i, (name, _s, e) in enumerate(marks):
        end = marks[i + 1][1] if i + 1 < len(marks) else len(text)
        canon = (
            name.rstrip("s")
            if name.endswith(
                ("impressions", "conclusions", "indications", "comparisons", "recommendations")
            )
            else name
        )
        out.append((canon, e, end))
    return out


# ---- anatomy and laterality ---------------------------------------------------------------


_SIDE_KEYS = frozenset(SIDE_WORDS)


def _side_of_words(words) -> str | None:
    hits = _SIDE_KEYS.intersection(words)
    return _combine(map(SIDE_WORDS.__getitem__, hits)) if hits else None


def _combine(sides) -> str | None:
    """One side from several: "left", "right" or "bilateral" (None entries ignored); two
    different sides, or "bilateral" among them, make "bilateral"."""
    sides = set(sides)
    sides.discard(None)
    sides.discard("")
    if not sides:
        return None
    return next(iter(sides)) if len(sides) == 1 else "bilateral"


_GREATER_RE = re.compile(
    r"\b(right|left) (?:greater|more|worse|larger|more marked) than (?:on )?(?:the )?(left|right)\b"
)
# windows (tokens) around a finding in which anatomy words are taken to describe it
_NEAR_BEFORE, _AFTER, _FAR_BEFORE, _SIDE_WORDS_BEFORE = 3, 10, 8, 8


_COORDINATION = frozenset(
    {"and", "or", ",", "the", "in", "of", "/", "&", "at", "on", "both", "xxxx", "upper", "lower"}
    | {"mid", "middle", "lateral", "medial", "anterior", "posterior", "inferior", "superior"}
)
_ON_SIDE_RE = re.compile(
    r"^\W*(?:on|at|in|to|along|of)\s+(?:the\s+)?(left|right)\b(?!\s+\w+\s+than)"
)


def _sided(span: tuple[int, int, str, str | None], lower: list[str], lo: int) -> str | None:
    """The side of an anatomy span: its own, else side words just before it."""
    s, e, _region, side = span
    return side or _side_of_words(lower[max(lo, s - 3) : e])


def _coordinated(
    ent: tuple[int, int, str], doc: _Doc, chosen, sent: tuple[int, int]
) -> list[tuple[str, str]]:
    """(region, side) of anatomy coordinated with the chosen one ("granulomas in the right
    upper lobe and left lower lobe", "bibasilar and right midlung opacities"): each is a
    finding of its own on its side."""
    if chosen is None:
        return []
    lower = doc.toks.lower
    spans = [a for a in doc.anatomy if sent[0] <= a[0] < sent[1]]
    if len(spans) < 2:  # nothing to be coordinated with
        return []
    try:
        k = next(i for i, a in enumerate(spans) if a[0] == chosen[0] and a[1] == chosen[1])
    except StopIteration:
        return []
    out = []
    es, ee, _label = ent

    def joined(a, b) -> bool:  # only coordination and side words between two anatomy spans
        between = lower[a[1] : b[0]]
        return all(w in _COORDINATION or w in SIDE_WORDS for w in between)

    step = 1 if chosen[0] >= ee else -1
    i = k
    while 0 <= i + step < len(spans) and (
        joined(spans[i], spans[i + step]) if step == 1 else joined(spans[i + step], spans[i])
    ):
        i += step
        nxt = spans[i]
        if es <= nxt[0] < ee or (step == 1 and nxt[0] - ee > _AFTER + 6):
            break
        side = _sided(nxt, lower, sent[0])
        if side:
            out.append((nxt[2], side))
    return out


def _pick(group, key: int, lower: list[str], sent_start: int):
    """The nearest candidate of a group (by its distance ``key``), those with a side first."""
    if not group:
        return None
    if len(group) == 1:
        return group[0]
    sided = [c for c in group if c[3] or _side_of_words(lower[max(sent_start, c[0] - 3) : c[0]])]
    return min(sided or group, key=lambda c: c[key])


def _resolve(ent: tuple[int, int, str], doc: _Doc):
    """(region, side) of a finding span from the anatomy and side words around it: the
    nearest anatomy words just before it ("left lower lobe opacity"), else after it
    ("opacity in the left lower lobe"), else further before; anatomy words that carry a
    side win over those that do not. Side words of the finding's own phrase ("left pleural
    effusion"), "levo-" / "dextro-", "right greater than left" and coordinated anatomy
    ("bibasilar and right midlung") complete the side. Returns (region, side, the anatomy
    span chosen or None)."""
    es, ee, label = ent
    toks = doc.toks
    lower = toks.lower
    sent_start, sent_end = toks.sents[toks.sent_of[es]]
    candidates = []
    inside = []  # anatomy words within the finding's own phrase ("flattening of the diaphragms")
    for s, e, region, side in doc.anatomy:
        if s >= es and e <= ee:
            inside.append((s, e, region, side, 0, 0))
            continue
        if not sent_start <= s < sent_end:
            continue
        before = es - e if e <= es else None
        after = s - ee if s >= ee else None
        candidates.append((s, e, region, side, before, after))

    if candidates:
        near_before = [c for c in candidates if c[4] is not None and c[4] <= _NEAR_BEFORE]
        after = [c for c in candidates if c[5] is not None and c[5] <= _AFTER]
        far_before = [c for c in candidates if c[4] is not None and c[4] <= _FAR_BEFORE]
    else:
        near_before = after = far_before = candidates
    chosen = (
        _pick(inside, 4, lower, sent_start)
        or _pick(near_before, 4, lower, sent_start)
        or _pick(after, 5, lower, sent_start)
        or _pick(far_before, 4, lower, sent_start)
    )

    own_text = toks.span_lower(es, ee)
    side = _side_of_words(lower[max(sent_start, es - 3) : ee])
    own_side = side
    if own_text.startswith("levo"):
        side = "left"
    elif own_text.startswith("dextro"):
        side = "right"
    region = None
    anatomy_sided = False
    if chosen is not None:
        s, e, region, a_side, _b, _a = chosen
        a_sides = {c[3] for c in near_before if c[3]} if chosen in near_before else {a_side}
        a_side = _combine(a_sides) or a_side
        if a_side is None:
            a_side = _side_of_words(lower[max(sent_start, s - 3) : e])
        if a_side is None:  # "in lower lung XXXX bilaterally"
            a_side = _side_of_words([w for w in lower[e : min(sent_end, e + 3)] if w != "xxxx"][:1])
        if a_side and chosen in far_before and region == "lung":
            # "lungs ... clear other than a granuloma on left": the finding's own side words
            on = _ON_SIDE_RE.match(toks.span_lower(ee, min(sent_end, ee + 4)))
            a_side = on.group(1) if on else a_side
        if a_side and own_side and chosen in far_before and chosen not in after:
            a_side = own_side  # "bibasilar atelectasis and small left-sided effusion"
        if a_side:
            anatomy_sided = True
            side = a_side if side is None or side == a_side else "bilateral"
    if side is None:
        lo = max(sent_start, es - _SIDE_WORDS_BEFORE)
        side = _side_of_words(lower[lo:es]) or _side_of_words(lower[ee : min(sent_end, ee + 6)])
    if own_text.startswith(("levo", "dextro")):
        side = "left" if own_text.startswith("levo") else "right"  # the curve's own side
    elif side in ("left", "right") and "than" in toks.low:  # what _GREATER_RE needs
        tail = toks.span_lower(es, min(sent_end, ee + 12))
        greater = _GREATER_RE.search(tail)
        if greater and (not anatomy_sided or greater.start() < 40):
            side = "bilateral"
        elif _GREATER_RE.search(toks.span_lower(max(sent_start, es - 8), es)):
            side = "bilateral"  # "left greater than right lung base scarring"
    if side is None and ("left" in toks.low or "right" in toks.low):
        # "old rib fractures and pleural thickening are present on the right"
        trailing = _TRAILING_SIDE_RE.search(toks.span_lower(ee, sent_end))
        side = trailing.group(1) if trailing else None
    if side is None and (
        (region in _BOTH_WHEN_UNSIDED and chosen is not None)
        or label in _BOTH_SIDES_FINDINGS
        or (label == "pleural_effusion" and own_text.endswith("effusions"))
    ):
        side = "bilateral"  # "basilar atelectasis", "small effusions", "flattened diaphragm"
    if label in FIXED_REGION:
        region = FIXED_REGION[label]
    elif label == "aortic_tortuosity" and region not in _AORTA_REGIONS:
        region = "aorta"
    if region is None:
        region = DEFAULT_REGION.get(label)
        if region is None and side is not None:
            region = "lung"
    return region, side, chosen


@functools.cache
def _anatomy_id(finding: str, region: str | None, side: str | None) -> str | None:
    if region is None:
        return None
    if side is None and finding in _BOTH_LUNGS and region == "lung":
        return region_structure("lung", "bilateral")
    return region_structure(region, side)


# ---- extraction ---------------------------------------------------------------------------


# (finding, start, end, anatomy, side, negated, uncertain, region, normal_for_age, chronic,
#  sentence_start, sentence_end): offsets relative to the text read
_Found = tuple[str, int, int, str | None, str | None, bool, bool, str | None, bool, bool, int, int]
# Report sentences repeat ("No pneumothorax.", "Heart size is normal."): what a sentence
# yields depends on its own words only (clauses, anatomy and sides never cross a sentence),
# so it is read once per process. Sections that define a short form are read whole.
_SENTENCES: dict[str, list[_Found]] = {}
_SENTENCES_MAX = 500_000
# whole sections repeat too ("The heart is normal in size. The lungs are clear."): a third of
# the IU reports' findings and impressions are word for word another report's
_SECTIONS: dict[str, list[tuple[int, list[_Found]]]] = {}


def clear_sentence_cache() -> None:
    """Forget the sentences and long forms read so far (benchmarks time a cold start)."""
    _SENTENCES.clear()
    _SECTIONS.clear()
    _long_form_finding.cache_clear()


def _found_in(
    text: str, r: _Rules, one_sentence: bool = False, shorts: dict[str, str] | None = None
) -> list[_Found]:
    """Every finding mention of ``text`` (a section, or one sentence)."""
    doc = _read(text, r, one_sentence, shorts)
    if not doc.ents:
        return []
    toks = doc.toks
    spans = [(s, e) for s, e, _l in doc.ents]
    flags = r.negex.flags(toks, spans)
    negex, unsure = flags["negation"], flags["uncertainty"]
    out: list[_Found] = []
    for k, ent in enumerate(doc.ents):
        es, ee, label = ent
        region, side, chosen = _resolve(ent, doc)
        if region in _OUT_OF_FIELD and label not in _ANYWHERE:
            continue
        negated = negex[k] or not _INTERNAL_NEGATION.isdisjoint(toks.lower[es:ee])
        ss, se = toks.sents[toks.sent_of[es]]
        normal = label in NORMAL_FOR_AGE
        chronic = label in _CHRONIC_FINDINGS and not _CHRONIC_WORDS.isdisjoint(toks.lower[ss:se])
        places = [(region, side)]
        main_anatomy = _anatomy_id(label, region, side)
        for extra in _coordinated(ent, doc, chosen, (ss, se)):
            # two mentions of one phrase must differ in anatomy, or records could not tell
            # them apart (a finding's id is its words' offset and its structure)
            if extra in places or extra[1] == side:
                continue
            if main_anatomy is None and _anatomy_id(label, *extra) is None:
                continue
            places.append(extra)
        for reg, sd in places:
            out.append(
                (
                    label,
                    toks.starts[es],
                    toks.ends[ee - 1],
                    _anatomy_id(label, reg, sd),
                    sd,
                    negated,
                    unsure[k] and not negated,
                    reg,
                    normal,
                    chronic,
                    toks.starts[ss],
                    toks.ends[se - 1],
                )
            )
    return out


def _found_in_section(chunk: str, r: _Rules) -> list[tuple[int, list[_Found]]]:
    """(offset, mentions relative to it) of each part of a section that names a finding:
    its sentences, each read once per process, or the whole section when it defines a
    short form."""
    out = _SECTIONS.get(chunk)
    if out is None:
        out = _read_section(chunk, r)
        if len(_SECTIONS) < _SENTENCES_MAX:
            _SECTIONS[chunk] = out
    return out


def _read_section(chunk: str, r: _Rules) -> list[tuple[int, list[_Found]]]:
    shorts = short_forms(chunk, r)
    if shorts:
        return [(0, _found_in(chunk, r, shorts=shorts))]
    out: list[tuple[int, list[_Found]]] = []
    cache = _SENTENCES
    for s0, s1 in sentence_bounds(chunk):
        sentence = chunk[s0:s1]
        found = cache.get(sentence)
        if found is None:
            found = _found_in(sentence, r, one_sentence=True)
            if len(cache) < _SENTENCES_MAX:
                cache[sentence] = found
        if found:
            out.append((s0, found))
    return out


_new_mention = instance_maker(FindingMention)


def _mention(values: tuple) -> FindingMention:
    """A FindingMention from its field values in declaration order (``instance_maker``:
    mentions are made by the hundred thousand)."""
    return _new_mention(*values)


def extract_findings(text: str) -> list[FindingMention]:
    """Every finding mention of a report, in text order."""
    r = rules()
    out: list[FindingMention] = []
    for name, start, end in sections(text or ""):
        if name is not None and name not in _KEEP_SECTIONS:
            continue
        chunk = text[start:end]
        if not chunk.strip():
            continue
        # ".." read as ". " (same length: offsets hold)
        for s0, found in _found_in_section(chunk.replace("..", ". "), r):
            at = start + s0
            for (
                label, cs, ce, anatomy, side, negated, uncertain, region, normal, chronic, ss, se
            ) in found:  # fmt: skip
                out.append(
                    _mention(
                        (
                            label,
                            text[at + cs : at + ce],
                            anatomy,
                            side,
                            negated,
                            uncertain,
                            text[at + ss : at + se].strip(),
                            at + cs,
                            at + ce,
                            at + ss,
                            at + se,
                            name,
                            region,
                            normal,
                            chronic,
                        )
                    )
                )
    return out


_DATE_RE = re.compile(r"\b\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}\b|\b\d{5,}\b")


def scrub(text: str) -> str:
    """Report words fit to publish: ``extractors.deid.deidentify`` (kept for callers)."""
    from extractors.deid import deidentify

    return deidentify(text)
