"""PET/CT phantoms with known truth: physiological uptake per organ on a real (or a
synthetic) CT with organ masks, inserted lesions, PET-like blur and noise, and a report in
real phrasings whose slice numbers follow the volume's own convention.

Used by the benchmark (``medsg bench pet``), the tests and the demo's generated exam corpus.
Same anatomy and seed: same volumes, lesions and report, byte for byte.

Lesions are inserted to be findable by a reader of the image, as real reported lesions are:
SUVmax 2.5 to 20 and at least 1.5 times the uptake around them, at least 8 mm from any
tissue hotter than themselves (a pelvic node beside the bladder, a node beside the kidney's
hot collecting system), not overlapping one another. Some sit next to hot organs, some come
as left/right pairs with the same SUVmax (only the side tells them apart), some share one
axial slice. A few mentions are built not to be localisable (no slice, a coronal slice only,
SUV under 2.5, a slice outside the volume) and prior and reference values are mixed in: the
truth says what each mention is and why it should be rejected.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from extractors.pet.volume import OrganMasks, SliceNumbering
from extractors.volume import to_canonical
from schemas.enums import Reason

FWHM_MM = 6.0  # PET point-spread function
NOISE_CV = 0.08  # multiplicative noise, smoothed over about a voxel
MIN_CONTRAST = 1.5  # lesion SUVmax over the mean uptake around it
HOT_GAP_MM = 8.0  # distance from any hotter tissue
LESION_GAP_MM = 8.0

# Mean SUV of physiological uptake per TotalSegmentator class (prefix match), FDG at 60 min.
UPTAKE: tuple[tuple[str, float], ...] = (
    ("brain", 7.5), ("heart", 3.5), ("atrial_appendage", 2.0), ("liver", 2.2),
    ("spleen", 1.9), ("kidney_cyst", 0.3), ("kidney", 3.0), ("urinary_bladder", 18.0),
    ("stomach", 2.1), ("colon", 1.6), ("small_bowel", 1.6), ("duodenum", 1.8),
    ("pancreas", 1.6), ("adrenal_gland", 1.6), ("gallbladder", 0.8), ("esophagus", 1.8),
    ("thyroid_gland", 1.8), ("prostate", 1.6), ("aorta", 1.8), ("inferior_vena_cava", 1.8),
    ("superior_vena_cava", 1.8), ("portal_vein", 1.8), ("pulmonary_vein", 1.8),
    ("iliac_", 1.8), ("subclavian", 1.8), ("brachiocephalic", 1.8), ("common_carotid", 1.8),
    ("spinal_cord", 1.4), ("vertebrae", 1.5), ("sacrum", 1.5), ("hip", 1.3), ("femur", 1.2),
    ("humerus", 1.2), ("scapula", 1.1), ("clavicula", 1.1), ("sternum", 1.4), ("rib", 1.1),
    ("skull", 1.0), ("costal_cartilages", 0.7), ("autochthon", 0.9), ("iliopsoas", 0.9),
    ("gluteus", 0.8), ("lung", 0.45), ("trachea", 0.05),
)  # fmt: skip
TISSUE_UPTAKE = {"air": 0.0, "gas": 0.35, "fat": 0.35, "soft": 0.8, "bone": 1.4}


@dataclass
class Anatomy:
    """A CT in HU with organ masks on its grid (canonical orientation), to build phantoms on."""

    name: str
    ct: np.ndarray
    organs: OrganMasks
    affine: np.ndarray
    notes: list[str] = field(default_factory=list)

    @property
    def spacing(self) -> tuple[float, float, float]:
        return tuple(float(v) for v in np.sqrt((self.affine[:3, :3] ** 2).sum(axis=0)))  # type: ignore[return-value]


@dataclass(frozen=True)
class PhantomLesion:
    lesion_id: int  # its label in the SEG volume
    center: tuple[int, int, int]  # canonical voxel
    radii_mm: tuple[float, float, float]
    suv_max: float  # measured on the final volume, rounded to 0.1 as a workstation shows it
    side: str | None
    site: str  # words for the report, e.g. "left lower lobe of the lung nodule"
    kind: str  # "organ", "node", "bone", "soft"; "+pair", "+same_slice", "+near_hot"
    z_max: int  # canonical slice of its maximum voxel


@dataclass(frozen=True)
class MentionTruth:
    """What a mention of the report is: its value, role, the lesion it names (if any), and
    the reason it must be rejected for when it is not localisable."""

    sentence: int  # index into ``PhantomExam.sentences``
    suv: float
    role: str
    lesion_id: int | None
    expected_reason: str | None  # None: a localisable lesion mention


@dataclass
class PhantomExam:
    suv: np.ndarray  # canonical, float32
    ct: np.ndarray
    seg: np.ndarray  # int16 lesion labels
    organs: OrganMasks
    affine: np.ndarray
    numbering: SliceNumbering
    file_orientation: str  # axis codes the exam is stored in ("RAS", "LPS", "LPI"...)
    sentences: list[str]
    truth: list[MentionTruth]
    lesions: list[PhantomLesion]

    @property
    def report(self) -> str:
        return " ".join(self.sentences)


# ---- anatomy ----------------------------------------------------------------------------


def _ellipsoid(shape, center, radii_vox) -> np.ndarray:
    grids = np.ogrid[tuple(slice(0, n) for n in shape)]
    d = sum(((g - c) / r) ** 2 for g, c, r in zip(grids, center, radii_vox, strict=True))
    return d <= 1.0


def synthetic_anatomy(shape: tuple[int, int, int] = (90, 70, 120), spacing: float = 4.0) -> Anatomy:
    """A simple adult body from head to pelvis with the organs that matter for FDG (brain,
    heart, lungs, liver, spleen, kidneys, bladder, spine, aorta), named as TotalSegmentator
    classes, for phantoms on machines without the real CT. Drawn in RAS (x to the patient's
    right, y anterior), returned in the canonical orientation."""
    nx, ny, nz = shape
    cx, cy = (nx - 1) / 2, (ny - 1) / 2
    mm = 1.0 / spacing
    ct = np.full(shape, -1000.0, dtype=np.float32)
    labels = np.zeros(shape, dtype=np.int16)
    names: dict[int, str] = {}

    def put(name: str, region: np.ndarray, hu: float) -> None:
        i = len(names) + 1
        names[i] = name
        labels[region] = i
        ct[region] = hu

    z_neck = int(nz * 0.80)
    torso = _ellipsoid(shape, (cx, cy, nz * 0.40), (160 * mm, 105 * mm, nz * 0.42))
    torso[:, :, z_neck:] = False
    head = _ellipsoid(shape, (cx, cy + 5 * mm, nz * 0.90), (75 * mm, 90 * mm, 100 * mm))
    neck = _ellipsoid(shape, (cx, cy, nz * 0.80), (55 * mm, 55 * mm, 60 * mm))
    body = torso | head | neck
    ct[body] = -80.0  # fat
    inner = _ellipsoid(shape, (cx, cy, nz * 0.40), (140 * mm, 90 * mm, nz * 0.40))
    ct[inner & torso] = 40.0  # soft tissue
    zl = nz * 0.62
    put(
        "lung_lower_lobe_right",
        _ellipsoid(shape, (cx + 70 * mm, cy, zl), (55 * mm, 70 * mm, 110 * mm)),
        -820,
    )
    put(
        "lung_lower_lobe_left",
        _ellipsoid(shape, (cx - 70 * mm, cy, zl), (55 * mm, 70 * mm, 110 * mm)),
        -820,
    )
    put(
        "heart",
        _ellipsoid(shape, (cx - 20 * mm, cy + 25 * mm, nz * 0.56), (55 * mm, 45 * mm, 50 * mm)),
        45,
    )
    put(
        "liver",
        _ellipsoid(shape, (cx + 55 * mm, cy + 10 * mm, nz * 0.42), (85 * mm, 70 * mm, 60 * mm))
        & inner,
        55,
    )
    put(
        "spleen",
        _ellipsoid(shape, (cx - 80 * mm, cy - 20 * mm, nz * 0.43), (30 * mm, 40 * mm, 45 * mm)),
        50,
    )
    for side, sx in (("right", 1), ("left", -1)):
        put(
            f"kidney_{side}",
            _ellipsoid(
                shape, (cx + sx * 60 * mm, cy - 40 * mm, nz * 0.33), (28 * mm, 30 * mm, 50 * mm)
            ),
            35,
        )
    put(
        "urinary_bladder",
        _ellipsoid(shape, (cx, cy + 40 * mm, nz * 0.08), (45 * mm, 35 * mm, 35 * mm)),
        10,
    )
    put("brain", _ellipsoid(shape, (cx, cy + 5 * mm, nz * 0.91), (65 * mm, 80 * mm, 75 * mm)), 35)
    spine = _ellipsoid(shape, (cx, cy - 55 * mm, nz * 0.42), (18 * mm, 18 * mm, nz * 0.42))
    spine[:, :, z_neck:] = False
    put("vertebrae_L1", spine, 450)
    aorta = _ellipsoid(
        shape, (cx - 12 * mm, cy - 25 * mm, nz * 0.45), (11 * mm, 11 * mm, nz * 0.30)
    )
    put("aorta", aorta & ~spine, 40)
    ct[~body] = -1000.0
    labels[~body] = 0
    affine = np.diag([spacing, spacing, spacing, 1.0])
    affine[:3, 3] = [-(nx - 1) * spacing / 2, -(ny - 1) * spacing / 2, -(nz - 1) * spacing]
    ct_c, labels_c = to_canonical(ct, affine), to_canonical(labels, affine)
    return Anatomy("synthetic-body", ct_c.data, OrganMasks(labels_c.data, names), ct_c.affine)


def tissue_classes(ct: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Body mask (CT above -500 HU, holes filled per slice) and HU tissue classes inside it."""
    body = ct > -500
    labels, n = ndimage.label(body)
    if n > 1:
        sizes = ndimage.sum(body, labels, range(1, n + 1))
        body = labels == (int(np.argmax(sizes)) + 1)
    for z in range(ct.shape[2]):
        body[:, :, z] = ndimage.binary_fill_holes(body[:, :, z])
    return body, {
        "gas": body & (ct < -500),
        "fat": body & (ct >= -500) & (ct < -30),
        "soft": body & (ct >= -30) & (ct < 180),
        "bone": body & (ct >= 180),
    }


