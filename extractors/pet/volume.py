"""A PET/CT exam on one canonical grid, and how report slice numbers map onto it.

The grid is the project's one (``extractors.volume``: array ``[x, y, z]`` with x from the
patient's right to the left, y from anterior to posterior, z from the feet to the head;
``affine`` maps voxel indices to RAS mm); reading, reorienting and comparing grids live
there too. Display rules (radiological convention) live in ``extractors.pet.render``.

Report slice numbers are in the exam's own convention (a DICOM series' InstanceNumber, or
the stored slice order of a NIfTI file counted from ``slice_base``); ``SliceNumbering`` keeps
the number of every canonical z so a report's "image 145" finds its slice.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from extractors.volume import MaskSet, Volume, totalseg_classes
from extractors.volume.dicom import SeriesStack
from extractors.volume.label_kernels import labels_box
from extractors.volume.orientation import OnGrid


@dataclass(frozen=True)
class SliceNumbering:
    """The number a report uses for each canonical axial slice: ``numbers[z]``."""

    numbers: tuple[int, ...]
    convention: str  # how the numbers were made, for messages

    def index_of(self, number: int) -> int | None:
        """The canonical z of a reported slice number, None when the volume has no such slice."""
        try:
            return self.numbers.index(int(number))
        except ValueError:
            return None

    def number_of(self, z: int) -> int:
        return self.numbers[z]

    @property
    def span(self) -> tuple[int, int]:
        return (min(self.numbers), max(self.numbers))


@dataclass
class OrganMasks:
    """Organ masks on the exam grid as one label map (0 = none) and the name of each label
    (TotalSegmentator "total" class names)."""

    labels: np.ndarray  # integer, canonical grid
    names: dict[int, str]

    def mask(self, name: str) -> np.ndarray:
        return _select(self.labels, self._ids(name))

    def crop(self, name: str) -> tuple[tuple[slice, slice, slice], np.ndarray, int] | None:
        """The box of an organ, its mask there and its voxel count (None when it has no
        voxel), from one pass over the label map (``mask`` then a box would make and
        read a boolean volume)."""
        ids = self._ids(name)
        box, count = labels_box(self.labels, ids)
        if box is None:
            return None
        return box, _select(self.labels[box], ids), count

    def _ids(self, name: str) -> list[int]:
        return [i for i, n in self.names.items() if n == name]

    @classmethod
    def from_mask_set(cls, found: MaskSet) -> OrganMasks:
        """A multilabel map keeps its class ids (named when present); per-class masks get
        labels 1, 2, ... in class name order (a later class wins where two overlap)."""
        if found.labels is not None:
            labels = found.labels.astype(np.int16)
            present = np.flatnonzero(np.bincount(labels.ravel().clip(0)))
            names = totalseg_classes()
            return cls(labels, {int(i): names[int(i)] for i in present if i})
        labels = np.zeros(found.shape, dtype=np.int16)
        names: dict[int, str] = {}
        for i, name in enumerate(sorted(found.per_class), start=1):
            labels[found.per_class[name]] = i
            names[i] = name
        return cls(labels, names)


@dataclass
class PetVolume(OnGrid):
    """One PET/CT exam on one canonical grid: SUV (always), CT in HU, a lesion segmentation
    (autoPET SEG) and organ masks when the exam has them. Shape, spacing and voxel volume
    are the SUV grid's (``OnGrid``)."""

    suv: np.ndarray  # float32 [x: right->left, y: anterior->posterior, z: feet->head]
    affine: np.ndarray  # 4x4, voxel -> RAS mm (nibabel world)
    numbering: SliceNumbering
    ct: np.ndarray | None = None  # HU, same grid
    seg: np.ndarray | None = None  # integer lesion labels, same grid
    organs: OrganMasks | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def grid_data(self) -> np.ndarray:
        return self.suv


def file_axis_numbering(volume: Volume, n_in_file: int, base: int) -> SliceNumbering:
    """Numbers of canonical slices when a report counts the file's stored slices from
    ``base`` along the axis that became canonical z."""
    file_index = np.arange(n_in_file)
    if volume.reorientation.z_flipped:
        file_index = file_index[::-1]
    return SliceNumbering(
        tuple(int(i) + base for i in file_index),
        f"stored slice order along file axis {volume.reorientation.z_source_axis + 1}, from {base}",
    )


def instance_numbering(stack: SeriesStack, volume: Volume) -> SliceNumbering:
    """The InstanceNumber of each canonical slice of a stacked axial series (slices counted
    from 1 when numbers repeat)."""
    numbers = list(stack.instance_numbers)
    flipped = volume.reorientation.z_flipped
    if flipped:
        numbers.reverse()
    if len(set(numbers)) != len(numbers):  # repeated or missing numbers: count from 1 instead
        numbers = list(range(1, len(numbers) + 1))
        if flipped:
            numbers.reverse()
        return SliceNumbering(tuple(numbers), "slice order from 1 (InstanceNumber repeats)")
    return SliceNumbering(tuple(numbers), "DICOM InstanceNumber (0020,0013)")


def _select(labels: np.ndarray, ids: list[int]) -> np.ndarray:
    """Where ``labels`` is one of ``ids``, as a boolean array of its shape."""
    if len(ids) == 1:
        return labels == ids[0]
    return np.isin(labels, ids) if ids else np.zeros(labels.shape, dtype=bool)
