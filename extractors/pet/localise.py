"""Finding the lesion a report mention means in the SUV volume (Huemann et al., steps 5-10,
DOMAIN.md section 1), deterministically.

For a mention "SUVmax S on axial slice z" (optionally "left" / "right", an organ word):

5. S must be at least 2.5.
6. Threshold the SUV volume at ``T0 = (0.617 / S + 0.316) * S``; 3D connected components
   (6-connectivity) that reach slice z are candidates; one matches when its maximum is
   within 0.1 of S. A component over 50 slices with S < 5 is an organ, not a lesion.
   Extension (documented deviation): a lesion that touches a hotter neighbour at T0 (a node
   against the bladder, a liver lesion at a low threshold) merges with it, and the merged
   component's maximum is the neighbour's. So the thresholds climb in steps from T0 to
   0.85 S, and every component reaching slice z whose maximum matches S is a candidate at
   the lowest step where it appears. A hot spot counts once (by its maximum voxel).
7. More than one candidate is ambiguous. Before giving up, in this order, each of these may
   leave exactly one (extension): the side the sentence names (strictly: on that side of the
   midline at all), the organ it names or the structure a node station is named after
   ("para-aortic": the aorta) within 2 voxels (TotalSegmentator masks, when present), or
   else the only candidate outside organs of physiological uptake (kidneys, bladder, brain,
   heart) that the sentence does not name, and the reported slice (only one candidate has
   its maximum within 2 slices of it). Otherwise the mention is rejected as ambiguous.
8. From the seed (the candidate's maximum voxel), iterative thresholding:
   ``T / S = 0.078 / V(ml) + 0.617 * B / S + 0.316``, B the mean SUV of the 3-voxel shell
   around the region, the region grown through 6-neighbours from the seed, until T changes
   by under 1%; a label whose T / S exceeds 0.9 is dropped. V counts as at least 0.5 ml (the
   smallest NEMA sphere): below that the fit's volume term feeds on itself (a smaller region
   raises T, which shrinks the region) and a 1 cm nodule would never settle (deviation).
   Growth is confined to the seed's watershed basin (its top, from 0.75 S, against every other local
   maximum, an organ's noise bumps included) and to voxels no hotter than S (+0.1), and B
   ignores voxels hotter than S, so a lesion against the bladder, the heart or the kidney's
   collecting system neither leaks into it nor takes it for background (deviation: the
   paper's region growing has no such guard).
9. A candidate on the wrong side of the patient's midline (body centre on the slice) by more
   than 10 voxels is dropped when the sentence says only "left" or only "right".
10. A label whose maximum differs from S by more than 0.2, or that is empty on the reported
    slice, is dropped.

Every mention that gives no label gets a reason code (``schemas.enums.Reason.MENTION_*``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from extractors.pet.anatomy import anatomy_matches, host_organ, physiologic_hot
from extractors.pet.volume import PetVolume
from extractors.volume.morphology import dilate6
from extractors.volume.seeded_components import component_of, components_reaching_slices
from schemas.enums import Reason

SUV_FLOOR = 2.5  # step 5
SUV_MATCH_TOL = 0.1  # step 6: component maximum vs reported SUVmax
LABEL_SUV_TOL = 0.2  # step 10
LARGE_SLICES = 50  # step 6: a component over this many slices ...
LARGE_SUV = 5.0  # ... with a reported SUV under this is an organ
MAX_T_RATIO = 0.9  # step 8
MIDLINE_MARGIN_VOX = 10  # step 9
MIN_VOLUME_ML = 0.5  # step 8's volume term uses at least this (the fit runs away below)
NEAR_SLICES = 2  # tie-break: a candidate whose maximum lies this close to the reported slice
LADDER_TOP = 0.85  # extension of step 6: highest threshold, as a share of S
LADDER_STEPS = 6
MAX_ITERATIONS = 30
BASIN_CORE_FRACTION = 0.75  # the hot spot's own top: voxels from 0.75 S joined to its core
BASIN_CORE_GROW = 1  # the core marker grows one voxel (noise bumps on its flank join it)


@dataclass(frozen=True)
class LesionQuery:
    """What localisation needs from a mention: the reported SUVmax, the canonical z of the
    reported slice (several for a range), and what the sentence says of side and organ."""

    suv: float
    z: tuple[int, ...]
    laterality: str | None = None
    anatomy: tuple[str, ...] = ()


@dataclass
class Lesion:
    """A localised lesion: its mask (a crop of the volume at ``offset``), where its maximum
    is, the threshold that drew it, and how sure the match is."""

    mask: np.ndarray  # bool crop
    offset: tuple[int, int, int]  # crop origin in the volume, voxels
    seed: tuple[int, int, int]
    suv_max: float
    threshold: float
    volume_ml: float
    level: int  # 0: matched at the paper's threshold; > 0: a step of the ladder
    n_candidates: int  # candidates before side / organ filtering
    resolved_by: str  # "", "side", "organ" or "slice": what made an ambiguous match unique
    confidence: float
    host_organ: str | None = None
    host_relation: str = ""  # "in" or "next to"
    z_reported: int = 0  # the reported slice the label is checked on

    def full_mask(self, shape: tuple[int, int, int]) -> np.ndarray:
        out = np.zeros(shape, dtype=bool)
        x, y, z = self.offset
        sx, sy, sz = self.mask.shape
        out[x : x + sx, y : y + sy, z : z + sz] = self.mask
        return out

    def bbox(self) -> tuple[int, int, int, int, int, int]:
        """Voxel bounds ``(x0, x1, y0, y1, z0, z1)`` of the mask, ends exclusive."""
        idx = [
            np.nonzero(self.mask.any(axis=tuple(a for a in range(3) if a != k)))[0]
            for k in range(3)
        ]
        x, y, z = self.offset
        return (
            x + int(idx[0][0]), x + int(idx[0][-1]) + 1,
            y + int(idx[1][0]), y + int(idx[1][-1]) + 1,
            z + int(idx[2][0]), z + int(idx[2][-1]) + 1,
        )  # fmt: skip


@dataclass(frozen=True)
class Rejection:
    """Why a mention gives no label."""

    reason: Reason
    message: str


@dataclass
class _Candidate:
    seed: tuple[int, int, int]
    value: float
    level: int
    bbox: tuple[slice, slice, slice]  # of its component at that level, volume coordinates
    z_extent: int
    threshold: float  # the threshold of the level where it first appears
    compact_threshold: float  # the highest ladder threshold where it still matches
    compact_bbox: tuple[slice, slice, slice]  # its component there


@dataclass
class ExamGeometry:
    """Per-exam facts localisation reuses across mentions: the body midline per slice."""

    volume: PetVolume
    _midline: dict[int, float] = field(default_factory=dict)

    def midline_x(self, z: int) -> float:
        """The patient's midline on slice z: the centre of the body (CT above -500 HU when
        the exam has CT, else SUV above 0.3), as a canonical x index."""
        if z not in self._midline:
            if self.volume.ct is not None:
                body = self.volume.ct[:, :, z] > -500
            else:
                body = self.volume.suv[:, :, z] > 0.3
            body = ndimage.binary_opening(body, iterations=1) if body.sum() > 50 else body
            xs = np.nonzero(body)[0]
            self._midline[z] = float(xs.mean()) if xs.size else (body.shape[0] - 1) / 2.0
        return self._midline[z]


def initial_threshold(suv: float) -> float:
    """Step 6: ``(0.617 * (1 / SUV) + 0.316) * SUV``."""
    return 0.617 + 0.316 * suv


def localise(
    volume: PetVolume, query: LesionQuery, geometry: ExamGeometry | None = None
) -> Lesion | Rejection:
    """The lesion a mention means, or why there is none (steps 5-10)."""
    geometry = geometry or ExamGeometry(volume)
    s = float(query.suv)
    if s < SUV_FLOOR:
        return Rejection(
            Reason.MENTION_SUV_LOW, f"SUV {s:g} is below the labelling floor {SUV_FLOOR:g}"
        )
    nz = volume.shape[2]
    zs = sorted(z for z in query.z if 0 <= z < nz)
    if not zs:
        return Rejection(
            Reason.MENTION_SLICE_OUTSIDE,
            f"slice index {query.z} is not in the volume (0..{nz - 1})",
        )
    candidates, large = _candidates(volume.suv, zs[0], zs[-1], s)
    slice_words = _slice_words(volume, zs)
    if not candidates:
        if large:
            return Rejection(
                Reason.MENTION_LARGE_LOW_UPTAKE,
                f"the only hot spot with SUVmax {s:g} on {slice_words} spans over "
                f"{LARGE_SLICES} slices with SUV < {LARGE_SUV:g} (an organ, not a lesion)",
            )
        return Rejection(
            Reason.MENTION_NO_MATCH,
            f"no hot spot on {slice_words} has an SUVmax within {SUV_MATCH_TOL:g} of {s:g}",
        )
    n_candidates = len(candidates)
    resolved_by = ""
    if query.laterality in ("left", "right"):
        on_side = [c for c in candidates if not _wrong_side(c, query.laterality, geometry)]
        if not on_side:
            return Rejection(
                Reason.MENTION_WRONG_SIDE,
                f"the {len(candidates)} hot spot(s) with SUVmax {s:g} on {slice_words} lie on "
                f"the patient's {'right' if query.laterality == 'left' else 'left'}, the report "
                f"says {query.laterality}",
            )
        if len(on_side) < len(candidates) and len(on_side) == 1:
            resolved_by = "side"
        candidates = on_side
    if len(candidates) > 1 and query.laterality in ("left", "right"):
        strict = [c for c in candidates if _strictly_on_side(c, query.laterality, geometry)]
        if len(strict) == 1:
            candidates, resolved_by = strict, "side"
    if len(candidates) > 1 and volume.organs is not None:
        organs = {c.seed: _organs_of(volume, c) for c in candidates}
        named = [
            c
            for c in candidates
            if any(anatomy_matches(o, query.anatomy) for o in organs[c.seed][1])
        ]
        lesion_like = [
            c
            for c in candidates
            if not physiologic_hot(organs[c.seed][0])
            or anatomy_matches(organs[c.seed][0], query.anatomy)
        ]
        if len(named) == 1:
            candidates, resolved_by = named, "organ"
        elif len(lesion_like) == 1:
            candidates, resolved_by = lesion_like, "organ"
    if len(candidates) > 1:  # radiologists give the slice through a lesion, not its edge
        near = [c for c in candidates if min(abs(c.seed[2] - z) for z in zs) <= NEAR_SLICES]
        if len(near) == 1:
            candidates, resolved_by = near, "slice"
    if len(candidates) > 1:
        spots = ", ".join(f"voxel {c.seed} (SUV {c.value:.2f})" for c in candidates[:4])
        return Rejection(
            Reason.MENTION_AMBIGUOUS,
            f"{len(candidates)} hot spots on {slice_words} match SUVmax {s:g}: {spots}",
        )
    cand = candidates[0]
    return _label(volume, cand, s, zs, n_candidates, resolved_by)


def _organs_of(volume: PetVolume, c: _Candidate) -> tuple[str | None, set[str]]:
    """The organ holding most of a candidate's hot core (its component at the top of the
    ladder), and every organ within 2 voxels of it (a node beside the aorta)."""
    assert volume.organs is not None
    box = tuple(
        slice(max(0, sl.start - 3), min(n, sl.stop + 3))
        for sl, n in zip(c.compact_bbox, volume.shape, strict=True)
    )
    seed = tuple(p - sl.start for p, sl in zip(c.seed, box, strict=True))
    core = component_of(volume.suv[box] >= c.compact_threshold, seed)
    if core is None:
        return None, set()
    labels = volume.organs.labels[box]
    names = volume.organs.names
    ids, counts = np.unique(labels[core], return_counts=True)
    keep = ids != 0
    inside = names.get(int(ids[keep][np.argmax(counts[keep])])) if keep.any() else None
    near_ids = np.unique(labels[dilate6(core, 2)])
    return inside, {names[int(i)] for i in near_ids if int(i) in names}


def _slice_words(volume: PetVolume, zs: list[int]) -> str:
    numbers = [volume.numbering.number_of(z) for z in zs]
    return f"slice {numbers[0]}" if len(numbers) == 1 else f"slices {numbers[0]}-{numbers[-1]}"


def _strictly_on_side(c: _Candidate, side: str, geometry: ExamGeometry) -> bool:
    x, _, z = c.seed
    mid = geometry.midline_x(z)
    return x < mid if side == "right" else x > mid


def _wrong_side(c: _Candidate, side: str, geometry: ExamGeometry) -> bool:
    """Canonical x grows from the patient's right to the left."""
    x, _, z = c.seed
    mid = geometry.midline_x(z)
    if side == "right":
        return x > mid + MIDLINE_MARGIN_VOX
    return x < mid - MIDLINE_MARGIN_VOX