def baseline_uptake(anatomy: Anatomy, rng: np.random.Generator) -> np.ndarray:
    """Physiological SUV before blur: HU tissue classes, then each organ's mean uptake
    (varied by +-15% per exam; heart 2 to 6 and bladder 10 to 30, as in real exams)."""
    body, classes = tissue_classes(anatomy.ct)
    base = np.zeros(anatomy.ct.shape, dtype=np.float32)
    for tissue, region in classes.items():
        base[region] = TISSUE_UPTAKE[tissue]
    labels = anatomy.organs.labels
    for label, name in sorted(anatomy.organs.names.items()):
        value = next((v for prefix, v in UPTAKE if name.startswith(prefix)), None)
        if value is None:
            continue
        if name == "heart":
            value = float(rng.uniform(2.0, 6.0))
        elif name == "urinary_bladder":
            value = float(rng.uniform(10.0, 30.0))
        else:
            value *= float(rng.uniform(0.85, 1.15))
        base[labels == label] = value
    for side in ("left", "right"):  # urine in each kidney's collecting system: a hot spot
        kidney = anatomy.organs.mask(f"kidney_{side}")
        if kidney.sum() > 200:
            dist = ndimage.distance_transform_edt(kidney)
            core = dist >= 0.7 * dist.max()
            base[core] = float(rng.uniform(6.0, 14.0))
    base[~body] = 0.0
    return base


