"""Masks as bounding-box crops (any volume: CT organs, MR structures, DICOM-SEG segments): a
mask keeps only the box around its voxels, so unions,
derivations and projections cost what the structure's box costs, not the whole volume's.

``ClassMasks`` holds the masks of one volume by class name (TotalSegmentator's for a CT),
built from a multilabel volume (values = class ids) or from one binary array per class; empty
classes are listed, not stored. From a multilabel volume, one compiled pass lists its runs
(``extractors.volume.label_kernels``) and each class is held as its own runs: boxes and
projections come from the runs, and a class's 3D crop is filled only when first read.

A union of tight masks is ORed together only when its voxels are first read, and projects
from its parts' projections (a z-window from its source's), so structures that are only
projected are never built in 3D; the results equal the plain computations
(``tests/extractors/test_sparse_fast_paths.py``)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from extractors.volume.label_kernels import (
    group_runs,
    label_runs,
    paint_runs,
    run_boxes,
    runs_crop,
    runs_plane,
)

Shape3 = tuple[int, int, int]


@dataclass(frozen=True)
class SparseMask:
    """A binary mask on a ``shape`` grid, stored as the crop ``data`` at ``offset``."""

    offset: Shape3
    data: np.ndarray  # bool
    shape: Shape3
    is_tight: bool = False  # the crop is the mask's bounding box (bounds need no scan)
    # a union's inputs (its voxels are exactly theirs): projections are unions of theirs
    parts: tuple[SparseMask, ...] = field(default=(), repr=False, compare=False)
    # a mask whose crop is this one's on some of its z slices (same x, y box): projections
    # along x or y are its projection's z columns
    z_window_of: SparseMask | None = field(default=None, repr=False, compare=False)

    # ---- construction -------------------------------------------------------------------
    @classmethod
    def from_dense(cls, dense: np.ndarray) -> SparseMask | None:
        """The tight crop of a dense mask, or None when it has no voxel."""
        dense = np.asarray(dense)
        if dense.dtype != bool:
            dense = dense > 0.5
        slices = ndimage.find_objects(dense.astype(np.uint8, copy=False))
        if not slices or slices[0] is None:
            return None
        return cls.from_crop(dense, slices[0])

    @classmethod
    def from_crop(cls, dense: np.ndarray, box: tuple[slice, ...]) -> SparseMask:
        offset = tuple(int(s.start) for s in box)
        return cls(offset, np.ascontiguousarray(dense[box]), tuple(dense.shape), True)  # type: ignore[arg-type]

    @classmethod
    def in_box(cls, shape: Shape3, lo: Iterable[int], hi: Iterable[int]) -> SparseMask:
        """An all-False mask whose crop spans [lo, hi) (clipped to the grid), to fill in."""
        lo_c = tuple(max(0, int(v)) for v in lo)
        hi_c = tuple(min(int(n), int(v)) for n, v in zip(shape, hi, strict=True))
        size = tuple(max(0, h - lo_) for lo_, h in zip(lo_c, hi_c, strict=True))
        return cls(lo_c, np.zeros(size, dtype=bool), shape)  # type: ignore[arg-type]

    # ---- geometry -----------------------------------------------------------------------
    @property
    def hi(self) -> Shape3:
        return tuple(o + n for o, n in zip(self.offset, self.data.shape, strict=True))  # type: ignore[return-value]

    @property
    def is_empty_box(self) -> bool:
        """Whether the crop has no voxel at all (a zero-size box; read without ``data``)."""
        return any(h <= o for h, o in zip(self.hi, self.offset, strict=True))

    @property
    def voxels(self) -> int:
        return int(np.count_nonzero(self.data))

    def bounds(self) -> tuple[Shape3, Shape3] | None:
        """Tight [lo, hi) voxel bounds of the mask, or None when empty."""
        if self.is_tight:
            return (self.offset, self.hi) if self.data.size else None
        xy = self.data.any(axis=2)
        z = self.data.any(axis=(0, 1))
        lo, hi = [], []
        for offset, hit in zip(self.offset, (xy.any(axis=1), xy.any(axis=0), z), strict=True):
            idx = np.flatnonzero(hit)
            if idx.size == 0:
                return None
            lo.append(offset + int(idx[0]))
            hi.append(offset + int(idx[-1]) + 1)
        return tuple(lo), tuple(hi)  # type: ignore[return-value]

    def tight(self) -> SparseMask | None:
        if self.is_tight:
            return self if self.data.size else None
        b = self.bounds()
        if b is None:
            return None
        lo, hi = b
        local = tuple(slice(a - o, c - o) for a, c, o in zip(lo, hi, self.offset, strict=True))
        return SparseMask(lo, self.data[local], self.shape, True)

    def dense(self) -> np.ndarray:
        out = np.zeros(self.shape, dtype=bool)
        out[self._window()] = self.data
        return out

    def _window(self) -> tuple[slice, slice, slice]:
        return tuple(slice(o, h) for o, h in zip(self.offset, self.hi, strict=True))  # type: ignore[return-value]

    def crop_to(self, lo: Shape3, hi: Shape3) -> np.ndarray:
        """This mask read on the window [lo, hi) (False outside the crop)."""
        out = np.zeros(tuple(h - lo_ for lo_, h in zip(lo, hi, strict=True)), dtype=bool)
        a = [max(lo_, o) for lo_, o in zip(lo, self.offset, strict=True)]
        b = [min(h, oh) for h, oh in zip(hi, self.hi, strict=True)]
        if any(x >= y for x, y in zip(a, b, strict=True)):
            return out
        dst = tuple(slice(x - lo_, y - lo_) for x, y, lo_ in zip(a, b, lo, strict=True))
        src = tuple(slice(x - o, y - o) for x, y, o in zip(a, b, self.offset, strict=True))
        out[dst] = self.data[src]
        return out

    # ---- algebra ------------------------------------------------------------------------
    def where(self, keep: np.ndarray) -> SparseMask | None:
        """This mask AND a same-size boolean crop ``keep`` (None when empty). The crop is
        not tightened: boxes come from projections, which are."""
        data = self.data & keep
        return SparseMask(self.offset, data, self.shape) if data.any() else None

    def minus(self, other: SparseMask | None) -> SparseMask | None:
        """This mask without ``other``'s voxels (None when empty); the crop is not
        tightened. Only the boxes' overlap is read."""
        if other is None:
            return self if self.data.any() else None
        a = [max(lo, o) for lo, o in zip(self.offset, other.offset, strict=True)]
        b = [min(h, oh) for h, oh in zip(self.hi, other.hi, strict=True)]
        data = self.data.copy()
        if all(x < y for x, y in zip(a, b, strict=True)):
            mine = tuple(slice(x - o, y - o) for x, y, o in zip(a, b, self.offset, strict=True))
            theirs = tuple(slice(x - o, y - o) for x, y, o in zip(a, b, other.offset, strict=True))
            window = data[mine]
            np.greater(window, other.data[theirs], out=window)  # a and not b
        return SparseMask(self.offset, data, self.shape) if data.any() else None

    def project(
        self, axis: int, memo: dict[int, tuple[tuple[int, int], np.ndarray]] | None = None
    ) -> tuple[tuple[int, int], np.ndarray]:
        """Any-voxel projection along ``axis``: the 2D crop offset and the 2D crop (the two
        remaining axes in order). A union's is the union of its parts' (each projected once
        when a ``memo`` is shared across calls: keys are ``id`` of masks alive meanwhile)."""
        if memo is not None and id(self) in memo:
            return memo[id(self)]
        off = tuple(o for i, o in enumerate(self.offset) if i != axis)
        src = self.z_window_of
        if src is not None and axis != 2:
            _, whole = src.project(axis, memo)
            a = self.offset[2] - src.offset[2]
            out = whole[:, a : a + self.data.shape[2]]
        elif self.parts:
            size = tuple(h - o for h, o in zip(self.hi, self.offset, strict=True))
            out = np.zeros(tuple(n for i, n in enumerate(size) if i != axis), bool)
            for part in self.parts:
                (a, b), crop = part.project(axis, memo)
                a, b = a - off[0], b - off[1]
                out[a : a + crop.shape[0], b : b + crop.shape[1]] |= crop
        else:
            out = _any(self.data, axis)
        if memo is not None:
            memo[id(self)] = (off, out)  # type: ignore[assignment]
        return off, out  # type: ignore[return-value]


