"""Finding mentions in chest X-ray and chest CT reports: what finding, where (a taxonomy
structure of ``extractors.ct.taxonomy``), which side, negated or uncertain, with the
sentence and character offsets.

Built on ``spacy.blank("en")`` with rules only (no model download): a sentencizer, scispaCy's
abbreviation detector (abbreviations a report defines, "right lower lobe (RLL)", are read as
their long form), a Matcher for findings and anatomy (``extractors.reports.lexicon``), and two
negspacy NegEx components: one for negation, one for uncertainty. Sections: mentions come from
the findings and impression (and text under no header); indication, history, comparison and
technique are skipped. Normal statements ("heart size is normal", "lungs are clear") name no
finding and give no mention."""

from __future__ import annotations

import functools
import re
import warnings
from dataclasses import dataclass

from extractors.ct.taxonomy import region_structure
from extractors.reports.lexicon import (
    ANATOMY,
    FINDINGS,
    MILD_WORDS,
    NEGATION,
    NORMAL_FOR_AGE,
    NOT_FINDINGS,
    SIDE_WORDS,
    UNCERTAINTY,
)

EXTRACTOR = "extractors.reports"

_SECTION_RE = re.compile(
    r"(?im)(?:^|(?<=[\s.]))(findings|impressions?|conclusions?|summary|indications?|"
    r"clinical history|history|comparisons?|technique|examination|exam|procedure|"
    r"reason for (?:exam|study)|recommendations?)\s*:"
)
_KEEP_SECTIONS = {"findings", "impression", "conclusion", "summary"}
_INTERNAL_NEGATION = {"not", "no", "without", "never"}
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
    "mediastinal_widening": "mediastinum",
}
# findings whose anatomy is the finding itself, whatever the words around them
FIXED_REGION: dict[str, str] = {
    "cardiomegaly": "heart",
    "pericardial_effusion": "heart",
    "scoliosis": "spine",
    "kyphosis": "spine",
    "mediastinal_widening": "mediastinum",
}
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
    normal_for_age: bool = False  # "mild degenerative changes": present, read as normal

    @property
    def present(self) -> bool:
        """Stated as there (neither negated nor uncertain)."""
        return not self.negated and not self.uncertain

    @property
    def positive(self) -> bool:
        """A present abnormality (present, and not a finding read as normal for age)."""
        return self.present and not self.normal_for_age


def finding_words(key: str) -> str:
    return FINDINGS[key][0] if key in FINDINGS else key.replace("_", " ")


# ---- the spaCy pipeline -------------------------------------------------------------------


def _token_pattern(word: str) -> dict:
    optional = word.endswith("?") and len(word) > 1
    word = word[:-1] if optional else word
    if word.startswith("_") and word[1:].isdigit():
        return {"IS_PUNCT": False, "OP": f"{{0,{int(word[1:])}}}"}
    alts = word.split("|")
    if any(a.endswith("*") for a in alts):
        rx = "|".join(
            re.escape(a[:-1]) + r"\w*" if a.endswith("*") else re.escape(a) + "$" for a in alts
        )
        pattern: dict = {"LOWER": {"REGEX": rf"^(?:{rx})"}}
    elif len(alts) > 1:
        pattern = {"LOWER": {"IN": alts}}
    else:
        pattern = {"LOWER": word}
    if optional:
        pattern["OP"] = "?"
    return pattern


def compile_phrase(phrase: str) -> list[dict]:
    return [_token_pattern(w) for w in phrase.split()]


