"""3D masks of every taxonomy structure from TotalSegmentator class masks: unions of classes,
unions of structures, and the derived structures (lung zones, hemidiaphragms, mediastinum and
its parts, aorta parts). Works on bounding-box crops (``extractors.volume.sparse``), on the
canonical grid (x: right -> left, y: anterior -> posterior, z: feet -> head).

A structure whose inputs are absent (out of the field of view, or not derivable, e.g. the
aortic arch of an abdominal CT) is simply missing from the result."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from extractors.ct.taxonomy import BY_ID, STRUCTURES, Structure
from extractors.volume.columns import fill_z_ranges, first_along_z
from extractors.volume.slice_components import slice_components
from extractors.volume.sparse import ClassMasks, SparseMask, union

DIAPHRAGM_MM = 5.0  # thickness of the derived hemidiaphragm shell under a lung base
BASE_SHARE = 0.3  # the lung base: the lowest 30% of a lung's height
_MEDIASTINAL_ORGANS = ("heart", "trachea", "esophagus", "aorta", "superior_vena_cava")


def build_structures(
    classes: ClassMasks,
    spacing: tuple[float, float, float],
    structures: Iterable[Structure] = STRUCTURES,
) -> dict[str, SparseMask]:
    """Every structure that has voxels, by id, in taxonomy order."""
    builder = _Builder(classes, spacing)
    out: dict[str, SparseMask] = {}
    for s in structures:
        mask = builder.get(s.id)
        if mask is not None:
            out[s.id] = mask
    return out


class _Builder:
    """Resolves structures recursively, each once."""

    def __init__(self, classes: ClassMasks, spacing: tuple[float, float, float]):
        self.classes = classes
        self.spacing = spacing
        self.memo: dict[str, SparseMask | None] = {}
        self.parts_memo: dict[str, dict[str, SparseMask]] = {}

    def get(self, structure_id: str) -> SparseMask | None:
        if structure_id not in self.memo:
            self.memo[structure_id] = self._build(BY_ID[structure_id])
        return self.memo[structure_id]

    def _build(self, s: Structure) -> SparseMask | None:
        if s.sources or s.parts:
            return union([self.classes.get(c) for c in s.sources] + [self.get(p) for p in s.parts])
        assert s.derive is not None, s.id
        rule, _, arg = s.derive.partition(":")
        if rule == "zone":
            lung_id, zone = arg.split(":")
            return lung_zone(self.get(lung_id), zone)
        if rule == "hemidiaphragm":
            thickness = max(1, round(DIAPHRAGM_MM / self.spacing[2]))
            return hemidiaphragm(self.get(arg), thickness)
        if rule == "mediastinum":
            return mediastinum(
                self.get("right_lung"),
                self.get("left_lung"),
                {o: self.get(o) for o in _MEDIASTINAL_ORGANS},
                self.get("spine"),
                [self.get("right_hemidiaphragm"), self.get("left_hemidiaphragm")],
            )
        if rule == "mediastinum_part":
            return mediastinum_part(self.get("mediastinum"), self.get("heart"), arg)
        if rule == "aorta_part":
            if "aorta_parts" not in self.parts_memo:
                self.parts_memo["aorta_parts"] = aorta_parts(self.get("aorta"))
            return self.parts_memo["aorta_parts"].get(arg)
        raise ValueError(f"unknown derivation {s.derive!r} of structure {s.id}")


def _z_window(mask: SparseMask, z_lo: int, z_hi: int) -> SparseMask | None:
    """The mask's axial slices z_lo <= z < z_hi (a view of its crop; None when empty)."""
    a = max(z_lo - mask.offset[2], 0)
    b = max(min(z_hi - mask.offset[2], mask.data.shape[2]), a)
    part = mask.data[:, :, a:b]
    if not part.any():
        return None
    offset = (mask.offset[0], mask.offset[1], mask.offset[2] + a)
    return SparseMask(offset, part, mask.shape, z_window_of=mask)


