"""The one volume package: one grid tolerance, the class map looked up once, organ masks as a
folder or one multilabel file, and one DICOM series reader whose codes are each modality's."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from extractors.pet.volume import OrganMasks
from extractors.volume import (
    CT_INPUT,
    CT_MASKS,
    GRID_TOL_MM,
    PET_INPUT,
    PET_MASKS,
    grid_difference,
    read_organ_masks,
    same_grid,
    stored_as,
    to_canonical,
    totalseg_classes,
    totalseg_ids,
)
from extractors.volume.dicom import stack_series
from schemas.enums import Reason
from schemas.errors import ItemError

AFFINE = np.diag([-2.0, -2.0, 3.0, 1.0])


def test_one_tolerance_and_the_reason_it_gives() -> None:
    assert same_grid((4, 5, 6), AFFINE, (4, 5, 6), AFFINE + GRID_TOL_MM / 2)
    moved = AFFINE.copy()
    moved[0, 3] += 2 * GRID_TOL_MM
    assert "affines differ" in grid_difference((4, 5, 6), AFFINE, (4, 5, 6), moved)
    assert "shapes differ" in grid_difference((4, 5, 6), AFFINE, (4, 5, 7), AFFINE)


def test_class_map_is_looked_up_once() -> None:
    assert totalseg_classes() is totalseg_classes()
    assert totalseg_classes()[totalseg_ids()["liver"]] == "liver"


def test_stored_as_is_undone_by_to_canonical() -> None:
    data = np.arange(60).reshape(3, 4, 5)
    stored, affine = stored_as(data, AFFINE, "RAI")
    back = to_canonical(stored, affine)
    assert np.array_equal(back.data, data) and np.allclose(back.affine, AFFINE)
    assert back.source_axcodes == ("R", "A", "I") and back.reorientation.z_flipped


def _labels() -> np.ndarray:
    labels = np.zeros((6, 5, 4), dtype=np.int16)
    labels[1:3, 1:3, 1:3] = totalseg_ids()["liver"]
    labels[4:6, 2:4, 0:2] = totalseg_ids()["spleen"]
    return labels


def _save(path: Path, data: np.ndarray, axcodes: str = "LPS") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    stored, affine = stored_as(data, AFFINE, axcodes)
    nib.save(nib.Nifti1Image(stored, affine), str(path))
    return path


def test_folder_and_multilabel_masks_agree(tmp_path: Path) -> None:
    labels = _labels()
    grid = (labels.shape, AFFINE)
    multi = read_organ_masks(_save(tmp_path / "organs.nii.gz", labels, "RAS"), PET_MASKS, grid)
    for name in ("liver", "spleen"):
        mask = (labels == totalseg_ids()[name]).astype(np.uint8)
        _save(tmp_path / "folder" / f"{name}.nii.gz", mask, "LPI")
    (tmp_path / "folder" / "notes.nii.gz").write_bytes(b"not a class: passed over")
    folder = read_organ_masks(tmp_path / "folder", PET_MASKS, grid)
    a, b = OrganMasks.from_mask_set(multi), OrganMasks.from_mask_set(folder)
    assert set(a.names.values()) == set(b.names.values()) == {"liver", "spleen"}
    for name in ("liver", "spleen"):
        assert np.array_equal(a.mask(name), b.mask(name))


@pytest.mark.parametrize(
    ("rules", "reason"), [(CT_MASKS, "mask_read_error"), (PET_MASKS, "volume_read_error")]
)
def test_unknown_label_values_get_each_modalitys_code(tmp_path: Path, rules, reason) -> None:
    labels = _labels()
    labels[0, 0, 0] = 999
    with pytest.raises(ItemError, match=r"label values \[999\]") as err:
        read_organ_masks(_save(tmp_path / "organs.nii.gz", labels), rules, (labels.shape, AFFINE))
    assert err.value.reason == reason


class _Header(dict):
    """The attributes the series reader reads, as a pydicom Dataset gives them."""

    def __getattr__(self, key):
        return self[key]

    def get(self, key, default=None):
        return super().get(key, default)


def _series(zs) -> list[_Header]:
    return [
        _Header(
            Rows=2,
            Columns=3,
            PixelSpacing=[1.0, 1.0],
            ImageOrientationPatient=[1, 0, 0, 0, 1, 0],
            ImagePositionPatient=[0.0, 0.0, float(z)],
            InstanceNumber=k + 1,
            filename=f"s{k}.dcm",
        )
        for k, z in enumerate(zs)
    ]


@pytest.mark.parametrize(
    ("rules", "reason"),
    [(CT_INPUT, Reason.CT_SLICE_GAP), (PET_INPUT, Reason.SERIES_INCONSISTENT)],
)
def test_one_series_reader_two_codes(rules, reason) -> None:
    ok = stack_series(_series([0, 2, 4]), lambda ds: np.zeros((2, 3)), rules=rules, what="s")
    assert ok.data.shape == (2, 3, 3) and ok.instance_numbers == (1, 2, 3)
    with pytest.raises(ItemError, match="missing slices") as err:
        stack_series(_series([0, 2, 6, 8]), lambda ds: np.zeros((2, 3)), rules=rules, what="s")
    assert err.value.reason == reason
