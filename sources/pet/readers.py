"""Reading PET/CT exams from disk into ``extractors.pet.volume.PetVolume`` (canonical grid).

- autoPET-style NIfTI exams: one folder per study with ``SUV.nii.gz`` (required),
  ``CTres.nii.gz`` (CT resampled to the PET grid) and ``SEG.nii.gz`` (lesion labels), both
  optional but, when present, on the PET grid; organ masks as one NIfTI per TotalSegmentator
  class in a folder, or one multilabel NIfTI with TotalSegmentator "total" class ids.
- DICOM PET/CT exams: one folder with a PET series (SUV from the QIBA factor, per-slice
  rescale) and optionally a CT series, resampled onto the PET grid.
- A CT with organ masks, as anatomy for phantoms (``load_ct_anatomy``).

Errors are ``ItemError`` with a reason code and a message naming the file and the tag
or field; nothing else escapes. Only pixel-describing DICOM attributes and the SUV inputs are
read; no identifying header value leaves this module.
"""

from __future__ import annotations

import warnings
from collections import defaultdict
from pathlib import Path

import numpy as np

from extractors.pet.phantom import Anatomy
from extractors.pet.suv import suv_bw_scale_factor
from extractors.pet.volume import (
    OrganMasks,
    PetVolume,
    canonical_stack,
    file_axis_numbering,
    overlap_fraction,
    require_same_grid,
    resample_to_grid,
    same_grid,
    stack_slices,
    to_canonical,
)
from schemas.enums import Reason
from schemas.errors import ItemError

SUV_FILE, CT_FILE, SEG_FILE = "SUV.nii.gz", "CTres.nii.gz", "SEG.nii.gz"
DICOM_SUFFIXES = (".dcm", ".ima", ".dicom")
MIN_CT_OVERLAP = 0.5  # share of the PET field of view the CT must cover


# ---- NIfTI ----------------------------------------------------------------------------------


