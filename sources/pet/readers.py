"""Reading PET/CT exams from disk into ``extractors.pet.volume.PetVolume`` (canonical grid).

- autoPET-style NIfTI exams: one folder per study with ``SUV.nii.gz`` (required),
  ``CTres.nii.gz`` (CT resampled to the PET grid) and ``SEG.nii.gz`` (lesion labels), both
  optional but, when present, on the PET grid; organ masks as one NIfTI per TotalSegmentator
  class in a folder, or one multilabel NIfTI with TotalSegmentator "total" class ids.
- DICOM PET/CT exams: one folder with a PET series (SUV from the QIBA factor, per-slice
  rescale) and optionally a CT series, resampled onto the PET grid.
- A CT with organ masks, as anatomy for phantoms (``load_ct_anatomy``).

Files, series, grids and organ masks are read by ``extractors.volume`` with PET's codes
(``PET_INPUT``, ``PET_MASKS``); this module knows the exam layouts. Errors are ``ItemError``
with a reason code and a message naming the file and the tag or field; nothing else
escapes. Only pixel-describing DICOM attributes and the SUV inputs are read; no identifying
header value leaves this module.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from extractors.pet.phantom import Anatomy
from extractors.pet.suv import suv_bw_scale_factor
from extractors.pet.volume import (
    OrganMasks,
    PetVolume,
    file_axis_numbering,
    instance_numbering,
)
from extractors.volume import (
    PET_INPUT,
    PET_MASKS,
    overlap_fraction,
    read_nifti,
    read_nifti_volume,
    read_organ_masks,
    require_same_grid,
    resample_to_grid,
    same_grid,
    to_canonical,
)
from extractors.volume.dicom import (
    file_name,
    group_series,
    read_headers,
    series_volume,
    slice_values,
    stack_series,
)
from extractors.volume.reasons import DICOM_SUFFIXES
from schemas.enums import Reason
from schemas.errors import ItemError

SUV_FILE, CT_FILE, SEG_FILE = "SUV.nii.gz", "CTres.nii.gz", "SEG.nii.gz"
MIN_CT_OVERLAP = 0.5  # share of the PET field of view the CT must cover


# ---- NIfTI ----------------------------------------------------------------------------------


def _organs_on(path: Path, grid: tuple) -> OrganMasks:
    """Organ masks of an exam, required to lie on the exam's grid (in any orientation)."""
    return OrganMasks.from_mask_set(read_organ_masks(path, PET_MASKS, grid, ref="PET"))


def load_autopet_exam(
    folder: Path,
    *,
    slice_base: int = 1,
    organ_masks: str | None = None,
) -> PetVolume:
    """An autoPET-style study folder as a canonical PET volume with its CT, SEG and organs.
    Report slice numbers count the SUV file's stored slices from ``slice_base``."""
    suv_path = folder / SUV_FILE
    data, affine = read_nifti(suv_path, SUV_FILE, PET_INPUT.read)
    if not np.isfinite(data).all():
        raise ItemError(Reason.VOLUME_READ_ERROR, f"{SUV_FILE}: contains NaN or infinite SUV")
    suv = to_canonical(data.astype(np.float32), affine, SUV_FILE, kind="nifti")
    n_in_file = data.shape[suv.reorientation.z_source_axis]
    volume = PetVolume(suv.data, suv.affine, file_axis_numbering(suv, n_in_file, slice_base))
    for name, attr, cast in ((CT_FILE, "ct", np.float32), (SEG_FILE, "seg", np.int16)):
        path = folder / name
        if not path.is_file():
            continue
        other = read_nifti_volume(path, PET_INPUT.read, dtype=cast)
        require_same_grid(
            name,
            "CT" if attr == "ct" else "segmentation",
            (other.shape, other.affine),
            "PET",
            (volume.shape, volume.affine),
            Reason.GRID_MISMATCH,
        )
        setattr(volume, attr, other.data)
    if organ_masks:
        path = folder / organ_masks
        if path.exists():
            volume.organs = _organs_on(path, (volume.shape, volume.affine))
    return volume


# ---- DICOM ----------------------------------------------------------------------------------