# ---- lesions ----------------------------------------------------------------------------


@dataclass
class _Site:
    kind: str
    region: np.ndarray  # where a lesion centre may lie
    words: str
    side: str | None
    organ: str | None = None


def _side_of_x(x: float, mid: float, margin: float) -> str | None:
    """Canonical x grows from the patient's right to the left."""
    if x < mid - margin:
        return "right"
    if x > mid + margin:
        return "left"
    return None


_NODE_WORDS = {
    "aorta": "para-aortic lymph node",
    "inferior_vena_cava": "paracaval lymph node",
    "portal_vein_and_splenic_vein": "portocaval lymph node",
    "iliopsoas": "iliac chain lymph node",
    "kidney": "perirenal soft tissue nodule",
    "stomach": "gastrohepatic ligament node",
    "colon": "pericolonic lymph node",
    "heart": "pericardial lymph node",
    "urinary_bladder": "pelvic sidewall lymph node",
    "spleen": "splenic hilar node",
    "liver": "porta hepatis lymph node",
    "lung": "hilar lymph node",
}
_ORGAN_WORDS = {
    "liver": "hepatic lesion",
    "spleen": "splenic lesion",
    "lung": "pulmonary nodule",
    "kidney": "renal lesion",
    "adrenal_gland": "adrenal nodule",
    "vertebrae": "osseous lesion",
    "hip": "iliac bone lesion",
    "femur": "femoral lesion",
    "rib": "rib lesion",
    "sacrum": "sacral lesion",
    "pancreas": "pancreatic lesion",
    "stomach": "gastric wall lesion",
    "brain": "brain lesion",
}


