"""Report text de-identification (``extractors.deid``): every kind of PHI of issue 13
finding 1 removed, in the forms the old ``scrub`` and ``redact`` missed; report words,
measurements and earlier de-identification marks kept; recall and clinical-word loss on
the test set of ``evaluation.deid_set`` (``medsg bench deid``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.deid import run, score_case
from evaluation.deid_set import KINDS, OWN_SENTENCES, PHI_SNIPPETS, cases, inject
from extractors.deid import deidentify, find_phi
from extractors.pet.report import redact
from extractors.reports import scrub

# (text, what it must become): the forms finding 1 names, and their neighbours
EXPECTED = [
    ("Discussed with John Smith.", "Discussed with [name]."),
    ("Signed: Lisa Cuddy MD", "Signed: [name] MD"),
    ("Robert Brown was notified.", "[name] was notified."),
    ("Dictated by Dr. Quentin Zylo.", "Dictated by Dr. [name]."),
    ("Mrs. Eleanor Whitfield was informed.", "Mrs. [name] was informed."),
    ("Patient: Smith, John.", "Patient: [name]."),
    ("MRN: A-99812, accession #ACC20201187.", "MRN: [id], accession #[id]."),
    ("Compared with 12-Mar-2020.", "Compared with [date]."),
    ("Compared with March 12, 2020.", "Compared with [date]."),
    ("Compared with 03/12/2020 and 2020-03-12.", "Compared with [date] and [date]."),
    ("A 93-year-old woman.", "A [age]-year-old woman."),
    ("Age: 101.", "Age: [age]."),
    ("Call 867-5309 or +1 617 555 0142 or (617) 555-0199.", "Call [phone] or [phone] or [phone]."),
    ("Fax: +1-617-555-0177.", "Fax: [phone]."),
    ("SSN 123-45-6789.", "SSN [id]."),
    ("Lives at 123 Main Street, Boston, MA 02115.",
     "Lives at [address], [location], MA [location]."),
    ("Resident of Springfield, Illinois.", "Resident of [location], Illinois."),
    ("Write to john.smith@example.org.", "Write to [email]."),
    ("See https://pacs.example.org/study/12345.", "See [url]."),
    # forms found by probing after the set was written
    ("JOHN SMITH was seen; SMITH, JOHN.", "[name] was seen; [name]."),
    ("Read by J. Smith, MD.", "Read by [name], MD."),
    ("Mary was notified.", "[name] was notified."),
    ("A ninety-two year old man.", "A [age] year old man."),
    ("Call 1-800-555-0199 or +44 20 7946 0958.", "Call [phone] or [phone]."),
    ("St. Louis, MO 63110; Richmond, Virginia.",
     "[location], MO [location]; [location], Virginia."),
    ("Discussed with Dr. Kim at 14:30 on 1/2.", "Discussed with Dr. [name] at [time] on [date]."),
]  # fmt: skip

KEPT = [
    "A 2.1 x 1.1 cm spiculated mass in the left upper lobe, series 3 image 45.",
    "FDG-avid right hilar node, SUV max 6.3 on image 88 (4:87), previously 4.1.",
    "Compression deformity of T12; a 45-year-old man; a 62 year old woman.",
    "There are no XXXX of a pleural effusion. Normal chest x-XXXX.",
    "Compared with the prior study of ___, unchanged since [**2101-3-4**].",
    "Lesions 1 and 2 may represent metastases. Series 2001 image 45.",
    "Heart size is normal. The lungs are clear. Discussed with the referring physician.",
    "ANA POSITIVE. NO ACUTE FINDINGS. CHEST PA AND LATERAL. Wilson disease.",
    "Grade 3/4 murmur; nodule 1.2 x 3.4 cm +/- 2 mm; SUV 2.5; diluted 1:1000.",
]


@pytest.mark.parametrize(("text", "expected"), EXPECTED)
def test_every_kind_of_phi_is_replaced_by_its_placeholder(text: str, expected: str) -> None:
    assert deidentify(text) == expected


@pytest.mark.parametrize("text", KEPT)
def test_report_words_numbers_and_earlier_marks_are_kept(text: str) -> None:
    assert deidentify(text) == text
    assert find_phi(text) == []


def test_idempotent_and_the_old_names_delegate() -> None:
    text = " ".join(t for t, _ in EXPECTED)
    once = deidentify(text)
    assert deidentify(once) == once
    assert scrub(text) == redact(text) == once


def test_finding_1_forms_the_old_redact_missed_are_removed() -> None:
    """The forms issue 13 finding 1 lists: "John Smith", "Lisa Cuddy MD", street, city,
    ZIP, 7-digit and +1 phones, SSNs, ages over 89, "12-Mar-2020" whole."""
    text = (
        "John Smith and Lisa Cuddy MD, 42 Wallaby Street, Boston, MA 02115, 867-5309, "
        "+1 617 555 0142, SSN 123-45-6789, 93-year-old, seen 12-Mar-2020."
    )
    out = deidentify(text)
    for secret in ("John", "Smith", "Cuddy", "Wallaby", "Boston", "02115", "867-5309",
                   "617 555 0142", "123-45-6789", "93", "Mar", "2020", "12-"):  # fmt: skip
        assert secret not in out, (secret, out)
    assert out == (
        "[name] and [name] MD, [address], [location], MA [location], [phone], [phone], "
        "SSN [id], [age]-year-old, seen [date]."
    )


def test_gold_spans_of_the_set_are_the_injected_strings() -> None:
    import random

    case = inject("Heart size is normal.", [PHI_SNIPPETS[0], PHI_SNIPPETS[30]], random.Random(1))
    assert sorted(case.text[s:e] for _k, s, e in case.gold) == ["12-Mar-2020", "Quentin Zylo"]
    assert case.clean == "Heart size is normal." and case.clean in case.text
    assert set(KINDS) == {
        "name", "id", "date", "age", "phone", "ssn", "address", "geo", "email", "url"
    }  # fmt: skip


def test_scoring_counts_a_partly_removed_string_as_missed() -> None:
    from benchmarks.deid import DeidScore
    from evaluation.deid_set import Case

    text = "Zzyzx Qwerty was present."  # no rule knows this name, no word introduces it
    score = DeidScore()
    score_case(Case("Discussed.", text, (("name", 0, 12),), "own"), score)
    assert (score.found["name"], score.gold["name"]) == (0, 1)
    assert score.missed == [("Zzyzx Qwerty", text)]
    assert score.words == 1 and score.words_lost == 0


def test_own_set_recall_is_complete_and_no_clinical_word_is_lost() -> None:
    score = run(None)
    assert score.sentences >= len(OWN_SENTENCES) and len(score.clean_seen) == len(OWN_SENTENCES)
    assert sum(score.gold.values()) >= len(PHI_SNIPPETS)
    assert {k for k in KINDS if score.gold[k]} == set(KINDS)
    assert score.missed == [] and score.recall == 1.0
    assert score.word_loss < 0.01
    assert score.lost == []


@pytest.mark.realdata
def test_real_report_sentences_recall_and_word_loss(realdata: Path) -> None:
    score = run(realdata)
    assert score.sentences > 2000  # the unique IU X-ray findings and impression sentences
    assert {k for k in KINDS if score.gold[k] >= 50} == set(KINDS)  # every kind, many times
    assert score.missed == [], score.missed[:5]
    assert score.recall == 1.0
    assert score.word_loss < 0.01, score.lost[:10]


def test_every_snippet_kind_is_used_by_the_set() -> None:
    used = {k for c in cases(None) for k, _s, _e in c.gold}
    assert used == set(KINDS)


def test_bench_deid_prints_recall_and_word_loss(tmp_path: Path, capsys) -> None:
    from medsg.cli import main

    assert main(["bench", "deid", "--realdata", str(tmp_path / "none"), "--json",
                 str(tmp_path / "d.json")]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "the project's own sentences only" in out
    line = next(x for x in out.splitlines() if x.startswith("deid: "))
    assert f"{len(list(cases(None)))} sentences" in line
    assert "recall of injected PHI" in line and "(100.00%)" in line
    assert "clinical-word loss 0/" in line
    import json

    payload = json.loads((tmp_path / "d.json").read_text())
    assert payload["recall"] == 1.0 and payload["word_loss"] == 0.0