def _any(data: np.ndarray, axis: int) -> np.ndarray:
    """``data.any(axis=axis)`` of a 3D boolean crop. Along the middle axis numpy reduces in
    short runs of the last axis, so there the halves are ORed instead, whose runs span the
    two last axes (the same values, a few times faster)."""
    if axis != 1 or data.ndim != 3 or data.shape[1] < 2:
        return data.any(axis=axis)
    n = data.shape[1]
    h = n // 2
    cur = data[:, :h] | data[:, h : 2 * h]
    if n % 2:
        cur[:, 0] |= data[:, 2 * h]
    while cur.shape[1] > 1:
        n = cur.shape[1]
        h = n // 2
        nxt = cur[:, :h] | cur[:, h : 2 * h]
        if n % 2:
            nxt[:, 0] |= cur[:, 2 * h]
        cur = nxt
    return cur[:, 0]


def union(masks: Iterable[SparseMask | None]) -> SparseMask | None:
    """The union of masks on one grid (None when all are None or empty); the union's crop
    is the box around the inputs' crops."""
    present = [m for m in masks if m is not None and not m.is_empty_box]
    if not present:
        return None
    if len(present) == 1:
        return present[0]
    tight = all(m.is_tight for m in present)  # a union of tight crops is tight
    lo = tuple(min(m.offset[i] for m in present) for i in range(3))
    hi = tuple(max(m.hi[i] for m in present) for i in range(3))
    parts = tuple(present)
    if not tight and not any(m.data.any() for m in present):
        return None
    # its voxels are ORed when first asked for (tight: never empty, its box known)
    return _LazyUnion(present[0].shape, lo, hi, parts, tight)  # type: ignore[arg-type]