def _sites(
    anatomy: Anatomy, body: np.ndarray, classes: dict[str, np.ndarray], mid: float
) -> list[_Site]:
    organs = anatomy.organs
    spacing = anatomy.spacing[0]
    sites: list[_Site] = []
    free = (classes["fat"] | classes["soft"]) & (organs.labels == 0)
    for label, name in sorted(organs.names.items()):
        mask = organs.labels == label
        if mask.sum() < 150:
            continue
        key = next((k for k in _ORGAN_WORDS if name.startswith(k)), None)
        side = "left" if name.endswith("_left") else "right" if name.endswith("_right") else None
        if name.startswith("lung"):
            side = side or _side_of_x(float(np.nonzero(mask)[0].mean()), mid, 5)
        if key is not None:
            words = _ORGAN_WORDS[key]
            if key == "vertebrae":
                words = f"{name.split('_')[1]} vertebral body lesion"
            sites.append(_Site("organ", mask, words, side, name))
        anchor = next((k for k in _NODE_WORDS if name.startswith(k)), None)
        if anchor is not None:
            ring = ndimage.binary_dilation(mask, iterations=max(2, int(12 / spacing))) & free
            if ring.sum() > 50:
                sites.append(_Site("node", ring, _NODE_WORDS[anchor], side, name))
    # soft tissue and bone beyond the organ masks (the pelvis of the real CT)
    covered = ndimage.binary_dilation(organs.labels > 0, iterations=3).any(axis=(0, 1))
    uncovered = ~covered
    if uncovered.sum() >= 12:
        zmask = np.zeros(anatomy.ct.shape, dtype=bool)
        zmask[:, :, uncovered] = True
        inner = ndimage.binary_erosion(body, iterations=int(25 / spacing) + 1)
        sites.append(
            _Site("soft", free & inner & zmask & classes["soft"], "pelvic lymph node", None)
        )
        sites.append(_Site("bone", classes["bone"] & zmask & inner, "osseous lesion", None))
    return sites


def _bone_words(x: float, mid: float) -> str:
    return "iliac bone lesion" if abs(x - mid) > 12 else "sacral lesion"


@dataclass
class _Placed:
    center: tuple[int, int, int]
    radii_vox: tuple[float, float, float]
    radii_mm: tuple[float, float, float]
    target: float
    side: str | None
    words: str
    kind: str


