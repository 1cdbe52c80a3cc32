"""Body-weight SUV (QIBA vendor-neutral pseudo-code): the real PET slices give physiological
SUVs, every branch of the pseudo-code gives the factor computed here by hand, and missing or
absurd inputs raise an error that names the tag (and never a date)."""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
import pydicom
import pytest

from extractors.pet.suv import parse_dt, parse_tm, suv_bw_scale_factor
from schemas.enums import Reason
from schemas.errors import ItemError
from tests.pet_helpers import expected_factor, pet_header


@pytest.mark.realdata
def test_real_pet_slices_give_physiological_suv(realdata: Path) -> None:
    ds = pydicom.dcmread(realdata / "pet" / "pet_acrin_flt_breast_1.dcm")
    factor = suv_bw_scale_factor([ds])
    # by hand from its header: 69.7344 kg, 178340011.59668 Bq at 14:17:00, series 15:23:16.921
    uptake = (15 * 3600 + 23 * 60 + 16.921) - (14 * 3600 + 17 * 60)
    by_hand = 69734.4 / (178340011.59668 * 2 ** (-uptake / 6586.2))
    assert factor == pytest.approx(by_hand, rel=1e-9)
    assert factor == pytest.approx(5.9425e-4, rel=1e-4)
    for name, top in (("pet_acrin_flt_breast_1.dcm", 7.19), ("pet_acrin_flt_breast_2.dcm", 6.16)):
        ds = pydicom.dcmread(realdata / "pet" / name)
        suv = (ds.pixel_array * float(ds.RescaleSlope) + float(ds.RescaleIntercept)) * (
            suv_bw_scale_factor([ds])
        )
        body = suv[suv > 0.1]
        assert suv.max() == pytest.approx(top, abs=0.01)  # FLT in marrow / tumour: 2-15
        assert 0.2 < float(np.median(body)) < 1.5  # soft tissue background
        assert suv.min() >= 0


def test_bqml_start_decays_the_dose_to_the_series_time() -> None:
    assert suv_bw_scale_factor([pet_header()]) == pytest.approx(expected_factor(), rel=1e-12)


def test_admin_decay_correction_uses_the_undecayed_dose() -> None:
    ds = pet_header(DecayCorrection="ADMIN")
    assert suv_bw_scale_factor([ds]) == pytest.approx(70_000 / 370e6, rel=1e-12)


def test_gml_is_already_suv() -> None:
    assert suv_bw_scale_factor([pet_header(Units="GML", PatientWeight=None)]) == 1.0


def test_philips_cnts_private_factors() -> None:
    ds = pet_header(Units="CNTS")
    ds.add_new((0x7053, 0x0010), "LO", "Philips PET Private Group")
    ds.add_new((0x7053, 0x1000), "DS", "0.000456")
    assert suv_bw_scale_factor([ds]) == pytest.approx(0.000456)
    ds = pet_header(Units="CNTS")
    ds.add_new((0x7053, 0x0010), "LO", "Philips PET Private Group")
    ds.add_new((0x7053, 0x1009), "DS", "2.5")
    assert suv_bw_scale_factor([ds]) == pytest.approx(2.5 * expected_factor(), rel=1e-12)
    with pytest.raises(ItemError, match=r"\(7053,1000\).*\(7053,1009\)"):
        suv_bw_scale_factor([pet_header(Units="CNTS")])


def test_an_acquisition_before_the_series_time_is_the_scan_time() -> None:
    # a post-processed series: SeriesTime 12:00, its slices acquired from 10:45
    late = [
        pet_header(SeriesTime="120000", AcquisitionTime="104500"),
        pet_header(SeriesTime="120000", AcquisitionTime="110000"),
    ]
    assert suv_bw_scale_factor(late) == pytest.approx(expected_factor(uptake_s=2700), rel=1e-12)
    ge = pet_header(SeriesTime="120000", AcquisitionTime="104500")
    ge.add_new((0x0009, 0x0010), "LO", "GEMS_PETD_01")
    ge.add_new((0x0009, 0x100D), "DT", "20240102103000")  # GE's post-injection scan time
    assert suv_bw_scale_factor([ge]) == pytest.approx(expected_factor(uptake_s=1800), rel=1e-12)