@functools.cache
def pipeline():
    """The report pipeline (built once per process)."""
    import scispacy.abbreviation  # noqa: F401 - registers "abbreviation_detector"
    import spacy
    from negspacy.negation import Negex  # noqa: F401 - registers "negex"
    from spacy.language import Language
    from spacy.matcher import Matcher
    from spacy.util import filter_spans

    nlp = spacy.blank("en")
    findings = Matcher(nlp.vocab)
    for key, (_words, phrases) in FINDINGS.items():
        findings.add(key, [compile_phrase(p) for p in phrases])
    unmention = Matcher(nlp.vocab)
    unmention.add("NOT_FINDING", [compile_phrase(p) for p in NOT_FINDINGS])
    anatomy = Matcher(nlp.vocab)
    for phrase, region, side in ANATOMY:
        anatomy.add(f"{region}|{side or ''}", [compile_phrase(phrase)])

    @Language.component("medsg_report_entities")
    def entities(doc):
        vocab = doc.vocab.strings
        spans = [doc[s:e] for _m, s, e in findings(doc)]
        labelled = {(s, e): vocab[m] for m, s, e in findings(doc)}
        blocked = [(s, e) for _m, s, e in unmention(doc)]
        # abbreviations a report defines: find findings in the long form, label the short form
        for abrv in getattr(doc._, "abbreviations", []):
            long_form = abrv._.long_form
            inner = [vocab[m] for m, s, e in findings(long_form.as_doc())] if long_form else []
            if inner and (abrv.start, abrv.end) not in labelled:
                labelled[(abrv.start, abrv.end)] = inner[0]
                spans.append(doc[abrv.start : abrv.end])
        kept = []
        for s in filter_spans(spans):
            if any(a <= s.start and s.end <= b for a, b in blocked):
                continue
            if (
                kept
                and kept[-1].end == s.start
                and labelled[(kept[-1].start, kept[-1].end)] == labelled[(s.start, s.end)]
            ):
                merged = doc[kept[-1].start : s.end]  # "stimulator device": one mention
                labelled[(merged.start, merged.end)] = labelled[(s.start, s.end)]
                kept[-1] = merged
                continue
            kept.append(s)
        doc.ents = [
            doc.char_span(s.start_char, s.end_char, label=labelled[(s.start, s.end)]) for s in kept
        ]
        doc.spans["anatomy"] = filter_spans([doc[s:e] for _m, s, e in anatomy(doc)])
        doc.user_data["anatomy_labels"] = {(s, e): vocab[m] for m, s, e in anatomy(doc)}
        return doc

    nlp.add_pipe("sentencizer")
    nlp.add_pipe("abbreviation_detector")
    nlp.add_pipe("medsg_report_entities")
    nlp.add_pipe("negex", config={"neg_termset": NEGATION, "extension_name": "negex"})
    nlp.add_pipe(
        "negex",
        name="uncertainty",
        config={"neg_termset": UNCERTAINTY, "extension_name": "uncertain"},
    )
    return nlp


# ---- sections -----------------------------------------------------------------------------


def sections(text: str) -> list[tuple[str | None, int, int]]:
    """``(name, start, end)`` of each part of the report: text before the first header has
    no name."""
    marks = [(m.group(1).lower(), m.start(), m.end()) for m in _SECTION_RE.finditer(text)]
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


def _side_of_tokens(tokens) -> str | None:
    sides = {SIDE_WORDS[t.lower_] for t in tokens if t.lower_ in SIDE_WORDS}
    return _combine(sides)


def _combine(sides) -> str | None:
    sides = {s for s in sides if s}
    if "bilateral" in sides or {"left", "right"} <= sides:
        return "bilateral"
    if len(sides) == 1:
        return next(iter(sides))
    return None


_GREATER_RE = re.compile(
    r"\b(right|left) (?:greater|more|worse|larger|more marked) than (?:on )?(?:the )?(left|right)\b"
)
# windows (tokens) around a finding in which anatomy words are taken to describe it
_NEAR_BEFORE, _AFTER, _FAR_BEFORE, _SIDE_WORDS_BEFORE = 3, 10, 8, 8