def _try_place(
    rng: np.random.Generator,
    site: _Site,
    base: np.ndarray,
    spacing: tuple[float, float, float],
    placed: list[_Placed],
    target: float,
    mid_of: Callable[[int], float],
    *,
    center: tuple[int, int, int] | None = None,
    radius_mm: float | None = None,
) -> _Placed | None:
    """A lesion of ``site`` that keeps its distance from hotter tissue and other lesions."""
    r_mm = radius_mm if radius_mm is not None else float(rng.uniform(6.0, 15.0))
    radii_mm = (
        r_mm * rng.uniform(0.85, 1.15),
        r_mm * rng.uniform(0.85, 1.15),
        r_mm * rng.uniform(0.85, 1.15),
    )
    radii_vox = tuple(r / s for r, s in zip(radii_mm, spacing, strict=True))
    if center is None:
        core = site.region
        if site.kind in ("organ", "bone"):
            core = ndimage.binary_erosion(site.region, iterations=max(1, int(min(radii_vox) * 0.6)))
        points = np.argwhere(core)
        if len(points) == 0:
            return None
        center = tuple(int(v) for v in points[rng.integers(len(points))])
    shape = base.shape
    margin = [math.ceil((r + HOT_GAP_MM) / s) + 2 for r, s in zip(radii_mm, spacing, strict=True)]
    lo = [max(0, c - m) for c, m in zip(center, margin, strict=True)]
    hi = [min(n, c + m + 1) for n, c, m in zip(shape, center, margin, strict=True)]
    if any(
        c - lo_ < r or hi_ - 1 - c < r
        for c, lo_, hi_, r in zip(center, lo, hi, radii_vox, strict=True)
    ):
        return None  # too close to the volume's edge
    crop = base[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]]
    local_center = tuple(c - o for c, o in zip(center, lo, strict=True))
    inside = _ellipsoid(crop.shape, local_center, radii_vox)
    if not (crop[inside] > 0).all():
        return None  # partly outside the body
    grids = np.ogrid[tuple(slice(0, n) for n in crop.shape)]
    dist_mm = np.sqrt(
        sum(((g - c) * s) ** 2 for g, c, s in zip(grids, local_center, spacing, strict=True))
    )
    shell = (~inside) & (dist_mm <= max(radii_mm) + 10.0)
    background = float(crop[shell].mean()) if shell.any() else 0.0
    target = max(target, MIN_CONTRAST * background, 2.5 if target >= 2.5 else target)
    hot = crop > target * 0.75  # tissue within a third of its uptake would swallow it
    hot_dist = dist_mm[hot & ~inside]
    if hot_dist.size and float(hot_dist.min()) < max(radii_mm) + HOT_GAP_MM:
        return None
    for p in placed:
        gap = math.dist(
            [a * s for a, s in zip(center, spacing, strict=True)],
            [a * s for a, s in zip(p.center, spacing, strict=True)],
        )
        if gap < max(radii_mm) + max(p.radii_mm) + LESION_GAP_MM:
            return None
    side = site.side
    mid = mid_of(center[2])
    if site.kind in ("node", "soft", "bone") and side is None:
        side = _side_of_x(center[0], mid, 15.0 / spacing[0])
    words = site.words if site.kind != "bone" or site.organ else _bone_words(center[0], mid)
    return _Placed(center, radii_vox, radii_mm, target, side, words, site.kind)  # type: ignore[arg-type]


def _mirror(center: tuple[int, int, int], mid: float) -> tuple[int, int, int]:
    return (round(2 * mid - center[0]), center[1], center[2])


# ---- the exam ---------------------------------------------------------------------------


def _blur_sigma_vox(spacing: tuple[float, float, float]) -> list[float]:
    return [FWHM_MM / 2.3548 / s for s in spacing]