# ---- step 6 (and its ladder) --------------------------------------------------------------


Component = tuple[tuple[slice, slice, slice], float, tuple[int, int, int]]  # box, max, seed


def _level_components(
    suv: np.ndarray,
    t: float,
    z0: int,
    z1: int,
    region: tuple[slice, slice, slice] | None,
) -> list[Component]:
    """The components of ``suv >= t`` inside ``region`` (the whole volume when None) with a
    voxel on slices z0..z1 that lie in the region: their boxes, maxima and first maximal
    voxels, found by flood fill from those slices (``extractors.volume.seeded_components``)."""
    reach = components_reaching_slices(suv, t, z0, z1, region)
    return [
        (reach.box(k), float(reach.maximum[k]), tuple(int(v) for v in reach.argmax[k]))
        for k in range(reach.n)
    ]


def _candidates(suv: np.ndarray, z0: int, z1: int, s: float) -> tuple[list[_Candidate], bool]:
    """Hot spots reaching slices z0..z1 whose maximum is within the tolerance of s, over the
    threshold ladder; and whether a matching one was dropped as a large, low-uptake organ."""
    t0 = initial_threshold(s)
    top = LADDER_TOP * s
    levels = [t0] + ([float(t) for t in np.linspace(t0, top, LADDER_STEPS)[1:]] if top > t0 else [])
    found: dict[tuple[int, int, int], _Candidate] = {}
    large = False
    region: tuple[slice, slice, slice] | None = None
    for level, t in enumerate(levels):
        components = _level_components(suv, t, z0, z1, region)
        if not components:
            break
        for box, m, seed in components:
            if abs(m - s) > SUV_MATCH_TOL + 1e-6:
                continue
            z_extent = box[2].stop - box[2].start
            if z_extent > LARGE_SLICES and s < LARGE_SUV:
                large = True
                continue
            if seed not in found:
                found[seed] = _Candidate(seed, m, level, box, z_extent, t, t, box)
            else:
                found[seed].compact_threshold = t
                found[seed].compact_bbox = box
        # higher thresholds only split these components, and only one whose maximum reaches
        # S - tolerance can hold a matching hot spot: look inside those only
        boxes = [b for b, m, _ in components if m >= s - SUV_MATCH_TOL - 1e-6]
        if not boxes:
            break
        region = tuple(
            slice(min(b[k].start for b in boxes), max(b[k].stop for b in boxes)) for k in range(3)
        )  # type: ignore[assignment]
    return sorted(found.values(), key=lambda c: (c.level, c.seed)), large


