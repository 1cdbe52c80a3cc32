"""Canonical orientation (``extractors.volume``), PET slice numbering and DICOM slice
stacking with PET's codes."""

from __future__ import annotations

import numpy as np
import pytest

from extractors.pet.volume import SliceNumbering, file_axis_numbering, instance_numbering
from extractors.volume import (
    CANONICAL_AXCODES,
    PET_INPUT,
    resample_to_grid,
    same_grid,
    to_canonical,
)
from extractors.volume.dicom import series_volume, stack_series
from schemas.enums import Reason
from schemas.errors import ItemError


def _canonical_volume() -> tuple[np.ndarray, np.ndarray]:
    """A canonical array (x: right->left, y: anterior->posterior, z: feet->head) and its
    affine in nibabel's RAS world."""
    data = np.arange(4 * 5 * 6, dtype=np.float32).reshape(4, 5, 6)
    affine = np.diag([-2.0, -3.0, 4.0, 1.0])
    affine[:3, 3] = [10, 20, -30]
    return data, affine


def test_canonical_is_the_projects_one_orientation() -> None:
    from nibabel.orientations import aff2axcodes

    assert CANONICAL_AXCODES == ("L", "P", "S")
    data, affine = _canonical_volume()
    assert aff2axcodes(affine) == CANONICAL_AXCODES
    ras = np.diag([2.0, 3.0, 4.0, 1.0])
    back = to_canonical(data, ras)
    assert (
        np.array_equal(back.data, data[::-1, ::-1, :])
        and aff2axcodes(back.affine) == CANONICAL_AXCODES
    )


@pytest.mark.parametrize("codes", ["RAS", "LPI", "RAI", "LAS"])
def test_any_flipped_storage_comes_back_canonical(codes: str) -> None:
    from nibabel.orientations import apply_orientation, axcodes2ornt, inv_ornt_aff, ornt_transform

    data, affine = _canonical_volume()
    t = ornt_transform(axcodes2ornt(CANONICAL_AXCODES), axcodes2ornt(codes))
    stored, stored_affine = apply_orientation(data, t), affine @ inv_ornt_aff(t, data.shape)
    back = to_canonical(stored, stored_affine)
    assert np.array_equal(back.data, data)
    assert np.allclose(back.affine, affine)
    assert back.reorientation.z_flipped == codes.endswith("I")
    numbering = file_axis_numbering(back, data.shape[2], 1)
    # a report's "slice 1" is the file's first stored slice
    expected_z_of_1 = 5 if codes.endswith("I") else 0
    assert numbering.index_of(1) == expected_z_of_1
    assert numbering.index_of(7) is None


def test_axis_swaps_are_undone() -> None:
    data, affine = _canonical_volume()
    swapped = np.transpose(data, (2, 0, 1))  # stored z, x, y
    swapped_affine = affine[:, [2, 0, 1, 3]]
    back = to_canonical(swapped, swapped_affine)
    assert np.array_equal(back.data, data)
    assert back.reorientation.z_source_axis == 0


def test_slice_numbering() -> None:
    n = SliceNumbering((30, 29, 28), "instance numbers, head first")
    assert n.index_of(29) == 1 and n.number_of(2) == 28 and n.span == (28, 30)


def test_resample_identity_and_shift() -> None:
    data, affine = _canonical_volume()
    same = resample_to_grid(data, affine, data.shape, affine, order=1, cval=-1)
    assert np.allclose(same, data)
    shifted = affine.copy()
    shifted[2, 3] += 4.0  # one slice up
    out = resample_to_grid(data, affine, data.shape, shifted, order=0, cval=-1)
    assert np.array_equal(out[:, :, :-1], data[:, :, 1:]) and (out[:, :, -1] == -1).all()
    assert same_grid(data.shape, affine, data.shape, affine + 1e-4)
    assert not same_grid(data.shape, affine, data.shape, shifted)


class _Slice(dict):
    """Just the attributes ``stack_series`` reads, as a pydicom Dataset would give them."""

    def __getattr__(self, key):
        return self[key]

    def get(self, key, default=None):
        return super().get(key, default)


def _slice(k: int, z: float, rows: int = 3, cols: int = 4, name: str | None = None) -> _Slice:
    return _Slice(
        Rows=rows,
        Columns=cols,
        ImageOrientationPatient=[1, 0, 0, 0, 1, 0],
        PixelSpacing=[2.0, 2.0],
        ImagePositionPatient=[0.0, 0.0, z],
        InstanceNumber=k,
        filename=name or f"s{k}.dcm",
        value=float(k),
    )


def test_stack_sorts_by_position_and_keeps_instance_numbers() -> None:
    slices = [_slice(3, -8.0), _slice(1, 0.0), _slice(2, -4.0)]  # image 1 at the head
    stack = stack_series(slices, lambda ds: np.full((3, 4), ds.value), rules=PET_INPUT, what="PET")
    assert stack.data.shape == (3, 4, 3)  # rows, columns, slices
    assert [float(stack.data[0, 0, k]) for k in range(3)] == [3.0, 2.0, 1.0]  # foot to head
    canon = series_volume(stack, PET_INPUT, "PET")
    numbering = instance_numbering(stack, canon)
    assert numbering.index_of(1) == 2  # image 1 is the most superior canonical slice
    assert float(canon.data[0, 0, numbering.index_of(1)]) == 1.0


def test_an_oblique_grid_is_refused() -> None:
    data, affine = _canonical_volume()
    tilted = affine.copy()
    tilted[:3, :3] = tilted[:3, :3] @ np.array(
        [[1, 0, 0], [0, np.cos(0.2), -np.sin(0.2)], [0, np.sin(0.2), np.cos(0.2)]]
    )
    with pytest.raises(ItemError, match=r"SUV\.nii\.gz: voxel axis") as err:
        to_canonical(data, tilted, "SUV.nii.gz")
    assert err.value.reason == Reason.CT_GEOMETRY


def test_stack_rejects_gaps_duplicates_and_odd_slices() -> None:
    def stack(slices):
        return stack_series(slices, lambda d: 0, rules=PET_INPUT, what="PET")

    with pytest.raises(ItemError, match=r"s3.dcm: 8.00 mm .* missing slice") as err:
        stack([_slice(1, 0), _slice(2, 4), _slice(3, 12), _slice(4, 16)])
    assert err.value.reason == Reason.SERIES_INCONSISTENT
    with pytest.raises(ItemError, match="same ImagePositionPatient"):
        stack([_slice(1, 0), _slice(2, 0)])
    with pytest.raises(ItemError, match=r"s2.dcm: 5x4 pixels.*Rows \(0028,0010\)"):
        stack([_slice(1, 0), _slice(2, 4, rows=5)])
