"""Phantoms with known truth, on a synthetic body and on the real CT with its organ masks:
the generator is deterministic, and the reader + localiser find every localisable lesion of
a few exams (the full figures are ``medsg bench pet``'s)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from benchmarks.pet import AccuracyReport, score_exam
from extractors.pet.phantom import generate_exam, synthetic_anatomy
from extractors.pet.render import coronal_box


@pytest.fixture(scope="module")
def body():
    return synthetic_anatomy()


@pytest.fixture(scope="module")
def real_ct(realdata: Path):
    from sources.pet.readers import load_ct_anatomy

    d = realdata / "ct" / "totalsegmentator_example"
    return load_ct_anatomy(d / "example_ct.nii.gz", d / "example_ct_organ_masks")


def test_same_seed_same_exam(body) -> None:
    a, b = generate_exam(body, 5), generate_exam(body, 5)
    assert a.suv.tobytes() == b.suv.tobytes() and a.sentences == b.sentences
    assert generate_exam(body, 6).sentences != a.sentences


def test_physiological_uptake_and_truth(body) -> None:
    exam = generate_exam(body, 1)
    organs = exam.organs
    brain, liver, lung = (
        float(np.median(exam.suv[organs.mask(n)]))
        for n in ("brain", "liver", "lung_lower_lobe_left")
    )
    assert 5.5 < brain < 10 and 1.6 < liver < 3.0 and lung < 1.0
    assert float(np.median(exam.suv[organs.mask("urinary_bladder")])) > 8
    localisable = [t for t in exam.truth if t.expected_reason is None]
    assert len(localisable) >= 4
    for t in localisable:
        lesion = exam.lesions[t.lesion_id - 1]
        assert t.suv == lesion.suv_max >= 2.5
        assert float(exam.suv[exam.seg == t.lesion_id].max()) == pytest.approx(t.suv, abs=0.051)


def _score(anatomy, seeds) -> AccuracyReport:
    report = AccuracyReport(anatomy.name)
    for seed in seeds:
        score_exam(generate_exam(anatomy, seed), report)
    return report


def test_every_localisable_lesion_of_a_few_synthetic_exams_is_found(body) -> None:
    report = _score(body, range(20, 24))
    assert report.localisable >= 16
    assert report.assigned_right == report.localisable
    assert report.wrong_lesion == report.wrong_side == report.unexplained == 0
    assert report.expected_reason_right == report.expected_reason_total > 0
    assert report.median_dice > 0.8


@pytest.mark.realdata
def test_real_ct_anatomy_and_its_phantoms(real_ct) -> None:
    assert "placed at CT slices 82-111" in real_ct.notes[0]  # the masks' affine says slice 0
    liver = real_ct.organs.mask("liver")
    assert 20 < float(np.median(real_ct.ct[liver])) < 80  # soft tissue HU where the mask is
    # patient's right on the image's left: the liver's box lies in the MIP's left half
    box = coronal_box(liver, (0, 0, 0), real_ct.ct.shape)
    spleen = coronal_box(real_ct.organs.mask("spleen"), (0, 0, 0), real_ct.ct.shape)
    assert (box.x1 + box.x2) / 2 < 0.5 < (spleen.x1 + spleen.x2) / 2
    assert box.y2 < 0.5  # upper abdomen: the top of the image (head up)
    report = _score(real_ct, range(3))
    assert report.localisable >= 12
    assert report.assigned_right == report.localisable and report.wrong_side == 0
    assert report.unexplained == 0 and report.median_dice > 0.8