def lung_zone(lung: SparseMask | None, zone: str) -> SparseMask | None:
    """Thirds of a lung's craniocaudal extent: ``base`` (lower), ``mid``, ``upper``; and the
    ``apical`` zone, its top sixth."""
    if lung is None:
        return None
    bounds = lung.bounds()
    if bounds is None:
        return None
    z0, z1 = bounds[0][2], bounds[1][2]
    h = z1 - z0
    cuts = {
        "base": (z0, z0 + round(h / 3)),
        "mid": (z0 + round(h / 3), z0 + round(2 * h / 3)),
        "upper": (z0 + round(2 * h / 3), z1),
        "apical": (z1 - max(1, round(h / 6)), z1),
    }
    lo, hi = cuts[zone]
    return _z_window(lung, lo, hi) if hi > lo else None


def hemidiaphragm(lung: SparseMask | None, thickness: int) -> SparseMask | None:
    """A shell ``thickness`` voxels thick directly under the lung's base: for each (x, y)
    column whose lowest lung voxel lies in the lowest ``BASE_SHARE`` of the lung's height,
    the voxels under that voxel."""
    if lung is None:
        return None
    lung = lung.tight()
    if lung is None:
        return None
    first = first_along_z(lung.data)  # per column: its lowest lung voxel, -1 if none
    z0 = lung.offset[2]
    half = z0 + lung.data.shape[2] * BASE_SHARE
    low = z0 + first
    valid = (first >= 0) & (low < half) & (low > 0)  # a column whose shell has voxels
    if not valid.any():
        return None
    xs, ys = np.flatnonzero(valid.any(axis=1)), np.flatnonzero(valid.any(axis=0))
    valid = valid[xs[0] : xs[-1] + 1, ys[0] : ys[-1] + 1]
    low = low[xs[0] : xs[-1] + 1, ys[0] : ys[-1] + 1]
    top = np.where(valid, np.maximum(low - thickness, 0), np.iinfo(np.int64).max)
    z_lo, z_hi = int(top.min()), int(low[valid].max())
    crop = fill_z_ranges(top - z_lo, np.where(valid, low - z_lo, 0), z_hi - z_lo)
    offset = (lung.offset[0] + int(xs[0]), lung.offset[1] + int(ys[0]), z_lo)
    return SparseMask(offset, crop, lung.shape, True)


def _medial_edge(lung: SparseMask, z_lo: int, z_hi: int, last: bool) -> np.ndarray:
    """Per axial slice z in [z_lo, z_hi): the lung's medial-most x over the whole slice
    (largest x of the right lung when ``last``, smallest x of the left lung otherwise);
    -1 where the slice has none of it."""
    window = lung.crop_to((lung.offset[0], lung.offset[1], z_lo), (lung.hi[0], lung.hi[1], z_hi))
    cols = window.any(axis=1)  # (x, z)
    has = cols.any(axis=0)
    idx = cols.shape[0] - 1 - cols[::-1].argmax(axis=0) if last else cols.argmax(axis=0)
    return np.where(has, idx + lung.offset[0], -1)