def read_nifti(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """A 3D NIfTI's data and affine, or VOLUME_READ_ERROR naming the file."""
    import nibabel as nib

    try:
        img = nib.load(str(path))
        data = np.asarray(img.dataobj)
    except FileNotFoundError:
        raise ItemError(Reason.FILE_MISSING, f"{path.name}: file not found") from None
    except Exception as exc:  # nibabel / gzip / numpy raise many types for broken files
        raise ItemError(
            Reason.VOLUME_READ_ERROR, f"{path.name}: not a readable NIfTI volume: {exc}"
        ) from None
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        raise ItemError(
            Reason.VOLUME_READ_ERROR, f"{path.name}: expected a 3D volume, got shape {data.shape}"
        )
    return data, np.asarray(img.affine, dtype=np.float64)


def _total_class_map() -> dict[int, str]:
    from totalsegmentator.map_to_binary import class_map

    return dict(class_map["total"])


def read_organ_masks(path: Path) -> tuple[np.ndarray, np.ndarray, dict[int, str]]:
    """Organ masks as one label map, its affine and the class names: a folder with one
    NIfTI per class (TotalSegmentator's output), or one multilabel NIfTI whose values are
    TotalSegmentator "total" class ids."""
    if path.is_dir():
        files = sorted(p for p in path.glob("*.nii*") if p.name.split(".")[0])
        if not files:
            raise ItemError(Reason.FILE_MISSING, f"{path.name}: no organ mask NIfTI in it")
        labels = None
        affine = None
        names: dict[int, str] = {}
        for i, f in enumerate(files, start=1):
            data, aff = read_nifti(f)
            if labels is None:
                labels, affine = np.zeros(data.shape, dtype=np.int16), aff
            elif not same_grid(data.shape, aff, labels.shape, affine):
                raise ItemError(
                    Reason.GRID_MISMATCH,
                    f"{f.name}: organ mask grid {data.shape} differs from {files[0].name}'s "
                    f"{labels.shape}",
                )
            names[i] = f.name.split(".")[0]
            labels[data > 0] = i
        assert labels is not None and affine is not None
        return labels, affine, names
    data, affine = read_nifti(path)
    ids = {int(v) for v in np.unique(data) if v}
    class_map = _total_class_map()
    unknown = sorted(ids - set(class_map))
    if unknown:
        raise ItemError(
            Reason.VOLUME_READ_ERROR,
            f"{path.name}: label values {unknown[:5]} are not TotalSegmentator 'total' classes",
        )
    return data.astype(np.int16), affine, {i: class_map[i] for i in sorted(ids)}


def _canonical_organs(path: Path, shape: tuple[int, ...], affine: np.ndarray) -> OrganMasks:
    """Organ masks of an exam, required to lie on the exam's grid (in any orientation)."""
    labels, mask_affine, names = read_organ_masks(path)
    canon = to_canonical(labels, mask_affine, path.name)
    require_same_grid("organ mask", canon.data.shape, canon.affine, (shape, affine), path.name)
    return OrganMasks(canon.data, names)


def load_autopet_exam(
    folder: Path,
    *,
    slice_base: int = 1,
    organ_masks: str | None = None,
) -> PetVolume:
    """An autoPET-style study folder as a canonical PET volume with its CT, SEG and organs.
    Report slice numbers count the SUV file's stored slices from ``slice_base``."""
    suv_path = folder / SUV_FILE
    data, affine = read_nifti(suv_path)
    if not np.isfinite(data).all():
        raise ItemError(Reason.VOLUME_READ_ERROR, f"{SUV_FILE}: contains NaN or infinite SUV")
    canon = to_canonical(data.astype(np.float32), affine, SUV_FILE)
    numbering = file_axis_numbering(canon, data.shape[canon.z_source_axis], slice_base)
    volume = PetVolume(canon.data, canon.affine, numbering)
    for name, attr, cast in ((CT_FILE, "ct", np.float32), (SEG_FILE, "seg", np.int16)):
        path = folder / name
        if not path.is_file():
            continue
        other, other_affine = read_nifti(path)
        other_canon = to_canonical(other.astype(cast), other_affine, name)
        require_same_grid(
            "CT" if attr == "ct" else "segmentation",
            other_canon.data.shape,
            other_canon.affine,
            volume,
            name,
        )
        setattr(volume, attr, other_canon.data)
    if organ_masks:
        path = folder / organ_masks
        if path.exists():
            volume.organs = _canonical_organs(path, volume.shape, volume.affine)
    return volume


# ---- DICOM ----------------------------------------------------------------------------------


def _dicom_files(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in DICOM_SUFFIXES
    )


def _read_header(path: Path):
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return pydicom.dcmread(path, stop_before_pixels=True)
    except (InvalidDicomError, EOFError, OSError, ValueError, KeyError, TypeError) as exc:
        raise ItemError(
            Reason.DICOM_READ_ERROR, f"{path.name}: not a readable DICOM file: {exc}"
        ) from None


def _read_pixels(path: Path) -> np.ndarray:
    """A slice's stored values after its own modality rescale (slope, intercept)."""
    import pydicom

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = pydicom.dcmread(path)
            raw = ds.pixel_array
    except Exception as exc:  # truncated files and codec errors come in many types
        raise ItemError(
            Reason.DICOM_PIXEL_ERROR, f"{path.name}: pixel data does not decode: {exc}"
        ) from None
    if raw.ndim != 2:
        raise ItemError(
            Reason.SERIES_INCONSISTENT, f"{path.name}: expected one 2D frame, got {raw.shape}"
        )
    slope = float(ds.get("RescaleSlope", 1.0) or 1.0)
    intercept = float(ds.get("RescaleIntercept", 0.0) or 0.0)
    return raw.astype(np.float64) * slope + intercept


def read_dicom_series(folder: Path) -> dict[str, list]:
    """Headers of every DICOM file under folder, grouped by modality ("PT", "CT")."""
    by_series: dict[tuple[str, str], list] = defaultdict(list)
    for path in _dicom_files(folder):
        ds = _read_header(path)
        modality = str(ds.get("Modality", "")).upper()
        by_series[(modality, str(ds.get("SeriesInstanceUID", "")))].append(ds)
    grouped: dict[str, list] = defaultdict(list)
    for (modality, _), datasets in sorted(by_series.items()):
        grouped[modality].append(datasets)
    return grouped


def load_pet_dicom_exam(folder: Path, *, organ_masks: str | None = None) -> PetVolume:
    """A DICOM PET/CT exam folder as a canonical SUV volume, with its CT resampled onto the
    PET grid when the folder holds one, and organ masks (NIfTI on the PET grid) when
    ``organ_masks`` names them in the folder."""
    series = read_dicom_series(folder)
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
    stack = stack_slices(pet, lambda ds: _read_pixels(Path(ds.filename)) * factor, what="PET")
    canon, numbering = canonical_stack(stack)
    volume = PetVolume(canon.data.astype(np.float32), canon.affine, numbering)
    cts = series.get("CT", [])
    if len(cts) > 1:
        raise ItemError(
            Reason.SERIES_INCONSISTENT, f"{folder.name}: {len(cts)} CT series; keep one"
        )
    if cts:
        ct_stack = stack_slices(cts[0], lambda ds: _read_pixels(Path(ds.filename)), what="CT")
        _check_frame_of_reference(pet, cts[0])
        covered = overlap_fraction(
            ct_stack.data.shape, ct_stack.affine, volume.shape, volume.affine
        )
        if covered < MIN_CT_OVERLAP:
            raise ItemError(
                Reason.GRID_MISMATCH,
                f"{Path(cts[0][0].filename).name}: the CT series covers {covered:.0%} of the "
                f"PET field of view (ImagePositionPatient (0020,0032) / "
                f"ImageOrientationPatient (0020,0037) disagree with the PET's)",
            )
        volume.ct = resample_to_grid(
            ct_stack.data, ct_stack.affine, volume.shape, volume.affine, order=1, cval=-1000.0
        ).astype(np.float32)
        volume.notes.append("CT resampled onto the PET grid (linear)")
    if organ_masks and (folder / organ_masks).exists():
        volume.organs = _canonical_organs(folder / organ_masks, volume.shape, volume.affine)
    return volume


def _check_frame_of_reference(pet: list, ct: list) -> None:
    a = str(pet[0].get("FrameOfReferenceUID", "") or "")
    b = str(ct[0].get("FrameOfReferenceUID", "") or "")
    if a and b and a != b:
        raise ItemError(
            Reason.GRID_MISMATCH,
            f"{Path(ct[0].filename).name}: FrameOfReferenceUID (0020,0052) differs from the "
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
    ct, ct_affine = read_nifti(ct_path)
    labels, mask_affine, names = read_organ_masks(masks)
    ct_canon = to_canonical(ct.astype(np.float32), ct_affine, ct_path.name)
    mask_canon = to_canonical(labels, mask_affine, masks.name)
    notes: list[str] = []
    if same_grid(mask_canon.data.shape, mask_canon.affine, ct_canon.data.shape, ct_canon.affine):
        placed = mask_canon.data
    elif (
        mask_canon.data.shape[:2] == ct_canon.data.shape[:2]
        and mask_canon.data.shape[2] < ct_canon.data.shape[2]
        and np.allclose(mask_canon.affine[:3, :3], ct_canon.affine[:3, :3], atol=1e-3)
    ):
        offset, score = _best_z_offset(ct_canon.data, mask_canon.data, names)
        if score < 0.8:
            raise ItemError(
                Reason.GRID_MISMATCH,
                f"{masks.name}: the organ masks do not line up with {ct_path.name} at any "
                f"slice offset (best agreement {score:.0%})",
            )
        placed = np.zeros(ct_canon.data.shape, dtype=mask_canon.data.dtype)
        placed[:, :, offset : offset + mask_canon.data.shape[2]] = mask_canon.data
        notes.append(
            f"organ masks ({mask_canon.data.shape[2]} slices) placed at CT slices "
            f"{offset}-{offset + mask_canon.data.shape[2] - 1} where they agree with the CT "
            f"({score:.0%}); their affine says slice 0"
        )
    else:
        require_same_grid(
            "organ mask", mask_canon.data.shape, mask_canon.affine,
            (ct_canon.data.shape, ct_canon.affine), masks.name,
        )  # fmt: skip
        placed = mask_canon.data
    return Anatomy(ct_path.name, ct_canon.data, OrganMasks(placed, names), ct_canon.affine, notes)


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
    "load_autopet_exam",
    "load_ct_anatomy",
    "load_pet_dicom_exam",
    "read_nifti",
    "read_organ_masks",
]