def _resolve(ent, doc) -> tuple[str | None, str | None]:
    """(region, side) of a finding span from the anatomy and side words around it: the
    nearest anatomy words just before it ("left lower lobe opacity"), else after it
    ("opacity in the left lower lobe"), else further before; anatomy words that carry a
    side win over those that do not. Side words of the finding's own phrase ("left pleural
    effusion"), "levo-" / "dextro-", "right greater than left" and coordinated anatomy
    ("bibasilar and right midlung") complete the side."""
    sent = ent.sent
    labels = doc.user_data.get("anatomy_labels", {})
    candidates = []
    for span in doc.spans["anatomy"]:
        if span.sent != sent or (span.start >= ent.start and span.end <= ent.end):
            continue
        region, _, side = labels[(span.start, span.end)].partition("|")
        before = ent.start - span.end if span.end <= ent.start else None
        after = span.start - ent.end if span.start >= ent.end else None
        candidates.append((span, region, side or None, before, after))

    def pick(group, key):
        if not group:
            return None
        sided = [c for c in group if c[2]]
        return min(sided or group, key=lambda c: c[key])

    inside = []  # anatomy words within the finding's own phrase ("flattening of the diaphragms")
    for span in doc.spans["anatomy"]:
        if span.start >= ent.start and span.end <= ent.end:
            region, _, side = labels[(span.start, span.end)].partition("|")
            inside.append((span, region, side or None, 0, 0))
    near_before = [c for c in candidates if c[3] is not None and c[3] <= _NEAR_BEFORE]
    after = [c for c in candidates if c[4] is not None and c[4] <= _AFTER]
    far_before = [c for c in candidates if c[3] is not None and c[3] <= _FAR_BEFORE]
    chosen = pick(inside, 3) or pick(near_before, 3) or pick(after, 4) or pick(far_before, 3)

    lower = ent.text.lower()
    own = doc[max(sent.start, ent.start - 3) : ent.end]
    side = _side_of_tokens(own)
    if lower.startswith("levo"):
        side = "left"
    elif lower.startswith("dextro"):
        side = "right"
    region = None
    anatomy_sided = False
    if chosen is not None:
        span, region, a_side, _b, _a = chosen
        a_sides = {c[2] for c in near_before if c[2]} if chosen in near_before else {a_side}
        a_side = _combine(a_sides) or a_side
        if a_side is None:
            a_side = _side_of_tokens(doc[max(sent.start, span.start - 3) : span.end])
        if a_side:
            anatomy_sided = True
            side = a_side if side is None or side == a_side else "bilateral"
    if side is None:
        lo = max(sent.start, ent.start - _SIDE_WORDS_BEFORE)
        before_words = [t for t in doc[lo : ent.start] if not t.is_punct or t.text == "-"]
        after_words = list(doc[ent.end : min(sent.end, ent.end + 4)])
        side = _side_of_tokens(before_words) or _side_of_tokens(after_words)
    if side in ("left", "right") and not anatomy_sided:
        tail = doc[ent.start : min(sent.end, ent.end + 12)].text.lower()
        if _GREATER_RE.search(tail):
            side = "bilateral"
    if ent.label_ in FIXED_REGION:
        region = FIXED_REGION[ent.label_]
    elif ent.label_ == "aortic_tortuosity" and region not in _AORTA_REGIONS:
        region = "aorta"
    if region is None:
        region = DEFAULT_REGION.get(ent.label_)
        if region is None and side is not None:
            region = "lung"
    return region, side


def _anatomy_id(finding: str, region: str | None, side: str | None) -> str | None:
    if region is None:
        return None
    if side is None and finding in _BOTH_LUNGS and region == "lung":
        return region_structure("lung", "bilateral")
    return region_structure(region, side)


# ---- extraction ---------------------------------------------------------------------------


def extract_findings(text: str) -> list[FindingMention]:
    """Every finding mention of a report, in text order."""
    nlp = pipeline()
    out: list[FindingMention] = []
    # scispaCy's abbreviation detector runs an empty global matcher and spaCy warns on each
    # call; the filter is idempotent (set again here, as test runners reset filters)
    warnings.filterwarnings("ignore", message=r".*\[W036\]")
    for name, start, end in sections(text or ""):
        if name is not None and name not in _KEEP_SECTIONS:
            continue
        chunk = text[start:end]
        if not chunk.strip():
            continue
        doc = nlp(chunk.replace("..", ". "))  # same length: offsets hold
        for ent in doc.ents:
            region, side = _resolve(ent, doc)
            if region in _OUT_OF_FIELD:
                continue
            negated = bool(ent._.negex) or any(t.lower_ in _INTERNAL_NEGATION for t in ent)
            sent = ent.sent
            out.append(
                FindingMention(
                    finding=ent.label_,
                    text=ent.text,
                    anatomy=_anatomy_id(ent.label_, region, side),
                    laterality=side,
                    negated=negated,
                    uncertain=bool(ent._.uncertain) and not negated,
                    sentence=sent.text.strip(),
                    start=start + ent.start_char,
                    end=start + ent.end_char,
                    sentence_start=start + sent.start_char,
                    sentence_end=start + sent.end_char,
                    section=name,
                    region=region,
                    normal_for_age=ent.label_ in NORMAL_FOR_AGE
                    and any(
                        t.lower_ in MILD_WORDS
                        for t in doc[max(sent.start, ent.start - 3) : ent.start]
                    ),
                )
            )
    return out


_DATE_RE = re.compile(r"\b\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}\b|\b\d{5,}\b")


def scrub(text: str) -> str:
    """Report words fit to publish: ``extractors.deid.deidentify`` (kept for callers)."""
    from extractors.deid import deidentify

    return deidentify(text)
