"""The rules of ``extractors.deid``: one regular expression per form of PHI, each with its
kind and the group that is PHI (``phi`` when only part of the match is: "Dr." stays,
the name goes; "-year-old" stays, "93" goes).

Why rules: no maintained, model-free English clinical de-identifier installs from the
registries and runs offline (philter-ucsf and its fork philter-lite need NLTK tagger data
fetched at run time, presidio needs a spaCy model download for names, deduce is for Dutch,
docdeid is a framework without English rules). Rules are also what can be read and
measured: ``medsg bench deid``."""

from __future__ import annotations

import re

from extractors.deid.names import (
    CITIES,
    CITY_PHRASES,
    CREDENTIALS,
    FIRST_NAMES,
    STATE_CODES,
    STATES,
    TITLES,
)

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_CAP_MONTH = (
    r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
    r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)\b\.?"
)
_ORD = r"(?:st|nd|rd|th)?"
# numbers that are slice, image or series numbers, not years or ZIP codes
_NOT_AFTER = r"(?<!series )(?<!image )(?<!slice )(?<!level )(?<!im )(?<!se )(?<!# )(?<!#)"
# numbers that are measurements, not ids or years
_UNIT = r"(?!\s*(?:mm|cm|ml|cc|hu|mg|g\b|kg|%|mci|mbq|gbq|bq|ms|sec|kv|mas|mgy|msv|units?\b))"
_NAME = r"(?:[A-Z]')?[A-ZÀ-Þ][a-zß-ÿ]+(?:[A-Z][a-zß-ÿ]+)?(?:-[A-Z][a-zß-ÿ]+)?"
_INITIAL = r"[A-Z]\."
# one to three name words, with middle initials
_NAMES = rf"(?:{_INITIAL}\s+)?{_NAME}(?:\s+{_INITIAL})?(?:\s+{_NAME}){{0,2}}"
_FIRST = r"(?:" + "|".join(sorted(FIRST_NAMES, key=len, reverse=True)) + r")"
_FIRST_CAPS = (
    r"(?:"
    + "|".join(sorted((n.upper() for n in FIRST_NAMES if len(n) > 3), key=len, reverse=True))
    + r")"
)
_CAPS = r"[A-Z][A-Z'-]+[A-Z]"
# a first name alone, unless it is also a state ("Georgia", "Virginia")
_FIRST_ALONE = r"(?:" + "|".join(sorted(FIRST_NAMES - set(STATES), key=len, reverse=True)) + r")"
_SPELLED_AGE = (
    r"(?:ninety|one\s+hundred(?:\s+and)?)"
    r"(?:[\s-]+(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve))?"
)
_CRED = r"(?:" + "|".join(CREDENTIALS) + r")"
_TITLE = r"(?:" + "|".join(TITLES) + r")"
_STATE = r"(?:" + "|".join(sorted(STATES, key=len, reverse=True)) + r")"
_CODE = r"(?:" + "|".join(STATE_CODES) + r")"
_CITY = r"(?:" + "|".join([*CITY_PHRASES, *sorted(CITIES, key=len, reverse=True)]) + r")"
_ZIP = r"\d{5}(?:-\d{4})?"
_STREET = (
    r"(?:Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Place|Pl|"
    r"Way|Terrace|Ter|Parkway|Pkwy|Highway|Hwy|Circle|Cir|Square|Sq|Plaza)"
)
_UNIT_NO = r"(?:Apt|Apartment|Suite|Ste|Unit|Room|Rm|Floor|Fl|Bldg|Building)\.?\s*#?\s*\w+"
_NAME_CUE = (
    r"(?i:discussed\s+with|called\s+to|reported\s+to|communicated\s+to|conveyed\s+to|"
    r"relayed\s+to|given\s+to|notified|informed|spoke\s+(?:with|to)|paged|"
    r"(?:dictated|signed|read|reviewed|interpreted|transcribed|verified|approved|seen|"
    r"referred|ordered|performed|requested)\s+by|attending|referring\s+(?:physician|doctor)|"
    r"ordering\s+(?:physician|doctor|provider)|physician|radiologist|resident|fellow|"
    r"technologist|provider|patient(?:\s+name)?|pt|name|the\s+patient,|dear)"
)
_ID_CUE = (
    r"(?i:mrn|mr\s*#|medical\s+record(?:\s+number)?|record\s+(?:number|no\.?)|"
    r"accession(?:\s+number)?|acc\.?|patient\s+id|pt\s+id|id|account(?:\s+number)?|acct\.?|"
    r"(?:insurance\s+)?policy(?:\s+number)?|member\s+id|health\s+plan(?:\s+(?:number|id))?|"
    r"serial(?:\s+number)?|order(?:\s+number)?|encounter(?:\s+number)?|"
    r"visit\s+(?:number|id)|case\s+(?:number|id)|study\s+id|licen[cs]e(?:\s+number)?|"
    r"ssn|social\s+security(?:\s+number)?)"
)


