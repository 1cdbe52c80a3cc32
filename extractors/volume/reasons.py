"""Which quarantine code each kind of bad volume input gets, per modality.

The readers of this package are shared by CT and PET; the codes are not, because the
quarantine tables of released datasets name them (a CT with a missing slice is
``ct_slice_gap``, a PET series with one is ``series_inconsistent``). A profile is data, so one
reader serves both and a new modality adds a profile, not a reader."""

from __future__ import annotations

from dataclasses import dataclass

from schemas.enums import Reason


@dataclass(frozen=True)
class InputRules:
    """The codes and the few thresholds of one modality's volume inputs."""

    read: Reason  # a NIfTI file that does not load or is not 3D; a folder without DICOM slices
    dicom_header: Reason | None  # a DICOM file whose header does not read (None: skip the file)
    dicom_pixels: Reason  # pixel data that does not decode
    tags: Reason  # geometry tags missing or malformed; slices of different size or spacing
    orientation: Reason  # slices with different ImageOrientationPatient
    non_axial: Reason  # a coronal or sagittal series
    geometry: Reason  # oblique, tilted, gantry-tilted or degenerate grids
    spacing: Reason  # missing slices, duplicate positions, uneven steps
    too_few: Reason  # fewer slices than ``min_slices``
    min_slices: int
    max_step_ratio: float  # a slice step this many times the typical one (or 1/that) is bad
    dicom_suffixes: tuple[str, ...] | None  # files that count as DICOM (None: any file)


CT_INPUT = InputRules(
    read=Reason.CT_READ_ERROR,
    dicom_header=None,  # notes and thumbnails beside the slices are passed over
    dicom_pixels=Reason.CT_READ_ERROR,
    tags=Reason.CT_READ_ERROR,
    orientation=Reason.CT_GEOMETRY,
    non_axial=Reason.CT_GEOMETRY,
    geometry=Reason.CT_GEOMETRY,
    spacing=Reason.CT_SLICE_GAP,
    too_few=Reason.CT_TOO_FEW_SLICES,
    min_slices=2,
    max_step_ratio=1.5,
    dicom_suffixes=None,
)

DICOM_SUFFIXES = (".dcm", ".ima", ".dicom")

PET_INPUT = InputRules(
    read=Reason.VOLUME_READ_ERROR,
    dicom_header=Reason.DICOM_READ_ERROR,
    dicom_pixels=Reason.DICOM_PIXEL_ERROR,
    tags=Reason.SERIES_INCONSISTENT,
    orientation=Reason.SERIES_INCONSISTENT,
    non_axial=Reason.SERIES_INCONSISTENT,
    geometry=Reason.CT_GEOMETRY,
    spacing=Reason.SERIES_INCONSISTENT,
    too_few=Reason.SERIES_INCONSISTENT,
    min_slices=1,  # a single PET slice is an exam (report image numbers still apply)
    max_step_ratio=1.05,
    dicom_suffixes=DICOM_SUFFIXES,
)


@dataclass(frozen=True)
class MaskRules:
    """The codes of organ mask inputs."""

    read: Reason  # unreadable file, fractional or unknown label values
    grid: Reason  # a mask off the volume's grid
    geometry: Reason  # an oblique or tilted mask grid
    no_files: Reason  # a folder without one mask file named after a class


CT_MASKS = MaskRules(
    read=Reason.MASK_READ_ERROR,
    grid=Reason.MASK_MISMATCH,
    geometry=Reason.MASK_MISMATCH,
    no_files=Reason.MASK_READ_ERROR,
)
PET_MASKS = MaskRules(
    read=Reason.VOLUME_READ_ERROR,
    grid=Reason.GRID_MISMATCH,
    geometry=Reason.CT_GEOMETRY,
    no_files=Reason.FILE_MISSING,
)

# Image series a DICOM-SEG references (any modality; a single referenced image is a volume
# of one slice).
SEG_SOURCE_INPUT = InputRules(
    read=Reason.VOLUME_READ_ERROR,
    dicom_header=Reason.DICOM_READ_ERROR,
    dicom_pixels=Reason.DICOM_PIXEL_ERROR,
    tags=Reason.SEG_UNSUPPORTED,
    orientation=Reason.SERIES_INCONSISTENT,
    non_axial=Reason.SEG_UNSUPPORTED,
    geometry=Reason.VOLUME_GEOMETRY,
    spacing=Reason.SERIES_INCONSISTENT,
    too_few=Reason.SERIES_INCONSISTENT,
    min_slices=1,
    max_step_ratio=1.5,
    dicom_suffixes=None,
)