def mediastinum(
    right_lung: SparseMask | None,
    left_lung: SparseMask | None,
    organs: dict[str, SparseMask | None],
    spine: SparseMask | None,
    hemidiaphragms: list[SparseMask | None],
) -> SparseMask | None:
    """What a frontal radiograph shows between the lungs: on each axial slice from the top of
    the diaphragm domes to the lung apices, the voxels between the right lung's medial-most
    point and the left lung's (within the lungs' front-to-back extent), plus the heart,
    trachea, esophagus, aorta and superior vena cava within the lungs' height; minus the
    lungs and the spine. Needs both lungs and the heart or the trachea (a CT of the lung
    bases alone has no mediastinum to speak of)."""
    if right_lung is None or left_lung is None:
        return None
    if organs.get("heart") is None and organs.get("trachea") is None:
        return None
    domes = [d.hi[2] for d in hemidiaphragms if d is not None]
    z_bottom = min(right_lung.offset[2], left_lung.offset[2])
    z_lo = max([z_bottom, *domes])
    z_hi = max(right_lung.hi[2], left_lung.hi[2])
    y_lo = min(right_lung.offset[1], left_lung.offset[1])
    y_hi = max(right_lung.hi[1], left_lung.hi[1])
    pieces: list[SparseMask | None] = []
    if z_hi > z_lo:
        r_edge = _medial_edge(right_lung, z_lo, z_hi, last=True)
        l_edge = _medial_edge(left_lung, z_lo, z_hi, last=False)
        rows = (r_edge >= 0) & (l_edge >= 0) & (l_edge - r_edge > 1)
        if rows.any():
            x_lo, x_hi = int(r_edge[rows].min()) + 1, int(l_edge[rows].max())
            between = SparseMask.in_box(right_lung.shape, (x_lo, y_lo, z_lo), (x_hi, y_hi, z_hi))
            xx = np.arange(x_lo, x_hi)[:, None]
            plane = rows[None] & (xx > r_edge[None]) & (xx < l_edge[None])  # (x, z)
            between.data[...] = plane[:, None, :]
            pieces.append(between)
    for organ in organs.values():
        if organ is not None:
            pieces.append(_z_window(organ, z_bottom, z_hi))
    joined = union(pieces)
    for cut in (right_lung, left_lung, spine):
        if joined is None:
            return None
        joined = joined.minus(cut)
    return joined


def mediastinum_part(
    mediastinum_mask: SparseMask | None, heart: SparseMask | None, part: str
) -> SparseMask | None:
    """Upper mediastinum: above the top of the heart; lower: from the heart's top down."""
    if mediastinum_mask is None or heart is None:
        return None
    bounds = heart.bounds()
    if bounds is None:
        return None
    top = bounds[1][2]
    if part == "upper":
        return _z_window(mediastinum_mask, top, mediastinum_mask.hi[2])
    return _z_window(mediastinum_mask, mediastinum_mask.offset[2], top)


def aorta_parts(aorta: SparseMask | None) -> dict[str, SparseMask]:
    """Ascending aorta, arch and descending aorta, when derivable: axial slices that cut the
    aorta in two places hold the ascending (anterior) and descending (posterior) parts; the
    arch is above the highest such slice; below the lowest one the aorta is descending.
    An aorta that no slice cuts twice (an abdominal CT) gives nothing."""
    if aorta is None:
        return {}
    aorta = aorta.tight()
    if aorta is None:
        return {}
    data = aorta.data
    # every slice's connected cuts in one pass: 8-connected in-plane, never across slices
    cuts_of = slice_components(data)
    n, sizes, z_of = cuts_of.n, cuts_of.size, cuts_of.z
    if n < 2:
        return {}
    ys = cuts_of.y_sum / np.maximum(sizes, 1)
    front = np.zeros(n + 1, dtype=bool)  # per label: ascending (anterior) cut
    back = np.zeros(n + 1, dtype=bool)
    two: list[int] = []
    for k in np.unique(z_of):
        cuts = np.nonzero(z_of == k)[0]
        big = cuts[np.argsort(sizes[cuts])[-2:]]
        if len(big) == 2 and sizes[big].min() >= 4:  # two real cuts, not a speck
            two.append(int(k))
            a, b = sorted(big, key=lambda i: ys[i])
            front[a + 1], back[b + 1] = True, True
    if not two:
        return {}
    k_lo, k_hi = min(two), max(two)
    mid = (ys[front[1:]].mean() + ys[back[1:]].mean()) / 2.0
    for i in range(n):  # cuts on slices that show the aorta once, below the arch
        k = z_of[i]
        if k in two or k > k_hi:
            continue
        if k < k_lo or ys[i] >= mid:
            back[i + 1] = True
        else:
            front[i + 1] = True
    arch = np.zeros_like(data)
    arch[:, :, k_hi + 1 :] = data[:, :, k_hi + 1 :]
    ascending, descending = cuts_of.masks(front, back)
    out = {}
    for name, part in (("ascending", ascending), ("arch", arch), ("descending", descending)):
        if part.any():
            out[name] = SparseMask(aorta.offset, part, aorta.shape)
    return out
