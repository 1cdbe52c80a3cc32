"""The de-identification test set: report sentences with injected PHI, the injected strings
as gold.

Why: report text goes into published records (CT, PET, chest X-ray report sentences), so the
de-identifier (``extractors.deid``) is measured on sentences of the kind it will see: real
IU X-ray report sentences (``reports/iu_xray`` of the real data folder, read at run time,
never copied) when that folder is there, and always the sentences of ``OWN_SENTENCES``,
written here after real CXR, CT and PET reports. Each sentence is used twice: clean (the
redacted share of its words is the clinical-word loss) and with one or two PHI snippets of
``PHI_SNIPPETS`` injected before or after it (every gold string must be covered by what the
de-identifier removes: recall). The snippets cover every kind the de-identifier must remove,
each in several common forms, and were written before its rules.
"""

from __future__ import annotations

import csv
import random
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

# Sentences written for this set after real chest X-ray, chest CT and PET/CT reports. They
# keep the de-identification marks datasets use ("XXXX", "___", "[**...**]"): those must
# come out unchanged, and count as words of the clinical-word loss.
OWN_SENTENCES: tuple[str, ...] = (
    "The cardiac silhouette and mediastinum size are within normal limits.",
    "There is no focal consolidation, pleural effusion or pneumothorax.",
    "Heart size is normal. The lungs are clear.",
    "Mild degenerative changes of the thoracic spine.",
    "Left lower lobe opacity, likely atelectasis, less likely pneumonia.",
    "Right-sided PICC line with tip in the distal SVC.",
    "Stable 8 mm nodule in the right upper lobe, series 3 image 45.",
    "Small bilateral pleural effusions with bibasilar atelectasis.",
    "No acute cardiopulmonary abnormality.",
    "Calcified granuloma in the left midlung XXXX.",
    "Interval removal of the XXXX tube.",
    "Compared with the prior study of ___, the effusion has decreased.",
    "Lungs are hyperinflated, consistent with COPD.",
    "There is a 2.1 x 1.1 cm spiculated mass in the left upper lobe.",
    "Moderate cardiomegaly with pulmonary vascular congestion.",
    "Postoperative changes of median sternotomy and CABG.",
    "Endotracheal tube terminates 4 cm above the carina.",
    "No pneumothorax after right thoracentesis.",
    "Elevation of the right hemidiaphragm, unchanged from [**2101-3-4**].",
    "Chest CT with contrast: a 12 mm ground-glass nodule in the right lower lobe.",
    "The aorta is tortuous and calcified.",
    "Healed fractures of the left posterior 5th and 6th ribs.",
    "Hiatal hernia. Otherwise unremarkable mediastinum.",
    "Scattered emphysematous changes in both upper lobes.",
    "Trace left pleural effusion, new since the study of XXXX.",
    "FDG-avid right hilar node, SUV max 6.3 on image 88, previously 4.1.",
    "Hypermetabolic lesion in the liver dome, SUVmax 5.2 (4:87).",
    "Physiologic activity in the brain, heart, kidneys and bladder.",
    "No abnormal FDG uptake in the neck or axillae.",
    "Left axillary lymph node measuring 1.4 cm with SUV 3.8, slice 120.",
    "Impression: interval decrease of the mediastinal adenopathy.",
    "Findings: the endotracheal tube is 5 cm above the carina at T4.",
    "Patient is status post left upper lobectomy.",
    "Compression deformity of the T12 vertebral body, age indeterminate.",
    "Discussed with the referring physician by telephone.",
    "A 45-year-old man with cough and fever.",
    "Follow-up CT in 3 months is recommended per Fleischner guidelines.",
    "Bilateral hilar adenopathy in a 62 year old with sarcoidosis.",
    "Pacemaker leads in the right atrium and right ventricle.",
    "Nasogastric tube courses below the diaphragm, tip in the stomach.",
)

