from __future__ import annotations

from collections import Counter

from schemas.identity import Pseudonymizer, is_valid_key, patient_split, pseudonym, stable_id


def test_stable_ids_are_keys_and_deterministic() -> None:
    a = stable_id("rec", "study-1", "phrase_grounding", 3)
    assert a == stable_id("rec", "study-1", "phrase_grounding", 3)
    assert a != stable_id("rec", "study-1", "phrase_grounding", 4)
    assert is_valid_key(a) and "." not in a
    assert not is_valid_key("1.2.840.10008")


def test_pseudonyms_depend_on_salt_and_hide_the_input() -> None:
    a = pseudonym("patient", "00000032", salt="s1")
    assert a == pseudonym("patient", "00000032", salt="s1")
    assert a != pseudonym("patient", "00000032", salt="s2")
    assert "00000032" not in a and is_valid_key(a)
    ids = Pseudonymizer("s1")
    assert ids.study("nih", "x.png") != ids.study("rsna", "x.png")


def test_patient_split_is_by_patient_and_near_80_10_10() -> None:
    counts = Counter(patient_split(f"patient-{i}").value for i in range(20000))
    assert abs(counts["train"] / 20000 - 0.8) < 0.02
    assert abs(counts["validation"] / 20000 - 0.1) < 0.02
    assert abs(counts["test"] / 20000 - 0.1) < 0.02
    assert all(patient_split("p-7") == patient_split("p-7") for _ in range(3))
    assert {patient_split(f"p{i}", (0, 0, 100)).value for i in range(50)} == {"test"}