class _LazyUnion(SparseMask):
    """The union of masks, not empty, whose crop (the box around theirs) is ORed together on
    first use of ``data``: projections come from the parts' projections, so a union that is
    only projected (most taxonomy structures) is never built in 3D. A union of tight masks
    is tight, its bounds its box."""

    def __init__(
        self, shape: Shape3, lo: Shape3, hi: Shape3, parts: tuple[SparseMask, ...], tight: bool
    ):
        for name, value in (
            ("offset", lo), ("shape", shape), ("is_tight", tight), ("parts", parts),
            ("z_window_of", None), ("_hi", hi), ("_data", None),
        ):  # fmt: skip
            object.__setattr__(self, name, value)

    @property
    def data(self) -> np.ndarray:  # type: ignore[override]
        if self._data is None:
            size = tuple(h - o for h, o in zip(self._hi, self.offset, strict=True))
            out = np.zeros(size, dtype=bool)
            origin = np.array(self.offset, dtype=np.int64)
            for m in self.parts:
                if isinstance(m, _RunMask) and m._data is None:  # its runs, not its crop
                    paint_runs(out, m._runs, origin)
                    continue
                window = tuple(
                    slice(o - a, o - a + n)
                    for o, a, n in zip(m.offset, self.offset, m.data.shape, strict=True)
                )
                out[window] |= m.data
            object.__setattr__(self, "_data", out)
        return self._data

    @property
    def hi(self) -> Shape3:
        return self._hi

    def bounds(self) -> tuple[Shape3, Shape3] | None:
        return (self.offset, self._hi) if self.is_tight else super().bounds()

    def tight(self) -> SparseMask | None:
        return self if self.is_tight else super().tight()