# (kind, snippet, gold strings in it). The gold is what identifies: "Dr." may stay, the
# name may not; "-year-old" may stay, "93" may not.
PHI_SNIPPETS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    # names with a title
    ("name", "Dictated by Dr. Quentin Zylo.", ("Quentin Zylo",)),
    ("name", "Discussed with Dr Maria Gonzalez at the bedside.", ("Maria Gonzalez",)),
    ("name", "Mrs. Eleanor Whitfield was informed.", ("Eleanor Whitfield",)),
    ("name", "Mr. Patel tolerated the procedure.", ("Patel",)),
    ("name", "Results given to Ms. O'Brien.", ("O'Brien",)),
    ("name", "Reviewed with Prof. Hans Mueller.", ("Hans Mueller",)),
    ("name", "Seen by Dr. Lee.", ("Lee",)),
    # names without a title
    ("name", "Findings discussed with John Smith.", ("John Smith",)),
    ("name", "Electronically signed by Lisa Cuddy MD.", ("Lisa Cuddy",)),
    ("name", "Gregory House, M.D. reviewed the images.", ("Gregory House",)),
    ("name", "Read by Karen Miller, DO.", ("Karen Miller",)),
    ("name", "Results called to Michael Chen, PA-C.", ("Michael Chen",)),
    ("name", "Sarah Connor RN confirmed the line placement.", ("Sarah Connor",)),
    ("name", "Patient: Smith, John.", ("Smith, John",)),
    ("name", "Name: Mary Johnson", ("Mary Johnson",)),
    ("name", "Robert Brown was notified of the result.", ("Robert Brown",)),
    ("name", "Emily Davis, the patient's daughter, was present.", ("Emily Davis",)),
    ("name", "Radiologist: James Wilson", ("James Wilson",)),
    ("name", "Referring physician Jennifer Garcia.", ("Jennifer Garcia",)),
    ("name", "The patient, William Thompson, declined contrast.", ("William Thompson",)),
    # record numbers and other ids
    ("id", "MRN 12345678.", ("12345678",)),
    ("id", "MRN: A-99812.", ("A-99812",)),
    ("id", "Medical record number 4455667.", ("4455667",)),
    ("id", "Accession #ACC20201187.", ("ACC20201187",)),
    ("id", "Acc: 9981234", ("9981234",)),
    ("id", "Patient ID: PT-7781-22.", ("PT-7781-22",)),
    ("id", "Account number 0098812.", ("0098812",)),
    ("id", "Insurance policy no. HX-448812-B.", ("HX-448812-B",)),
    ("id", "Order 55102938 completed.", ("55102938",)),
    ("id", "Device serial number SN44821X.", ("SN44821X",)),
    # dates, every common form
    ("date", "Compared with the study of 12-Mar-2020.", ("12-Mar-2020",)),
    ("date", "Comparison: March 12, 2020.", ("March 12, 2020",)),
    ("date", "Prior exam 03/12/2020.", ("03/12/2020",)),
    ("date", "Exam date 2020-03-12.", ("2020-03-12",)),
    ("date", "Previous CT on 12 March 2020.", ("12 March 2020",)),
    ("date", "Unchanged since Mar 3rd, 2019.", ("Mar 3rd, 2019",)),
    ("date", "Follow-up from 3/12/20.", ("3/12/20",)),
    ("date", "Study performed 12.03.2020 at 10:45.", ("12.03.2020", "10:45")),
    ("date", "Seen in clinic on 7/4.", ("7/4",)),
    ("date", "Last imaged in September 2019.", ("September 2019",)),
    ("date", "Admitted on the 5th of January 2021.", ("5th of January 2021",)),
    ("date", "Dated 20200312.", ("20200312",)),
    ("date", "DOB: 04/05/1923.", ("04/05/1923",)),
    ("date", "Born 1923.", ("1923",)),
    # ages over 89
    ("age", "A 93-year-old woman with dyspnea.", ("93",)),
    ("age", "Age: 91.", ("91",)),
    ("age", "History: 97 y/o male, fall.", ("97",)),
    ("age", "Patient is aged 101.", ("101",)),
    ("age", "92yo with chest pain.", ("92",)),
    ("age", "A 90 year old man.", ("90",)),
    # phone and fax numbers
    ("phone", "Call 617-555-0142 with questions.", ("617-555-0142",)),
    ("phone", "Reading room (617) 555-0199.", ("(617) 555-0199",)),
    ("phone", "Contact +1 617 555 0142.", ("+1 617 555 0142",)),
    ("phone", "Fax: +1-617-555-0177.", ("+1-617-555-0177",)),
    ("phone", "Pager 555-0123.", ("555-0123",)),
    ("phone", "Tel. 617.555.0142 ext. 4471", ("617.555.0142 ext. 4471",)),
    ("phone", "Reached at 867-5309.", ("867-5309",)),
    ("phone", "Fax 6175550188.", ("6175550188",)),
    # social security numbers
    ("ssn", "SSN 123-45-6789.", ("123-45-6789",)),
    ("ssn", "Social security number: 078 05 1120.", ("078 05 1120",)),
    ("ssn", "SSN: 219099999.", ("219099999",)),
    # street addresses
    ("address", "Lives at 123 Main Street.", ("123 Main Street",)),
    ("address", "Home address 45 Elm St., Apt 4B.", ("45 Elm St., Apt 4B",)),
    ("address", "Sent to 1600 Pennsylvania Avenue NW.", ("1600 Pennsylvania Avenue NW",)),
    ("address", "Clinic at 77 Massachusetts Ave.", ("77 Massachusetts Ave",)),
    ("address", "Resides at 9 Beacon Hill Lane.", ("9 Beacon Hill Lane",)),
    ("address", "Mail to P.O. Box 4412.", ("P.O. Box 4412",)),
    ("address", "Address: 250 West 57th Street, Suite 1200.", (
        "250 West 57th Street, Suite 1200",)),
    # cities, states and ZIP codes
    ("geo", "Transferred from Boston, MA 02115.", ("Boston", "02115")),
    ("geo", "Resident of Springfield, Illinois.", ("Springfield",)),
    ("geo", "Referred from Indianapolis, IN 46202-5120.", ("Indianapolis", "46202-5120")),
    ("geo", "Lives in Cleveland.", ("Cleveland",)),
    ("geo", "ZIP 90210.", ("90210",)),
    ("geo", "Outside films from Houston, Texas.", ("Houston",)),
    ("geo", "Moved from Brookline MA 02446.", ("Brookline", "02446")),
    # e-mail addresses and URLs
    ("email", "Questions to john.smith@example.org.", ("john.smith@example.org",)),
    ("email", "Send images to radiology-desk@mgh.harvard.edu", ("radiology-desk@mgh.harvard.edu",)),
    ("url", "Images at https://pacs.example-hospital.org/study/12345.", (
        "https://pacs.example-hospital.org/study/12345",)),
    ("url", "See www.example.com/report?id=77 for the report.", ("www.example.com/report?id=77",)),
    ("url", "Viewer: http://10.2.3.4/viewer", ("http://10.2.3.4/viewer",)),
)  # fmt: skip