# ---- step 8: iterative thresholding from the seed ------------------------------------------


def _label(
    volume: PetVolume,
    cand: _Candidate,
    s: float,
    zs: list[int],
    n_candidates: int,
    resolved_by: str,
) -> Lesion | Rejection:
    suv = volume.suv
    shape = suv.shape
    box = [
        (max(0, sl.start - pad), min(n, sl.stop + pad))
        for sl, n in zip(cand.compact_bbox, shape, strict=True)
        for pad in [max(8, 2 * (sl.stop - sl.start))]
    ]
    box[2] = (min(box[2][0], zs[0]), max(box[2][1], zs[-1] + 1))
    while True:
        crop = suv[box[0][0] : box[0][1], box[1][0] : box[1][1], box[2][0] : box[2][1]]
        seed = tuple(c - b[0] for c, b in zip(cand.seed, box, strict=True))
        result = _iterate(crop, seed, s, volume.voxel_ml, cand.compact_threshold)
        region = result[0] if result is not None else None
        grow = []
        if region is not None:
            for k in range(3):
                lo_touch = region.take(0, axis=k).any() and box[k][0] > 0
                hi_touch = region.take(-1, axis=k).any() and box[k][1] < shape[k]
                grow.append((lo_touch, hi_touch))
        if region is None or not any(a or b for a, b in grow):
            break
        box = [
            (
                max(0, b[0] - (b[1] - b[0]) if g[0] else b[0]),
                min(n, b[1] + (b[1] - b[0]) if g[1] else b[1]),
            )
            for b, g, n in zip(box, grow, shape, strict=True)
        ]
    where = ", ".join(f"{v}" for v in cand.seed)
    if result is None:
        return Rejection(
            Reason.MENTION_SEGMENTATION_FAILED,
            f"the hot spot at voxel ({where}) did not segment: the iterative threshold did not "
            "settle",
        )
    region, t = result
    if t / s > MAX_T_RATIO:
        return Rejection(
            Reason.MENTION_SEGMENTATION_FAILED,
            f"the hot spot at voxel ({where}) needs a threshold of {t / s:.2f} x SUVmax "
            f"(over {MAX_T_RATIO:g}): too small or too flat to delineate",
        )
    offset = (box[0][0], box[1][0], box[2][0])
    label_max = float(crop[region].max())
    if abs(label_max - s) > LABEL_SUV_TOL + 1e-6:
        return Rejection(
            Reason.MENTION_SUV_MISMATCH,
            f"the label's maximum {label_max:.2f} differs from the reported {s:g} by over "
            f"{LABEL_SUV_TOL:g}",
        )
    on_slices = [z for z in zs if region[:, :, z - offset[2]].any()]
    if not on_slices:
        return Rejection(
            Reason.MENTION_NOT_ON_SLICE,
            f"the label at voxel ({where}) spans slices "
            f"{_slice_span(volume, region, offset)} but not {_slice_words(volume, zs)}",
        )
    z_reported = min(on_slices, key=lambda z: (abs(z - cand.seed[2]), z))
    organ, relation = host_organ(volume.organs, region, offset)
    lesion = Lesion(
        mask=region,
        offset=offset,
        seed=cand.seed,
        suv_max=label_max,
        threshold=t,
        volume_ml=float(region.sum()) * volume.voxel_ml,
        level=cand.level,
        n_candidates=n_candidates,
        resolved_by=resolved_by,
        confidence=0.0,
        host_organ=organ,
        host_relation=relation,
        z_reported=z_reported,
    )
    lesion.confidence = confidence(lesion, s, zs)
    return lesion