def test_start_datetime_wins_and_time_alone_uses_the_series_date() -> None:
    with_dt = pet_header(rp_RadiopharmaceuticalStartDateTime="20240102102000")
    assert suv_bw_scale_factor([with_dt]) == pytest.approx(expected_factor(uptake_s=2400))
    # only a time, and the exam spans midnight: injected 23:30 the day before a 00:30 scan
    night = pet_header(
        SeriesTime="003000", AcquisitionTime="003000", rp_RadiopharmaceuticalStartTime="233000"
    )
    assert suv_bw_scale_factor([night]) == pytest.approx(expected_factor(uptake_s=3600))


@pytest.mark.parametrize(
    ("overrides", "reason", "tag"),
    [
        ({"PatientWeight": None}, Reason.SUV_MISSING_TAG, "PatientWeight (0010,1030)"),
        ({"PatientWeight": "0"}, Reason.SUV_ABSURD_VALUE, "PatientWeight (0010,1030)"),
        ({"rp_RadionuclideTotalDose": "0"}, Reason.SUV_ABSURD_VALUE, "RadionuclideTotalDose"),
        ({"rp_RadionuclideTotalDose": None}, Reason.SUV_MISSING_TAG, "RadionuclideTotalDose"),
        ({"rp_RadionuclideTotalDose": "370"}, Reason.SUV_ABSURD_VALUE, "stored in MBq"),
        ({"rp_RadionuclideHalfLife": "0"}, Reason.SUV_ABSURD_VALUE, "RadionuclideHalfLife"),
        ({"rp_RadiopharmaceuticalStartTime": None}, Reason.SUV_MISSING_TAG, "(0018,1072)"),
        (
            {"rp_RadiopharmaceuticalStartDateTime": "20240102120000"},
            Reason.SUV_ABSURD_VALUE,
            "RadiopharmaceuticalStartDateTime (0018,1078)",
        ),
        ({"CorrectedImage": ["ATTN"]}, Reason.SUV_UNSUPPORTED, "CorrectedImage (0028,0051)"),
        ({"CorrectedImage": None}, Reason.SUV_MISSING_TAG, "CorrectedImage (0028,0051)"),
        ({"Units": "PROPCNTS"}, Reason.SUV_UNSUPPORTED, "Units (0054,1001)"),
        ({"DecayCorrection": "NONE"}, Reason.SUV_UNSUPPORTED, "DecayCorrection (0054,1102)"),
        ({"SeriesTime": None}, Reason.SUV_MISSING_TAG, "SeriesTime (0008,0031)"),
    ],
)
def test_missing_or_absurd_inputs_name_the_tag(overrides, reason, tag) -> None:
    ds = pet_header(**overrides)
    ds.filename = "/data/exam7/slice_0042.dcm"
    with pytest.raises(ItemError) as err:
        suv_bw_scale_factor([ds])
    assert err.value.reason == reason
    assert tag in err.value.message and "slice_0042.dcm" in err.value.message
    assert not re.search(r"2024|20240102|10:00|11:00|12:00", err.value.message)  # no dates


def test_injection_after_the_scan_says_by_how_much() -> None:
    with pytest.raises(ItemError, match="60 min after the scan start"):
        suv_bw_scale_factor([pet_header(rp_RadiopharmaceuticalStartDateTime="20240102120000")])


def test_dicom_time_parsing() -> None:
    assert parse_tm("141700.000000").hour == 14
    assert parse_tm("1417").minute == 17
    assert parse_tm("14:17:05").second == 5
    assert parse_dt("20240102103000.5+0100").microsecond == 500000
    assert math.isclose(parse_tm("101010.25").microsecond, 250000)