def generate_exam(
    anatomy: Anatomy,
    seed: int,
    *,
    n_lesions: int = 6,
    decoys: bool = True,
    file_orientation: str | None = None,
) -> PhantomExam:
    """One phantom exam on ``anatomy``: uptake, lesions, blur, noise, report and truth."""
    rng = np.random.default_rng(seed)
    spacing = anatomy.spacing
    base = baseline_uptake(anatomy, rng)
    body, classes = tissue_classes(anatomy.ct)
    mids = {}

    def mid_of(z: int) -> float:
        if z not in mids:
            xs = np.nonzero(body[:, :, z])[0]
            mids[z] = float(xs.mean()) if xs.size else (body.shape[0] - 1) / 2
        return mids[z]

    z_mid = int(np.nonzero(body.any(axis=(0, 1)))[0].mean())
    sites = _sites(anatomy, body, classes, mid_of(z_mid))
    lateral = [s for s in sites if s.side is not None or s.kind in ("soft", "bone")]
    placed: list[_Placed] = []
    groups: list[tuple[str, list[int]]] = []  # how lesions are reported together
    attempts = 0
    while len(placed) < n_lesions and attempts < 400:
        attempts += 1
        roll = rng.uniform()
        target = float(np.exp(rng.uniform(np.log(2.8), np.log(20.0))))
        if roll < 0.2 and lateral and n_lesions - len(placed) >= 2:  # left/right pair, same SUV
            site = lateral[rng.integers(len(lateral))]
            first = _try_place(rng, site, base, spacing, placed, target, mid_of)
            if first is None or first.side is None:
                continue
            twin_center = _mirror(first.center, mid_of(first.center[2]))
            if not (0 <= twin_center[0] < base.shape[0]) or not body[twin_center]:
                continue
            twin_site = next(
                (s for s in sites if s.kind == site.kind and s.region[twin_center]), None
            )
            if twin_site is None:
                continue
            twin = _try_place(
                rng, twin_site, base, spacing, [*placed, first], first.target, mid_of,
                center=twin_center, radius_mm=float(np.mean(first.radii_mm)),
            )  # fmt: skip
            if twin is None or twin.side is None or twin.side == first.side:
                continue
            twin = _Placed(
                twin.center,
                twin.radii_vox,
                twin.radii_mm,
                first.target,
                twin.side,
                twin.words,
                twin.kind,
            )
            groups.append(("pair", [len(placed), len(placed) + 1]))
            placed += [first, twin]
        elif roll < 0.35 and n_lesions - len(placed) >= 2:  # two lesions on one slice
            site = sites[rng.integers(len(sites))]
            first = _try_place(rng, site, base, spacing, placed, target, mid_of)
            if first is None:
                continue
            z = first.center[2]
            others = [s for s in sites if s.region[:, :, z].any()]
            if not others:
                continue
            other = others[rng.integers(len(others))]
            pts = np.argwhere(other.region[:, :, z])
            c2 = (*(int(v) for v in pts[rng.integers(len(pts))]), z)
            target2 = target * float(rng.choice([0.6, 0.75, 1.35, 1.6]))
            second = _try_place(
                rng, other, base, spacing, [*placed, first], target2, mid_of, center=c2
            )
            if second is None or abs(second.target - first.target) < 0.6:
                continue
            groups.append(("same_slice", [len(placed), len(placed) + 1]))
            placed += [first, second]
        else:
            site = sites[rng.integers(len(sites))]
            one = _try_place(rng, site, base, spacing, placed, target, mid_of)
            if one is None:
                continue
            groups.append(("single", [len(placed)]))
            placed.append(one)
    # a lesion under the labelling floor (reported, not localisable)
    faint = None
    if decoys:
        for _ in range(50):
            site = sites[rng.integers(len(sites))]
            cand = _try_place(rng, site, base, spacing, placed, 2.0, mid_of, radius_mm=8.0)
            if cand is not None and cand.target <= 2.2:
                faint = cand
                break

    all_lesions = [*placed, *([faint] if faint else [])]
    activity = base.copy()
    seg = np.zeros(base.shape, dtype=np.int16)
    sigma = _blur_sigma_vox(spacing)
    for i, les in enumerate(all_lesions, start=1):
        region = _ellipsoid(base.shape, les.center, les.radii_vox)
        seg[region] = i
        # uptake A such that the blurred maximum lands near the target
        unit = ndimage.gaussian_filter(region.astype(np.float32), sigma)
        recovery = float(unit[region].max())
        bg = float(base[region].mean())
        amplitude = max((les.target - bg * (1 - recovery)) / max(recovery, 1e-3), les.target)
        activity[region] = amplitude
    blurred = ndimage.gaussian_filter(activity, sigma)
    noise = ndimage.gaussian_filter(rng.standard_normal(base.shape).astype(np.float32), 0.8)
    noise /= float(noise.std()) or 1.0
    suv = np.clip(blurred * (1.0 + NOISE_CV * noise), 0.0, None).astype(np.float32)
    suv[~body] = 0.0

    lesions: list[PhantomLesion] = []
    for i, les in enumerate(all_lesions, start=1):
        region = seg == i
        grown = ndimage.binary_dilation(region, iterations=1)
        values = np.where(grown, suv, -1.0)
        pos = np.unravel_index(int(np.argmax(values)), suv.shape)
        kind = les.kind
        for gkind, members in groups:
            if i - 1 in members and gkind != "single":
                kind = f"{kind}+{gkind}"
        lesions.append(
            PhantomLesion(
                lesion_id=i,
                center=les.center,
                radii_mm=tuple(round(r, 2) for r in les.radii_mm),  # type: ignore[arg-type]
                suv_max=round(float(suv[pos]), 1),
                side=les.side,
                site=les.words,
                kind=kind,
                z_max=int(pos[2]),
            )
        )

    orientation = file_orientation or str(rng.choice(["RAS", "LPS", "LPI", "RAI"]))
    nz = base.shape[2]
    flipped = orientation.endswith("I")
    numbers = tuple((nz - z if flipped else z + 1) for z in range(nz))
    numbering = SliceNumbering(numbers, f"stored slice order ({orientation}), from 1")
    sentences, truth = _report(
        rng, lesions, groups, faint is not None, numbering, nz, base, anatomy, decoys
    )
    return PhantomExam(
        suv=suv,
        ct=anatomy.ct.astype(np.float32),
        seg=seg,
        organs=anatomy.organs,
        affine=anatomy.affine.copy(),
        numbering=numbering,
        file_orientation=orientation,
        sentences=sentences,
        truth=truth,
        lesions=lesions,
    )