def _slice_span(volume: PetVolume, region: np.ndarray, offset: tuple[int, int, int]) -> str:
    zs = np.nonzero(region.any(axis=(0, 1)))[0] + offset[2]
    a, b = volume.numbering.number_of(int(zs[0])), volume.numbering.number_of(int(zs[-1]))
    return f"{min(a, b)}-{max(a, b)}"


def _iterate(
    crop: np.ndarray, seed: tuple[int, ...], s: float, voxel_ml: float, t_core: float
) -> tuple[np.ndarray, float] | None:
    """Step 8 inside a crop: the region and its final threshold, or None if T never settles."""
    cap = s + SUV_MATCH_TOL
    core = component_of(crop >= t_core, seed)
    if core is None:
        return None
    allowed = _basin(crop, core, seed, s) & (crop <= cap)
    # the region stays in ``allowed`` and its shell within 3 voxels of it: work in that box
    full_shape = allowed.shape
    hit = [np.flatnonzero(allowed.any(axis=tuple(a for a in range(3) if a != k))) for k in range(3)]
    window = tuple(
        slice(max(0, int(h[0]) - 3), min(n, int(h[-1]) + 4))
        for h, n in zip(hit, full_shape, strict=True)
    )  # allowed holds the seed (the core's), so it is not empty
    crop, allowed = crop[window], allowed[window]
    seed = tuple(p - w.start for p, w in zip(seed, window, strict=True))

    def full(region: np.ndarray) -> np.ndarray:
        out = np.zeros(full_shape, dtype=bool)
        out[window] = region
        return out

    t = initial_threshold(s)
    for i in range(MAX_ITERATIONS):
        region = component_of(allowed & (crop >= t), seed)
        if region is None:
            return None
        volume_ml = max(float(region.sum()) * voxel_ml, MIN_VOLUME_ML)
        background = _shell_values(crop, region, s)
        b = float(background.mean()) if background.size else 0.0
        t_new = s * (0.078 / volume_ml + 0.316) + 0.617 * b
        if i >= MAX_ITERATIONS // 2:  # damp a threshold that oscillates between two regions
            t_new = 0.5 * (t_new + t)
        if abs(t_new - t) < 0.01 * t:
            region = component_of(allowed & (crop >= t_new), seed)
            return (full(region), t_new) if region is not None else None
        t = t_new
        if t >= cap:
            return (np.zeros(full_shape, dtype=bool), t)
    return None