def _c(pattern: str, flags: int = 0) -> re.Pattern[str]:
    return re.compile(pattern, flags)


# (kind, pattern): earlier rules win where matches overlap
RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("email", _c(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)*")),  # a TLD cut off is still an address
    ("url", _c(r"\b(?:https?://|ftp://|www\.)[^\s<>\"']*[^\s<>\"'.,;:)\]]", re.I)),
    ("url", _c(r"\b[\w-]+(?:\.[\w-]+)*\.(?:com|org|net|edu|gov|io)\b(?:/[^\s<>\"']*[\w/])?")),
    # social security numbers, before phone numbers and ids
    ("ssn", _c(r"\b\d{3}[-\ ]\d{2}[-\ ]\d{4}\b")),
    # ids after the word that says so: MRN, accession, account, policy, serial ...
    (
        "id",
        _c(
            rf"\b{_ID_CUE}\s*(?:\#|(?i:no)\.?|(?i:number))?\s*[:\#]?\s*"
            r"(?P<phi>[A-Za-z0-9][A-Za-z0-9-]*\d[A-Za-z0-9-]*)"
        ),
    ),
    # phone and fax numbers: +1, parentheses, dots, 7 digits, extensions
    (
        "phone",
        _c(
            r"(?:(?:\+\d{1,2}|\b1)[\s.-]?)?(?:\(\d{3}\)\s?|\b\d{3}[\s.-]?)\d{3}[\s.-]\d{4}\b"
            r"(?:\s*(?i:ext|x)\.?\s*\d{1,5}\b)?"
        ),
    ),
    ("phone", _c(rf"\b\d{{3}}[-.]\d{{4}}\b{_UNIT}")),
    ("phone", _c(r"\+\d{1,3}(?:[\s.-]?\(?\d{1,4}\)?){2,5}\b")),  # international
    (
        "phone",
        _c(
            r"\b(?i:phone|telephone|tel|fax|pager|beeper|cell\s+phone|mobile\s+phone|ext)\.?\s*"
            r"(?:(?i:no|number)\.?)?\s*[:\#]?\s*(?P<phi>\+?[\d(][\d()\s.-]{2,}\d)"
        ),
    ),
    # dates, every common form; times
    ("date", _c(r"(?<![\d.,/])\b\d{1,2}([/.-])\d{1,2}\1(?:\d{4}|\d{2})\b(?![.,/]\d)")),
    ("date", _c(r"\b(?:19|20|21)\d{2}[/.-]\d{1,2}[/.-]\d{1,2}\b")),
    ("date", _c(rf"\b\d{{1,2}}{_ORD}(?:\s+of)?[\s-]+{_MONTH}(?:[\s,-]+\d{{4}}|-\d{{2}})\b", re.I)),
    ("date", _c(rf"\b{_MONTH}\s+\d{{1,2}}{_ORD},?\s+\d{{4}}\b", re.I)),
    # without a year only with a capitalised month ("12 March", "Mar 3rd"; not "2 may be")
    ("date", _c(rf"\b\d{{1,2}}{_ORD}(?:\s+of)?[\s-]+{_CAP_MONTH}\b")),
    ("date", _c(rf"\b{_CAP_MONTH}\s+\d{{1,2}}{_ORD}\b(?!\s*(?:mm|cm|%|\.\d))")),
    ("date", _c(rf"\b{_MONTH},?\s+(?:of\s+)?\d{{4}}\b", re.I)),
    ("date", _c(r"\b\d{1,2}/\d{4}\b")),
    (
        "date",
        _c(
            r"\b(?i:on|since|from|dated|date|until|till|before|after|of)\s+"
            r"(?P<phi>\d{1,2}/\d{1,2})\b(?!/)"
        ),
    ),
    ("date", _c(r"\b(?:19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\b")),
    ("date", _c(rf"{_NOT_AFTER}\b(?:19|20)\d{{2}}\b{_UNIT}(?!\.\d)", re.I)),
    (
        "time",
        _c(r"(?i)(?<!\()(?<!ratio )(?<!ratio of )\b\d{1,2}:[0-5]\d(?::\d{2})?\b"
           r"(?:\s*(?:am|pm|h)\b)?(?!\))(?!:)"),
    ),
    # ages over 89 (HIPAA Safe Harbor): the number goes, "-year-old" stays
    (
        "age",
        _c(
            r"\b(?P<phi>9\d|1[0-4]\d)(?=\s*-?\s*(?:years?|yrs?|y)\s*-?\s*(?:old|of\s+age)\b"
            r"|\s*-?\s*(?:y/o|y\.o\.|yo|yr)\b)",
            re.I,
        ),
    ),
    ("age", _c(rf"\b(?P<phi>{_SPELLED_AGE})(?=[\s-]+years?[\s-]+old\b)", re.I)),
    ("age", _c(r"\b(?i:age[ds]?)\s*:?\s*(?P<phi>9\d|1[0-4]\d)\b(?!\s*(?:mm|cm|%|months?))")),
    # street addresses, post boxes, apartments
    (
        "address",
        _c(
            rf"\b\d{{1,6}}\s+(?:(?:[NSEW]\.?|North|South|East|West)\s+)?"
            rf"(?:(?:{_NAME}|\d+(?:st|nd|rd|th))\s+){{1,4}}{_STREET}\b"
            r"(?:\s+(?:NW|NE|SW|SE|N|S|E|W)\b)?"
            rf"(?:\.?,?\s+{_UNIT_NO})?"
        ),
    ),
    ("address", _c(r"\b(?i:p\.?\s?o\.?\s+box)\s+\d+\b")),
    ("address", _c(r"\b(?:Apt|Apartment|Suite|Ste|Unit|Bldg)\.?\s*#?\s*\d+[A-Za-z]?\b")),
    # names: after a title, before a credential, after the words that introduce one, and a
    # first name followed by a surname ("Smith, John": a surname, then a first name)
    ("name", _c(rf"\b{_TITLE}\.?\s+(?P<phi>{_NAMES})")),
    ("name", _c(rf"\b(?P<phi>{_NAMES}),?\s+{_CRED}(?![\w-])")),
    ("name", _c(rf"\b(?P<phi>{_NAMES}),\s+D\.?O\b")),
    ("name", _c(rf"{_NAME_CUE}\s*[:,]?\s*(?:{_TITLE}\.?\s+)?(?P<phi>{_NAMES})")),
    ("name", _c(rf"\b(?P<phi>{_FIRST}(?:\s+{_INITIAL})?(?:\s+{_NAME}){{1,2}})")),
    ("name", _c(rf"\b(?P<phi>{_NAME},\s+{_FIRST_ALONE})\b")),
    ("name", _c(rf"\b(?P<phi>{_FIRST_CAPS}(?:\s+[A-Z]\.?)?\s+{_CAPS}|{_CAPS},\s+{_FIRST_CAPS})\b")),
    ("name", _c(rf"\b(?P<phi>{_FIRST_ALONE})\b(?!-)")),
    # cities (state names and codes stay), ZIP codes
    ("geo", _c(rf"\b(?P<phi>{_NAMES}),?\s+{_CODE},?\s+{_ZIP}\b")),
    ("geo", _c(rf"\b(?P<phi>{_CITY})\b")),
    ("geo", _c(rf"\b(?P<phi>{_NAME}(?:\s+{_NAME})?),\s+(?:{_STATE}|{_CODE})\b")),
    (
        "geo",
        _c(
            r"\b(?i:lives|living|resides|residing|resident|moved|relocated|home)\s+"
            rf"(?i:in|of|from|to)\s+(?P<phi>{_NAME}(?:\s+{_NAME})?)"
        ),
    ),
    ("geo", _c(rf"\b(?i:zip(?:\s+code)?)\s*:?\s*(?P<phi>{_ZIP})\b")),
    ("geo", _c(rf"{_NOT_AFTER}(?<![\d.,])\b{_ZIP}\b{_UNIT}(?![.,]\d)", re.I)),
    # long numbers and letter-digit codes: record, order, accession numbers
    ("id", _c(rf"(?<![\d.])\b\d{{6,}}\b{_UNIT}(?!\.\d)")),
    ("id", _c(r"\b(?=[A-Za-z0-9-]*\d{4})(?=[A-Za-z0-9-]*[A-Z])[A-Z0-9]+(?:-[A-Z0-9]+)*\b")),
)  # fmt: skip
