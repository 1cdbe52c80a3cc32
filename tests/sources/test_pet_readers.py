"""Reading PET/CT exams: autoPET-style NIfTI folders in any orientation, DICOM PET (and CT)
series, the real PET slices; and the bad inputs: no PatientWeight, a zero dose, a corrupt
slice, CT and PET grids that disagree, an unreadable volume."""

from __future__ import annotations

import dataclasses
import gzip
import shutil
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from extractors.pet.phantom import generate_exam, synthetic_anatomy
from schemas.enums import Reason
from schemas.errors import ItemError
from sources.pet.readers import load_autopet_exam, load_pet_dicom_exam
from sources.pet.synthetic import ORGANS, write_exam
from tests.pet_helpers import blob_volume, write_series


@pytest.fixture(scope="module")
def phantom():
    return generate_exam(synthetic_anatomy(shape=(48, 40, 56), spacing=6.0), 3, n_lesions=3)


@pytest.mark.parametrize("orientation", ["RAS", "LPS", "LPI"])
def test_autopet_folder_in_any_orientation(tmp_path: Path, phantom, orientation: str) -> None:
    write_exam(tmp_path / "study", dataclasses.replace(phantom, file_orientation=orientation))
    volume = load_autopet_exam(tmp_path / "study", organ_masks=ORGANS)
    assert np.array_equal(volume.suv, phantom.suv)
    assert np.array_equal(volume.seg, phantom.seg)
    assert np.allclose(volume.affine, phantom.affine)
    assert volume.ct is not None and volume.ct.shape == phantom.suv.shape
    assert set(volume.organs.names.values()) == set(phantom.organs.names.values())
    assert np.array_equal(volume.organs.mask("liver"), phantom.organs.mask("liver"))
    # the report's numbers are the stored slices from 1: image 1 is the file's first slice
    nz = phantom.suv.shape[2]
    flipped = orientation.endswith("I")
    assert volume.numbering.numbers == tuple(nz - z if flipped else z + 1 for z in range(nz))


def test_autopet_grids_must_agree(tmp_path: Path, phantom) -> None:
    write_exam(tmp_path / "study", phantom)
    ct = nib.load(tmp_path / "study" / "CTres.nii.gz")
    nib.save(
        nib.Nifti1Image(np.asarray(ct.dataobj)[:, :, :-2], ct.affine),
        tmp_path / "study" / "CTres.nii.gz",
    )
    with pytest.raises(ItemError) as err:
        load_autopet_exam(tmp_path / "study")
    assert err.value.reason == Reason.GRID_MISMATCH and "CTres.nii.gz" in err.value.message
    write_exam(tmp_path / "other", phantom)
    organs = nib.load(tmp_path / "other" / ORGANS)
    moved = organs.affine.copy()
    moved[0, 3] += 12.0
    nib.save(nib.Nifti1Image(np.asarray(organs.dataobj), moved), tmp_path / "other" / ORGANS)
    with pytest.raises(ItemError, match=f"{ORGANS}: the organ mask grid") as err:
        load_autopet_exam(tmp_path / "other", organ_masks=ORGANS)
    assert err.value.reason == Reason.GRID_MISMATCH


def test_autopet_unreadable_volume(tmp_path: Path, phantom) -> None:
    write_exam(tmp_path / "study", phantom)
    suv = tmp_path / "study" / "SUV.nii.gz"
    suv.write_bytes(gzip.compress(b"not a nifti at all")[:20])
    with pytest.raises(ItemError) as err:
        load_autopet_exam(tmp_path / "study")
    assert err.value.reason == Reason.VOLUME_READ_ERROR and "SUV.nii.gz" in err.value.message


SPOTS = [(44, 30, 30, 3, 8.0), (20, 34, 12, 2, 4.0)]


def _dicom_exam(folder: Path, *, header=None, ct: bool = True, ct_frame: str = "for-1", ct_z=-40.0):
    """A PET series (64 x 64 x 40 at 4 mm) and a CT series of the same field of view at
    2 mm in-plane (so it must be resampled), both written slice by slice."""
    volume = blob_volume(shape=(64, 64, 40), spots=SPOTS)
    write_series(folder / "PET", volume.suv, modality="PT", header=header, reverse_files=True)
    if ct:
        fine = blob_volume(shape=(128, 128, 40), spacing=(2.0, 2.0, 4.0)).suv > 0
        hu = np.where(fine, 40.0, -1000.0).astype(np.float32)
        write_series(
            folder / "CT", hu, modality="CT", spacing=(2.0, 2.0, 4.0), origin=(-65.0, -65.0, ct_z),
            series_seed="ct", frame_of_reference=ct_frame,
        )  # fmt: skip
    return volume