def _shell_values(crop: np.ndarray, region: np.ndarray, s: float) -> np.ndarray:
    """Values under ``s`` of the 3-voxel shell around ``region`` (6-connected dilation),
    computed in the region's box grown by 3 (clipped to the crop): the shell lies inside."""
    box = tuple(
        slice(max(0, int(h[0]) - 3), min(n, int(h[-1]) + 4))
        for k, n in enumerate(region.shape)
        for h in [np.flatnonzero(region.any(axis=tuple(a for a in range(3) if a != k)))]
    )
    local, values = region[box], crop[box]
    shell = dilate6(local, 3) & ~local
    return values[shell & (values < s)]


def _basin(crop: np.ndarray, core: np.ndarray, seed: tuple[int, ...], s: float) -> np.ndarray:
    """The hot spot's catchment basin: voxels whose steepest ascent leads to its core (the
    hot spot at the top of the threshold ladder, grown by a voxel) rather than to any other
    local maximum: another lesion, an organ's noise bumps, anything hotter than S. A lesion
    against the heart or inside the liver stops where its own slope meets the organ's
    plateau."""
    from skimage.segmentation import watershed

    low = 0.25 * initial_threshold(s)
    peaks = (ndimage.maximum_filter(crop, size=3) == crop) & (crop >= low)
    top = component_of(crop >= BASIN_CORE_FRACTION * s, seed)
    own_top = core if top is None else core | top
    grown = dilate6(own_top, BASIN_CORE_GROW)
    peaks &= ~dilate6(grown, 1)
    markers, n = ndimage.label(peaks, structure=np.ones((3, 3, 3)))
    markers[(crop > s + SUV_MATCH_TOL) & (markers == 0)] = n + 1
    own = n + 2
    markers[grown] = own
    basins = watershed(-crop, markers, mask=crop >= low)
    return basins == own


# ---- confidence --------------------------------------------------------------------------------


def confidence(lesion: Lesion, s: float, zs: list[int]) -> float:
    """A weak-label confidence in [0.05, 1]: 1 for a unique match at the paper's threshold
    whose maximum equals the report, less for each thing that needed help or is off."""
    c = 1.0
    if lesion.level > 0:
        c -= 0.1  # separated from a neighbour only above the paper's threshold
    if lesion.resolved_by:
        c -= 0.1  # several hot spots matched; the side or the organ picked one
    c -= 0.5 * abs(lesion.suv_max - s)
    ratio = lesion.threshold / s
    if ratio > 0.7:
        c -= 0.5 * (ratio - 0.7)  # a flat or tiny spot: its boundary is uncertain
    dz = min(abs(lesion.seed[2] - z) for z in zs)
    if dz > 2:
        c -= 0.05 * (dz - 2)  # the maximum lies away from the reported slice
    return float(min(1.0, max(0.05, round(c, 3))))