class _RunMask(SparseMask):
    """One class of a label volume held as its runs (``extractors.volume.label_kernels``):
    tight, its box known; projections come from the runs, and the crop is filled from them
    only when ``data`` is first read (for the classes a derivation reads in 3D)."""

    def __init__(self, shape: Shape3, lo: np.ndarray, hi: np.ndarray, runs: np.ndarray):
        offset = tuple(int(v) for v in lo)
        for name, value in (
            ("offset", offset), ("shape", shape), ("is_tight", True), ("parts", ()),
            ("z_window_of", None), ("_hi", tuple(int(v) for v in hi)), ("_data", None),
            ("_runs", runs), ("_lo", lo), ("_size", hi - lo),
        ):  # fmt: skip
            object.__setattr__(self, name, value)

    @property
    def data(self) -> np.ndarray:  # type: ignore[override]
        if self._data is None:
            object.__setattr__(self, "_data", runs_crop(self._runs, self._lo, self._size))
        return self._data

    @property
    def hi(self) -> Shape3:
        return self._hi

    @property
    def voxels(self) -> int:
        return int((self._runs[:, 3] - self._runs[:, 2]).sum())

    def bounds(self) -> tuple[Shape3, Shape3] | None:
        return self.offset, self._hi

    def tight(self) -> SparseMask | None:
        return self

    def project(
        self, axis: int, memo: dict[int, tuple[tuple[int, int], np.ndarray]] | None = None
    ) -> tuple[tuple[int, int], np.ndarray]:
        """``SparseMask.project``, from the runs."""
        if memo is not None and id(self) in memo:
            return memo[id(self)]
        off = tuple(o for i, o in enumerate(self.offset) if i != axis)
        out = (off, runs_plane(self._runs, self._lo, self._size, axis))
        if memo is not None:
            memo[id(self)] = out  # type: ignore[assignment]
        return out  # type: ignore[return-value]


@dataclass
class ClassMasks:
    """Masks of one CT by TotalSegmentator class name, on the canonical grid."""

    shape: Shape3
    masks: dict[str, SparseMask] = field(default_factory=dict)
    empty: list[str] = field(default_factory=list)  # classes given without any voxel

    def get(self, name: str) -> SparseMask | None:
        return self.masks.get(name)

    @classmethod
    def from_label_volume(cls, labels: np.ndarray, names: Mapping[int, str]) -> ClassMasks:
        """From a multilabel volume whose values are class ids (0 background); values
        without a name are ignored. One pass finds every class's box."""
        labels = np.asarray(labels)
        if labels.dtype.kind == "f":
            labels = np.rint(labels).astype(np.int32)
        if labels.dtype.kind not in "iu" or (labels.dtype.kind == "i" and labels.min() < 0):
            labels = np.clip(labels, 0, None).astype(np.int32)
        shape: Shape3 = tuple(int(n) for n in labels.shape)  # type: ignore[assignment]
        wanted = sorted(k for k in names if k > 0)
        n = wanted[-1] + 1 if wanted else 1
        where, value = label_runs(labels)
        lo, hi = run_boxes(where, value, n)
        grouped, first = group_runs(where, value, n)
        out = cls(shape)
        for class_id, name in sorted(names.items()):
            if class_id <= 0 or hi[class_id, 0] < 0:
                out.empty.append(name)
                continue
            runs = grouped[first[class_id] : first[class_id + 1]]
            out.masks[name] = _RunMask(shape, lo[class_id], hi[class_id], runs)
        return out

    @classmethod
    def from_dense(cls, shape: Shape3, dense: Mapping[str, np.ndarray]) -> ClassMasks:
        """From one binary array per class name (e.g. one NIfTI file per class)."""
        out = cls(tuple(int(n) for n in shape))  # type: ignore[arg-type]
        for name in sorted(dense):
            sparse = SparseMask.from_dense(dense[name])
            if sparse is None:
                out.empty.append(name)
            else:
                out.masks[name] = sparse
        return out