def test_dicom_pet_series_becomes_a_canonical_suv_volume(tmp_path: Path) -> None:
    truth = _dicom_exam(tmp_path, ct=False)
    volume = load_pet_dicom_exam(tmp_path)
    assert volume.shape == truth.shape
    assert np.allclose(volume.suv, truth.suv, atol=1e-3 * truth.suv.max())
    assert tuple(np.unravel_index(np.argmax(volume.suv), volume.shape)) == (44, 30, 30)
    assert np.allclose(np.diag(volume.affine)[:3], [-4, -4, 4])  # canonical axes, RAS world
    # InstanceNumber 1 is the most superior slice
    assert volume.numbering.index_of(1) == 39 and volume.numbering.index_of(40) == 0


def test_dicom_ct_is_resampled_onto_the_pet_grid(tmp_path: Path) -> None:
    _dicom_exam(tmp_path)
    volume = load_pet_dicom_exam(tmp_path)
    assert volume.ct is not None and volume.ct.shape == volume.shape
    body = volume.suv > 0.1
    assert np.median(volume.ct[body]) == pytest.approx(40, abs=1)
    assert np.median(volume.ct[~body]) == pytest.approx(-1000, abs=1)


@pytest.mark.parametrize(
    ("header", "reason", "words"),
    [
        ({"PatientWeight": None}, Reason.SUV_MISSING_TAG, "PatientWeight (0010,1030)"),
        ({"rp_RadionuclideTotalDose": "0"}, Reason.SUV_ABSURD_VALUE, "RadionuclideTotalDose"),
    ],
)
def test_dicom_pet_without_weight_or_with_zero_dose(tmp_path: Path, header, reason, words) -> None:
    _dicom_exam(tmp_path, header=header, ct=False)
    with pytest.raises(ItemError) as err:
        load_pet_dicom_exam(tmp_path)
    assert err.value.reason == reason and words in err.value.message
    assert ".dcm" in err.value.message


def test_dicom_corrupt_slice_names_the_file(tmp_path: Path) -> None:
    _dicom_exam(tmp_path, ct=False)
    victim = sorted((tmp_path / "PET").glob("*.dcm"))[7]
    victim.write_bytes(victim.read_bytes()[: len(victim.read_bytes()) // 2])
    with pytest.raises(ItemError) as err:
        load_pet_dicom_exam(tmp_path)
    assert err.value.reason in (Reason.DICOM_READ_ERROR, Reason.DICOM_PIXEL_ERROR)
    assert victim.name in err.value.message


def test_dicom_ct_and_pet_grids_that_disagree(tmp_path: Path) -> None:
    _dicom_exam(tmp_path / "a", ct_frame="another-frame")
    with pytest.raises(ItemError, match=r"FrameOfReferenceUID \(0020,0052\)") as err:
        load_pet_dicom_exam(tmp_path / "a")
    assert err.value.reason == Reason.GRID_MISMATCH
    _dicom_exam(tmp_path / "b", ct_z=400.0)  # the CT lies 44 cm above the PET
    with pytest.raises(ItemError, match="covers 0% of the PET field of view") as err:
        load_pet_dicom_exam(tmp_path / "b")
    assert err.value.reason == Reason.GRID_MISMATCH


@pytest.mark.realdata
def test_real_pet_slice_as_an_exam(tmp_path: Path, realdata: Path) -> None:
    shutil.copy(realdata / "pet" / "pet_acrin_flt_breast_1.dcm", tmp_path / "slice.dcm")
    volume = load_pet_dicom_exam(tmp_path)
    assert volume.shape == (168, 168, 1)
    assert float(volume.suv.max()) == pytest.approx(7.19, abs=0.01)
    assert volume.numbering.numbers == (60,)  # its InstanceNumber
    assert volume.spacing[0] == pytest.approx(4.07283)