def load_pet_dicom_exam(folder: Path, *, organ_masks: str | None = None) -> PetVolume:
    """A DICOM PET/CT exam folder as a canonical SUV volume, with its CT resampled onto the
    PET grid when the folder holds one, and organ masks (NIfTI on the PET grid) when
    ``organ_masks`` names them in the folder."""
    series = group_series(read_headers(folder, PET_INPUT))  # modality -> series
    pets = series.get("PT", [])
    if not pets:
        raise ItemError(Reason.FILE_MISSING, f"{folder.name}: no PET (Modality PT) series")
    if len(pets) > 1:
        raise ItemError(
            Reason.SERIES_INCONSISTENT,
            f"{folder.name}: {len(pets)} PET series; keep one per exam folder",
        )
    pet = pets[0]
    factor = suv_bw_scale_factor(pet)
    stack = stack_series(
        pet, lambda ds: slice_values(ds, PET_INPUT, "PET") * factor, rules=PET_INPUT, what="PET"
    )
    suv = series_volume(stack, PET_INPUT, "the PET series")
    volume = PetVolume(suv.data.astype(np.float32), suv.affine, instance_numbering(stack, suv))
    cts = series.get("CT", [])
    if len(cts) > 1:
        raise ItemError(
            Reason.SERIES_INCONSISTENT, f"{folder.name}: {len(cts)} CT series; keep one"
        )
    if cts:
        ct_stack = stack_series(
            cts[0], lambda ds: slice_values(ds, PET_INPUT, "CT"), rules=PET_INPUT, what="CT"
        )
        _check_frame_of_reference(pet, cts[0])
        covered = overlap_fraction(
            ct_stack.data.shape, ct_stack.affine, volume.shape, volume.affine
        )
        if covered < MIN_CT_OVERLAP:
            raise ItemError(
                Reason.GRID_MISMATCH,
                f"{file_name(cts[0][0])}: the CT series covers {covered:.0%} of the "
                f"PET field of view (ImagePositionPatient (0020,0032) / "
                f"ImageOrientationPatient (0020,0037) disagree with the PET's)",
            )
        volume.ct = resample_to_grid(
            ct_stack.data, ct_stack.affine, volume.shape, volume.affine, order=1, cval=-1000.0
        ).astype(np.float32)
        volume.notes.append("CT resampled onto the PET grid (linear)")
    if organ_masks and (folder / organ_masks).exists():
        volume.organs = _organs_on(folder / organ_masks, (volume.shape, volume.affine))
    return volume


def _check_frame_of_reference(pet: list, ct: list) -> None:
    a = str(pet[0].get("FrameOfReferenceUID", "") or "")
    b = str(ct[0].get("FrameOfReferenceUID", "") or "")
    if a and b and a != b:
        raise ItemError(
            Reason.GRID_MISMATCH,
            f"{file_name(ct[0])}: FrameOfReferenceUID (0020,0052) differs from the "
            "PET's: the two series are not in one patient coordinate system",
        )


# ---- anatomy for phantoms -------------------------------------------------------------------


def load_ct_anatomy(ct_path: Path, masks: Path) -> Anatomy:
    """A CT in HU with organ masks, canonical, as phantom anatomy.

    Masks on the CT's grid are used as they are. Masks whose grid has the CT's in-plane
    geometry but fewer slices (a crop of the CT saved with the full CT's affine, as in
    TotalSegmentator's example files) are placed at the z offset where they agree with the
    CT (lungs on air, bones on bone, organs on soft tissue); the offset goes into the notes.
    """
    ct = read_nifti_volume(ct_path, PET_INPUT.read, dtype=np.float32)
    found = read_organ_masks(masks, PET_MASKS)
    organs = OrganMasks.from_mask_set(found)
    labels, names = organs.labels, organs.names
    notes: list[str] = []
    if same_grid(ct.shape, ct.affine, found.shape, found.affine):
        placed = labels
    elif (
        found.shape[:2] == ct.shape[:2]
        and found.shape[2] < ct.shape[2]
        and np.allclose(found.affine[:3, :3], ct.affine[:3, :3], atol=1e-3)
    ):
        offset, score = _best_z_offset(ct.data, labels, names)
        if score < 0.8:
            raise ItemError(
                Reason.GRID_MISMATCH,
                f"{masks.name}: the organ masks do not line up with {ct_path.name} at any "
                f"slice offset (best agreement {score:.0%})",
            )
        placed = np.zeros(ct.shape, dtype=labels.dtype)
        placed[:, :, offset : offset + found.shape[2]] = labels
        notes.append(
            f"organ masks ({found.shape[2]} slices) placed at CT slices "
            f"{offset}-{offset + found.shape[2] - 1} where they agree with the CT "
            f"({score:.0%}); their affine says slice 0"
        )
    else:
        require_same_grid(
            masks.name,
            "organ mask",
            (found.shape, found.affine),
            "CT",
            (ct.shape, ct.affine),
            Reason.GRID_MISMATCH,
        )
        placed = labels
    return Anatomy(ct_path.name, ct.data, OrganMasks(placed, names), ct.affine, notes)


def _best_z_offset(ct: np.ndarray, labels: np.ndarray, names: dict[int, str]) -> tuple[int, float]:
    """The slice offset where masks agree best with CT densities, and that agreement."""
    expect = []
    for label, name in names.items():
        if name.startswith("lung"):
            expect.append((label, -1024.0, -400.0))
        elif name.startswith(("vertebrae", "rib", "hip", "femur", "sacrum")):
            expect.append((label, 150.0, 3000.0))
        elif name in ("liver", "spleen", "kidney_left", "kidney_right"):
            expect.append((label, -20.0, 250.0))
    nz = labels.shape[2]
    best = (0, 0.0)
    for offset in range(ct.shape[2] - nz + 1):
        window = ct[:, :, offset : offset + nz]
        hits = total = 0
        for label, lo, hi in expect:
            values = window[labels == label]
            hits += int(((values >= lo) & (values <= hi)).sum())
            total += values.size
        score = hits / total if total else 0.0
        if score > best[1]:
            best = (offset, score)
    return best


__all__ = [
    "DICOM_SUFFIXES",
    "load_autopet_exam",
    "load_ct_anatomy",
    "load_pet_dicom_exam",
]
