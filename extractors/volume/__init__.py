"""Volumes for every modality (CT, PET, their masks), read and put on one canonical grid.

- ``orientation``: the canonical orientation (L, P, S), the ``Volume`` that keeps its affine
  and the exact reorientation it went through, voxel spacing;
- ``grid``: one grid comparison with one tolerance, the error naming both grids, resampling;
- ``nifti`` / ``dicom`` / ``read``: NIfTI files and DICOM series (sorted, rescaled,
  compressed) as Volumes; ``read_ct`` for a CT;
- ``image``: any image volume (NIfTI 3D or 4D channels, NRRD, MHA via SimpleITK) as one
  Volume per channel, and label maps on their image's grid;
- ``slices``: axial, coronal and sagittal slices for people, masks on the same pixels;
- ``sparse``: masks as bounding-box crops (``SparseMask``, ``ClassMasks``);
- ``masks``: organ masks (multilabel NIfTI, per-class folder, one class file) on a grid;
- ``classes``: the TotalSegmentator "total" class map, looked up once;
- ``reasons``: the quarantine codes each modality's bad inputs get.

Bad input is always ``schemas.errors.ItemError`` (reason code + message naming the file)."""

from extractors.volume.classes import TOTALSEGMENTATOR_TASK, totalseg_classes, totalseg_ids
from extractors.volume.grid import (
    GRID_TOL_MM,
    grid_difference,
    overlap_fraction,
    require_same_grid,
    resample_to_grid,
    same_grid,
)
from extractors.volume.image import is_volume_file, read_channels, read_label_map
from extractors.volume.masks import MaskSet, read_organ_masks
from extractors.volume.nifti import NIFTI_SUFFIXES, is_nifti, read_nifti, read_nifti_volume
from extractors.volume.orientation import (
    CANONICAL_AXCODES,
    MAX_OBLIQUITY_DEG,
    Reorientation,
    Volume,
    reorientation_of,
    stored_as,
    to_canonical,
    voxel_spacing,
)
from extractors.volume.read import read_ct, read_volume, to_hu_int16
from extractors.volume.reasons import (
    CT_INPUT,
    CT_MASKS,
    PET_INPUT,
    PET_MASKS,
    InputRules,
    MaskRules,
)

__all__ = [
    "CANONICAL_AXCODES",
    "CT_INPUT",
    "CT_MASKS",
    "GRID_TOL_MM",
    "MAX_OBLIQUITY_DEG",
    "NIFTI_SUFFIXES",
    "PET_INPUT",
    "PET_MASKS",
    "TOTALSEGMENTATOR_TASK",
    "InputRules",
    "MaskRules",
    "MaskSet",
    "Reorientation",
    "Volume",
    "grid_difference",
    "is_nifti",
    "is_volume_file",
    "overlap_fraction",
    "read_channels",
    "read_ct",
    "read_label_map",
    "read_nifti",
    "read_nifti_volume",
    "read_organ_masks",
    "read_volume",
    "reorientation_of",
    "require_same_grid",
    "resample_to_grid",
    "same_grid",
    "stored_as",
    "to_canonical",
    "to_hu_int16",
    "totalseg_classes",
    "totalseg_ids",
    "voxel_spacing",
]