# ---- the report -------------------------------------------------------------------------


def _floor(les: PhantomLesion) -> str | None:
    """A lesion reported on a slice is localisable unless it measures under 2.5."""
    return Reason.MENTION_SUV_LOW.value if les.suv_max < 2.5 else None


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _side_words(les: PhantomLesion) -> str:
    return f"{les.side} {les.site}" if les.side else les.site


# Sentence templates in the phrasings of real reports (DOMAIN.md section 1): {w} the lesion's
# words with its side, {W} capitalised, {n} the slice number, {S} its SUVmax, {P} a prior
# value, {ser} a series number, {lo}-{hi} a slice range, {d1} x {d2} its size in cm.
SINGLE_TEMPLATES: tuple[tuple[str, bool], ...] = (
    ("There is a hypermetabolic {w} noted on slice {n} that measures {d1} x {d2} cm and shows "
     "SUV max of {S}.", False),
    ("{W} (series {ser}, image {n}) with maximum SUV of {S}.", False),
    ("{W}, SUV max {S}, PET/CT axial slice {lo}-{hi}.", False),
    ("{W}, SUVmax {S} ({ser}:{n}).", False),
    ("IM {n}: {w} with SUVmax {S}.", False),
    ("{W} on iamge {n} with SUVnax {S}.", False),
    ("The {w} is now larger, currently SUV max is {S} on slice {n} compared to {P} on the "
     "prior.", True),
    ("{W} SUVmax {S} (image {n}), previously {P}.", True),
    ("Focal uptake in the {w} (SUVmax {S}, image {n}), CT slice location minus {mm}.", False),
)  # fmt: skip
PAIR_TEMPLATES = (
    "A {a} (slice {na}) with SUV max {Sa} and a {b} (slice {nb}) with SUV max {Sb}.",
    "{A} SUVmax {Sa} (image {na}) and {b} SUVmax {Sb} (image {nb}).",
)
SAME_SLICE_TEMPLATES = (
    "Two foci on slice {n}: {a} with SUV max {Sa} and {b} with SUV max {Sb}.",
    "On image {n}, {a} SUVmax {Sa} and {b} SUVmax {Sb}.",
)
LIVER_TEMPLATES = (
    "Reference liver SUVmean {L}.",
    "Liver background SUV mean {L}.",
    "Normal hepatic activity with SUVmean of {L}.",
)
POOL_TEMPLATES = (
    "Mediastinal blood pool SUVmax {B}.",
    "Mild uptake in the thyroid, similar to mediastinal background blood pool activity with an "
    "SUV Max of {B}.",
)


def _pick(rng: np.random.Generator, options):
    return options[int(rng.integers(len(options)))]