KINDS = tuple(dict.fromkeys(k for k, _s, _g in PHI_SNIPPETS))


@dataclass(frozen=True)
class Case:
    """One sentence, clean and with PHI injected; ``gold`` are (kind, start, end) in
    ``text``."""

    clean: str
    text: str
    gold: tuple[tuple[str, int, int], ...]
    origin: str  # "own" or "iu_xray"


_SPLIT = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9])")


def real_sentences(realdata: Path | None) -> list[str]:
    """The unique sentences of the findings and impressions of the real IU X-ray reports
    (empty when the folder is absent)."""
    path = realdata / "reports" / "iu_xray" / "indiana_reports.csv" if realdata else None
    if path is None or not path.is_file():
        return []
    seen: dict[str, None] = {}
    with path.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            for field in ("findings", "impression"):
                for s in _SPLIT.split(row.get(field) or ""):
                    if len(s.strip()) > 3:
                        seen.setdefault(s.strip())
    return list(seen)


def inject(sentence: str, snippets: Iterable[tuple[str, str, tuple[str, ...]]], rng) -> Case:
    """The sentence with each snippet put before or after it, and the gold spans."""
    text = sentence
    for _kind, snippet, _golds in snippets:
        text = f"{snippet} {text}" if rng.random() < 0.5 else f"{text} {snippet}"
    gold = []
    for kind, snippet, golds in snippets:
        base = text.index(snippet)
        for g in golds:
            at = base + snippet.index(g)
            gold.append((kind, at, at + len(g)))
    return Case(sentence, text, tuple(sorted(gold, key=lambda g: g[1])), "")


def cases(realdata: Path | None = None, seed: int = 13) -> Iterator[Case]:
    """Every sentence of the set with PHI injected, one or two snippets each, the snippets
    used in turn: the own sentences, cycled until every snippet has been used once (every
    kind and form occurs without the real data), then each real sentence once."""
    rng = random.Random(seed)
    order = list(PHI_SNIPPETS)
    used = 0

    def case(sentence: str, origin: str) -> Case:
        nonlocal used
        picked = [order[used % len(order)]]
        used += 1
        if rng.random() < 0.4:
            picked.append(order[used % len(order)])
            used += 1
        injected = inject(sentence, picked, rng)
        return Case(injected.clean, injected.text, injected.gold, origin)

    i = 0
    while i < len(OWN_SENTENCES) or used < len(order):
        yield case(OWN_SENTENCES[i % len(OWN_SENTENCES)], "own")
        i += 1
    for sentence in real_sentences(realdata):
        yield case(sentence, "iu_xray")