def _report(
    rng: np.random.Generator,
    lesions: list[PhantomLesion],
    groups: list[tuple[str, list[int]]],
    has_faint: bool,
    numbering: SliceNumbering,
    nz: int,
    base: np.ndarray,
    anatomy: Anatomy,
    decoys: bool,
) -> tuple[list[str], list[MentionTruth]]:
    sentences: list[str] = []
    truth: list[MentionTruth] = []

    def add(text: str, facts: list[tuple[float, str, int | None, str | None]]) -> None:
        sentences.append(text)
        truth.extend(
            MentionTruth(len(sentences) - 1, v, role, lid, why) for v, role, lid, why in facts
        )

    def number(les: PhantomLesion, jitter: bool = True) -> int:
        z = les.z_max
        if jitter and rng.uniform() < 0.3:
            z = int(np.clip(z + rng.choice([-1, 1]), 0, nz - 1))
        return numbering.number_of(z)

    def lesion_fact(les: PhantomLesion, why: str | None = None):
        return (les.suv_max, "lesion", les.lesion_id, why if why else _floor(les))

    liver = anatomy.organs.mask("liver")
    if decoys and liver.any():
        mean = round(float(base[liver].mean()), 1)
        add(_pick(rng, LIVER_TEMPLATES).format(L=mean),
            [(mean, "reference", None, Reason.MENTION_REFERENCE.value)])  # fmt: skip
    if decoys:
        pool = round(float(rng.uniform(1.5, 2.0)), 1)
        add(_pick(rng, POOL_TEMPLATES).format(B=pool),
            [(pool, "reference", None, Reason.MENTION_REFERENCE.value)])  # fmt: skip
    ser = int(rng.integers(2, 6))
    for gkind, members in groups:
        les = [lesions[i] for i in members]
        if gkind in ("pair", "same_slice"):
            a, b = les
            slots = {"a": _side_words(a), "A": _cap(_side_words(a)), "b": _side_words(b),
                     "Sa": a.suv_max, "Sb": b.suv_max}  # fmt: skip
            if gkind == "pair":
                slots |= {"na": number(a), "nb": number(b)}
                text = _pick(rng, PAIR_TEMPLATES).format(**slots)
            else:
                z = a.z_max if a.z_max == b.z_max else a.center[2]
                text = _pick(rng, SAME_SLICE_TEMPLATES).format(n=numbering.number_of(z), **slots)
            add(text, [lesion_fact(a), lesion_fact(b)])
            continue
        (a,) = les
        n = number(a)
        prior = round(a.suv_max * float(rng.choice([0.5, 0.7, 1.4, 1.8])), 1)
        template, has_prior = _pick(rng, SINGLE_TEMPLATES)
        text = template.format(
            w=_side_words(a), W=_cap(_side_words(a)), n=n, S=a.suv_max, P=prior, ser=ser,
            lo=max(1, n - 1), hi=n + 1, d1=round(2 * max(a.radii_mm) / 10, 1),
            d2=round(2 * min(a.radii_mm) / 10, 1), mm=f"{rng.uniform(300, 900):.2f}",
        )  # fmt: skip
        facts = [lesion_fact(a)]
        if has_prior:
            facts.append((prior, "prior", None, Reason.MENTION_PRIOR.value))
        add(text, facts)
    if decoys:
        real = [le for le in lesions if le.suv_max >= 2.5]
        if real:
            a, b, c = (real[int(rng.integers(len(real)))] for _ in range(3))
            add(f"Redemonstrated {_side_words(a)} with SUV max {a.suv_max}, unchanged in size.",
                [lesion_fact(a, Reason.MENTION_NO_SLICE.value)])  # fmt: skip
            add(f"Coronal image {int(rng.integers(40, 90))} shows the {_side_words(b)} with SUV "
                f"max {b.suv_max}.", [lesion_fact(b, Reason.MENTION_NOT_AXIAL.value)])  # fmt: skip
            outside = max(numbering.numbers) + int(rng.integers(20, 200))
            add(f"Additional {_side_words(c)} on image {outside} with SUVmax {c.suv_max}.",
                [lesion_fact(c, Reason.MENTION_SLICE_OUTSIDE.value)])  # fmt: skip
        if has_faint and lesions[-1].suv_max < 2.5:  # reported only when it reads under 2.5
            f = lesions[-1]
            add(f"Faint {_side_words(f)} (slice {number(f, False)}) with SUV max {f.suv_max}.",
                [lesion_fact(f)])  # fmt: skip
    return sentences, truth
