"""A chest CT phantom the project generates itself: Hounsfield units and a TotalSegmentator
"total" multilabel volume (class ids of the installed package) with lungs and lobes, heart,
aorta (ascending, arch, descending), trachea, esophagus, vena cava, vertebrae, 12 ribs per side,
clavicles, scapulae, sternum, liver, stomach, spleen, kidneys, a patient table to remove, and
optionally one finding drawn into the volume with a report that describes it.

Anatomy is placed in millimetres on the canonical grid (x: patient right -> left, y: anterior
-> posterior, z: feet -> head), so any shape and spacing gives the same patient: the tests'
ground truth for orientation, the demo's CT source, and the projection benchmark's volume
(512 x 512 x 300, about 30 masks). Written as NIfTI (``write_case``) or as a DICOM series with
made-up identifying headers (``write_dicom_series``). Same parameters, same bytes."""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field

from extractors.volume import totalseg_classes, totalseg_ids
from sources.base import Plan, PlanContext, SourceSettings
from sources.ct.projection import CaseSettings, ProjectionConfig, plan_cases, read_cases_csv

KIND = "synthetic_ct"
EXTRACTOR = "sources.synthetic_ct"  # a stable label-method id (published), not a module path
VERSION = "1"
LICENCE = "CC0-1.0"
CASES_CSV = "cases.csv"
_MARKER = ".complete.json"

# (finding key, report sentence(s), structure it lies in)
FINDINGS = (
    ("nodule", "There is a 2 cm nodular opacity in the right lower lobe.", "lung_lower_lobe_right"),
    ("pleural_effusion", "Small left pleural effusion.", "left_lung_base"),
    ("atelectasis", "Right basilar atelectasis.", "right_lung_base"),
    ("cardiomegaly", "The heart is enlarged.", "heart"),
    (
        "opacity",
        "Patchy opacity in the left upper lobe, which may represent pneumonia.",
        "lung_upper_lobe_left",
    ),
)
_NORMAL = "No pneumothorax. The trachea is midline. Osseous structures are intact."


@dataclass(frozen=True)
class Phantom:
    hu: np.ndarray  # int16, canonical orientation
    labels: np.ndarray  # uint8 TotalSegmentator class ids
    spacing: tuple[float, float, float]
    affine: np.ndarray  # RAS world affine of the canonical grid
    report: str
    finding: str | None


class _Canvas:
    """Millimetre coordinates of a grid, and painting of shapes on bounding boxes."""

    def __init__(self, shape, spacing, rng: np.random.Generator | None):
        self.shape = tuple(int(n) for n in shape)
        self.spacing = tuple(float(s) for s in spacing)
        # centre x/y on the grid; z from 0 at the lowest slice
        self.origin = (
            -(self.shape[0] - 1) * self.spacing[0] / 2.0,
            -(self.shape[1] - 1) * self.spacing[1] / 2.0 + 20.0,
            0.0,
        )
        self.hu = np.full(self.shape, -1000, dtype=np.int16)
        self.labels = np.zeros(self.shape, dtype=np.uint8)
        self.rng = rng

    def index(self, axis: int, lo_mm: float, hi_mm: float) -> slice:
        s, o, n = self.spacing[axis], self.origin[axis], self.shape[axis]
        a = int(np.floor((lo_mm - o) / s))
        b = int(np.ceil((hi_mm - o) / s)) + 1
        return slice(max(0, a), min(n, max(0, b)))

    def coords(self, box: tuple[slice, slice, slice]):
        return [
            (np.arange(box[i].start, box[i].stop) * self.spacing[i] + self.origin[i]).reshape(
                [-1 if j == i else 1 for j in range(3)]
            )
            for i in range(3)
        ]

    def region(self, lo, hi):
        box = tuple(self.index(i, lo[i], hi[i]) for i in range(3))
        return box, self.coords(box)  # type: ignore[arg-type]

    def paint(self, box, inside, hu: int | None, label: int | None, only=None):
        if only is not None:
            inside = inside & only(box)
        if hu is not None:
            self.hu[box][inside] = hu
        if label is not None:
            self.labels[box][inside] = label

    def ellipsoid(self, c, r, hu, label=None, only=None):
        box, (x, y, z) = self.region(
            [c[i] - r[i] for i in range(3)], [c[i] + r[i] for i in range(3)]
        )
        inside = ((x - c[0]) / r[0]) ** 2 + ((y - c[1]) / r[1]) ** 2 + ((z - c[2]) / r[2]) ** 2 <= 1
        self.paint(box, inside, hu, label, only)
        return box, inside

    def cylinder_z(self, cx, cy, rx, ry, z0, z1, hu, label=None, only=None):
        box, (x, y, z) = self.region([cx - rx, cy - ry, z0], [cx + rx, cy + ry, z1])
        inside = (((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1) & (z >= z0) & (z <= z1)
        self.paint(box, inside, hu, label, only)

    def tube(self, points: np.ndarray, radius: float, hu: int, label: int | None):
        """A tube of ``radius`` mm along a polyline of points (N x 3, mm)."""
        for a, b in itertools.pairwise(points):
            lo, hi = np.minimum(a, b) - radius, np.maximum(a, b) + radius
            box, (x, y, z) = self.region(lo, hi)
            d = b - a
            length2 = float(d @ d) or 1e-9
            t = np.clip(((x - a[0]) * d[0] + (y - a[1]) * d[1] + (z - a[2]) * d[2]) / length2, 0, 1)
            dist2 = (
                (x - a[0] - t * d[0]) ** 2 + (y - a[1] - t * d[1]) ** 2 + (z - a[2] - t * d[2]) ** 2
            )
            self.paint(box, dist2 <= radius**2, hu, label)

    def box(self, lo, hi, hu, label=None, only=None):
        box, (x, y, z) = self.region(lo, hi)
        inside = (
            (x >= lo[0]) & (x <= hi[0]) & (y >= lo[1]) & (y <= hi[1]) & (z >= lo[2]) & (z <= hi[2])
        )
        self.paint(box, inside, hu, label, only)

    def affine(self) -> np.ndarray:
        """RAS world affine of the canonical (L, P, S) grid: x and y flip sign."""
        a = np.diag([-self.spacing[0], -self.spacing[1], self.spacing[2], 1.0])
        a[:3, 3] = (-self.origin[0], -self.origin[1], self.origin[2])
        return a


def make_phantom(
    shape=(96, 80, 76),
    spacing=(4.0, 4.0, 4.0),
    *,
    seed: int = 0,
    finding: str | None = None,
    noise_hu: float = 8.0,
    table: bool = True,
) -> Phantom:
    """The phantom on a grid of ``shape`` voxels of ``spacing`` mm (covering about 380 x 320
    x 300 mm at the defaults). ``finding``: one key of ``FINDINGS`` drawn in, or None."""
    rng = np.random.default_rng(seed)
    ids = totalseg_ids()
    cv = _Canvas(shape, spacing, rng)
    j = lambda v: float(v + rng.uniform(-4, 4))  # noqa: E731 - a few mm of jitter per case
    enlarged = finding == "cardiomegaly"

    # body (soft tissue) and the patient table behind it
    cv.cylinder_z(0, 0, 165, 115, -50, 400, 30)
    if table:
        cv.box([-220, 135, -50], [220, 150, 400], 250)
    # abdomen under the diaphragm
    liver = ([j(-55), j(5), j(35)], [95, 95, 65])
    cv.ellipsoid(*liver, 60, ids["liver"])
    cv.ellipsoid([j(70), -15, j(45)], [45, 45, 40], 20, ids["stomach"])
    cv.ellipsoid([70, -20, 62], [25, 25, 12], -850, ids["stomach"])  # gastric air bubble
    cv.ellipsoid([j(100), 55, j(45)], [28, 35, 45], 45, ids["spleen"])
    cv.ellipsoid([-70, 65, 0], [28, 22, 45], 35, ids["kidney_right"])
    cv.ellipsoid([75, 65, 10], [28, 22, 45], 35, ids["kidney_left"])
    # lungs: air, minus what lies under the domes and the heart
    heart_c, heart_r = [j(22), j(-30), j(115)], [70 if enlarged else 55, 50, 55]
    in_liver = lambda box: ~_ellipsoid_mask(cv, box, *liver)  # noqa: E731
    for side, cx in (("right", -80.0), ("left", 82.0)):
        c, r = [j(cx), j(5), j(160)], [58, 85, 105]
        box, lung = cv.ellipsoid(c, r, None, None)
        (_x, y, z) = cv.coords(box)
        keep = lung & in_liver(box) & ~_ellipsoid_mask(cv, box, heart_c, [x_ + 8 for x_ in heart_r])
        keep &= z >= (55 if side == "right" else 45)
        if side == "left":
            keep &= ~_ellipsoid_mask(cv, box, [70, -15, 45], [50, 50, 45])
        cv.hu[box][keep] = -850
        if side == "right":
            upper = keep & (z - 0.5 * y > 185)
            middle = keep & ~upper & (z - 0.6 * y > 150) & (y < 15)
            lower = keep & ~upper & ~middle
            parts = (("upper", upper), ("middle", middle), ("lower", lower))
        else:
            upper = keep & (z - 0.6 * y > 165)
            parts = (("upper", upper), ("lower", keep & ~upper))
        for lobe, m in parts:
            cv.labels[box][m] = ids[f"lung_{lobe}_lobe_{side}"]
    # mediastinum: heart, great vessels, airway, esophagus
    cv.ellipsoid(heart_c, heart_r, 40, ids["heart"])
    cv.cylinder_z(-18, -38, 15, 15, 130, 222, 180, ids["aorta"])  # ascending
    arch = np.array(
        [[-18.0, -38.0, 222.0], [-10, -20, 238], [5, 5, 240], [18, 22, 234], [22, 35, 222]]
    )
    cv.tube(arch, 14, 180, ids["aorta"])
    cv.cylinder_z(22, 35, 13, 13, -50, 222, 180, ids["aorta"])  # descending
    cv.cylinder_z(-35, -25, 10, 10, 150, 250, 170, ids["superior_vena_cava"])
    cv.cylinder_z(-30, 10, 12, 12, -50, 75, 160, ids["inferior_vena_cava"])
    cv.cylinder_z(0, -12, 10, 10, 215, 400, 20, ids["trachea"])
    cv.cylinder_z(0, -12, 7, 7, 215, 400, -1000, None)  # tracheal lumen (air)
    cv.tube(np.array([[0, -12, 218.0], [-35, -5, 190]]), 7, -950, ids["trachea"])  # bronchi
    cv.tube(np.array([[0, -12, 218.0], [38, -5, 188]]), 7, -950, ids["trachea"])
    cv.cylinder_z(6, 12, 7, 7, 60, 400, 30, ids["esophagus"])
    # spine: vertebral bodies from the top of the grid down, 26 mm apart
    names = [f"vertebrae_C{i}" for i in (5, 6, 7)] + [f"vertebrae_T{i}" for i in range(1, 13)]
    names += [f"vertebrae_L{i}" for i in range(1, 6)]
    top = 330.0
    for k, name in enumerate(names):
        z1 = top - 26 * k
        cv.cylinder_z(0, 60, 19, 17, z1 - 22, z1, 420, ids[name])
        cv.box([-6, 77, z1 - 20], [6, 95, z1 - 2], 420, ids[name])  # spinous process
    cv.cylinder_z(0, 84, 6, 6, -50, 400, 30, ids["spinal_cord"])
    # ribs: from beside the spine round the chest wall to the front, falling as they go
    for n in range(1, 13):
        z_back = 262.0 - 17.0 * (n - 1)
        sweep = min(0.55 + 0.04 * n, 0.92)
        t = np.linspace(0.0, np.pi * sweep, 24)
        for side, sign in (("right", -1.0), ("left", 1.0)):
            a, b = 150.0 - max(0, 4 - n) * 18, 102.0
            pts = np.stack(
                [
                    sign * (22 + a * np.sin(t)),
                    58 - (58 + b) * (1 - np.cos(t)) / 2,
                    z_back - 45 * t / np.pi,
                ],
                axis=1,
            )
            cv.tube(pts, 5, 650, ids[f"rib_{side}_{n}"])
    cv.box([-14, -108, 170], [14, -96, 278], 450, ids["sternum"])
    for side, sign in (("right", -1.0), ("left", 1.0)):
        clav = np.array([[sign * 16, -98, 282.0], [sign * 70, -92, 290], [sign * 140, -40, 300]])
        cv.tube(clav, 7, 650, ids[f"clavicula_{side}"])
        cv.box(
            [min(sign * 95, sign * 150), 78, 185],
            [max(sign * 95, sign * 150), 92, 285],
            450,
            ids[f"scapula_{side}"],
        )
    # the finding, drawn in
    if finding == "nodule":
        cv.ellipsoid(
            [-95, 40, 100], [10, 10, 10], 30, None, only=_label_is(cv, ids["lung_lower_lobe_right"])
        )
    elif finding == "pleural_effusion":
        cv.box([40, -20, 0], [160, 120, 85], 15, None, only=_hu_below(cv, -500))
    elif finding == "atelectasis":
        cv.box([-140, -40, 0], [-20, 120, 80], -100, None, only=_hu_below(cv, -500))
    elif finding == "opacity":
        cv.ellipsoid(
            [85, -30, 215],
            [25, 25, 20],
            -150,
            None,
            only=_label_is(cv, ids["lung_upper_lobe_left"]),
        )
    if noise_hu > 0:
        noise = rng.normal(0.0, noise_hu, cv.shape).astype(np.float32)
        cv.hu = np.clip(cv.hu + np.rint(noise), -1024, 3071).astype(np.int16)
    sentences = [s for key, s, _ in FINDINGS if key == finding]
    impression = sentences[0] if sentences else "No acute cardiopulmonary abnormality."
    report = f"FINDINGS: {' '.join(sentences)} {_NORMAL}\nIMPRESSION: {impression}".replace(
        "  ", " "
    )
    return Phantom(cv.hu, cv.labels, cv.spacing, cv.affine(), report, finding)


def _ellipsoid_mask(cv: _Canvas, box, c, r):
    (x, y, z) = cv.coords(box)
    return ((x - c[0]) / r[0]) ** 2 + ((y - c[1]) / r[1]) ** 2 + ((z - c[2]) / r[2]) ** 2 <= 1


def _label_is(cv: _Canvas, label: int):
    return lambda box: cv.labels[box] == label


def _hu_below(cv: _Canvas, hu: int):
    return lambda box: cv.hu[box] < hu


# ---- writing -------------------------------------------------------------------------------


def write_nifti(path: Path, data: np.ndarray, affine: np.ndarray) -> Path:
    """A NIfTI file (gzip with a zero timestamp for ``.gz``: same data, same bytes)."""
    import gzip

    import nibabel as nib

    img = nib.Nifti1Image(data, affine)
    img.header["descrip"] = b"medsg synthetic"
    img.set_qform(affine, code=1)
    img.set_sform(affine, code=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    raw = img.to_bytes()
    if path.name.endswith(".gz"):
        with path.open("wb") as f, gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0) as gz:
            gz.write(raw)
    else:
        path.write_bytes(raw)
    return path


def write_case(folder: Path, phantom: Phantom, *, per_class_masks: bool = False) -> dict[str, str]:
    """``ct.nii.gz``, masks (``masks.nii.gz`` multilabel, or ``masks/<class>.nii.gz``) and
    ``report.txt`` in folder; returns the relative paths."""
    folder.mkdir(parents=True, exist_ok=True)
    write_nifti(folder / "ct.nii.gz", phantom.hu, phantom.affine)
    if per_class_masks:
        names = totalseg_classes()
        present = sorted(int(v) for v in np.unique(phantom.labels) if v)
        for cid in present:
            write_nifti(
                folder / "masks" / f"{names[cid]}.nii.gz",
                (phantom.labels == cid).astype(np.uint8),
                phantom.affine,
            )
        masks = "masks"
    else:
        write_nifti(folder / "masks.nii.gz", phantom.labels, phantom.affine)
        masks = "masks.nii.gz"
    (folder / "report.txt").write_text(phantom.report + "\n")
    return {"ct": "ct.nii.gz", "masks": masks, "report": "report.txt"}


def generate_cases(root: Path, *, n_cases: int, seed: int, shape, spacing) -> Path:
    """``n_cases`` phantoms under root with a ``cases.csv`` (idempotent): case i carries
    finding ``FINDINGS[(seed + i) % len]``; every third case is normal."""
    params = {
        "n_cases": n_cases,
        "seed": seed,
        "shape": list(shape),
        "spacing": list(spacing),
        "version": VERSION,
    }
    marker = root / _MARKER
    if marker.is_file() and json.loads(marker.read_text()) == params:
        return root
    rows = []
    for i in range(n_cases):
        finding = None if i % 3 == 2 else FINDINGS[(seed + i) % len(FINDINGS)][0]
        phantom = make_phantom(shape, spacing, seed=seed * 1000 + i, finding=finding)
        case = f"synthct-{seed}-{i:04d}"
        paths = write_case(root / case, phantom, per_class_masks=(i % 2 == 1))
        rows.append(
            [
                case,
                f"synthpatient-{seed}-{i:04d}",
                *(f"{case}/{paths[k]}" for k in ("ct", "masks", "report")),
            ]
        )
    with (root / CASES_CSV).open("w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["case_id", "patient_id", "ct", "masks", "report"])
        w.writerows(rows)
    marker.write_text(json.dumps(params))
    return root


def write_dicom_series(
    folder: Path,
    hu: np.ndarray,
    spacing: tuple[float, float, float],
    *,
    header: dict[str, str] | None = None,
    uid_seed: str = "synthetic-ct",
    transfer_syntax: str | None = None,
    tilt_deg: float = 0.0,
    gantry_shift_mm: float = 0.0,
    skip_slices: tuple[int, ...] = (),
    orientation: str = "axial",
    rescale: tuple[float, float] = (1.0, -1024.0),
    affine: np.ndarray | None = None,
) -> Path:
    """An axial CT series (one file per slice) of a canonical HU volume: pixel (r, c) of
    slice k is hu[c, r, k]. ``header``: made-up identifying values (PatientName, PatientID,
    PatientBirthDate, StudyDate, AccessionNumber, InstitutionName). ``transfer_syntax``:
    a pydicom UID name to compress with (e.g. ``JPEG2000Lossless``, ``RLELossless``).
    Bad-input knobs: ``tilt_deg`` tilts the slice plane, ``gantry_shift_mm`` shifts each
    slice's position along y, ``skip_slices`` leaves slices out, ``orientation="coronal"``
    writes coronal slices. ``affine``: the volume's RAS affine (a ``Phantom.affine``) to place
    the slices where a NIfTI of the same volume lies; default: voxel (0, 0, 0) at the origin."""
    import pydicom
    from pydicom import uid as uids
    from pydicom.dataset import FileDataset, FileMetaDataset

    header = header or {}

    def uid(tag: str) -> str:
        return "2.25." + str(int(hashlib.sha256(f"{uid_seed}/{tag}".encode()).hexdigest()[:30], 16))

    folder.mkdir(parents=True, exist_ok=True)
    slope, intercept = rescale
    if orientation == "coronal":  # slices along y: pixel (r, c) = hu[c, k, n_z - 1 - r]
        stack = [np.ascontiguousarray(hu[:, k, ::-1].T) for k in range(hu.shape[1])]
        row_dir, col_dir = np.array([1.0, 0, 0]), np.array([0, 0, -1.0])
        step = np.array([0, spacing[1], 0])
        ps = (spacing[2], spacing[0])
        origin = np.array([0.0, 0.0, (hu.shape[2] - 1) * spacing[2]])
    else:
        stack = [np.ascontiguousarray(hu[:, :, k].T) for k in range(hu.shape[2])]
        t = np.radians(tilt_deg)
        row_dir = np.array([1.0, 0, 0])
        col_dir = np.array([0, np.cos(t), np.sin(t)])
        step = np.array([0, gantry_shift_mm, spacing[2]])
        ps = (spacing[1], spacing[0])
        origin = np.zeros(3)
        if affine is not None:  # RAS -> LPS position of voxel (0, 0, 0)
            origin = np.array([-affine[0, 3], -affine[1, 3], affine[2, 3]], dtype=np.float64)
    normal = np.cross(row_dir, col_dir)
    for k, pixels in enumerate(stack):
        if k in skip_slices:
            continue
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = uids.CTImageStorage
        meta.MediaStorageSOPInstanceUID = uid(f"sop/{k}")
        meta.TransferSyntaxUID = uids.ExplicitVRLittleEndian
        ds = FileDataset(
            str(folder / f"slice{k:04d}.dcm"), {}, file_meta=meta, preamble=b"\0" * 128
        )
        ds.SOPClassUID = uids.CTImageStorage
        ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
        ds.StudyInstanceUID = uid("study")
        ds.SeriesInstanceUID = uid("series")
        ds.FrameOfReferenceUID = uid("frame")
        ds.Modality = "CT"
        ds.PatientName = header.get("patient_name", "SYNTHETIC^CT")
        ds.PatientID = header.get("patient_id", "SYN-CT-0001")
        ds.PatientBirthDate = header.get("birth_date", "19600101")
        ds.StudyDate = ds.SeriesDate = ds.ContentDate = header.get("study_date", "20200102")
        ds.AccessionNumber = header.get("accession", "SYNACC-CT")
        ds.InstitutionName = header.get("institution", "Synthetic General Hospital")
        ds.InstanceNumber = k + 1
        position = origin + k * step
        ds.ImagePositionPatient = [f"{v:.4f}" for v in position]
        ds.ImageOrientationPatient = [f"{v:.6f}" for v in (*row_dir, *col_dir)]
        ds.SliceLocation = f"{float(position @ normal):.4f}"
        ds.PixelSpacing = [f"{ps[0]:.4f}", f"{ps[1]:.4f}"]
        ds.SliceThickness = f"{spacing[2]:.4f}"
        ds.RescaleSlope, ds.RescaleIntercept = f"{slope:g}", f"{intercept:g}"
        stored = np.clip(np.rint((pixels.astype(np.float64) - intercept) / slope), 0, 65535)
        values = stored.astype(np.uint16)
        ds.Rows, ds.Columns = values.shape
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
        if transfer_syntax:
            ds.compress(getattr(uids, transfer_syntax), values)
        else:
            ds.PixelData = values.tobytes()
        pydicom.dcmwrite(folder / f"slice{k:04d}.dcm", ds, enforce_file_format=True)
    return folder


class Settings(SourceSettings):
    """Chest CT phantoms the project generates, with masks and a report each: the CT
    projection path on any machine."""

    kind: Literal["synthetic_ct"]
    n_cases: int = Field(default=3, ge=1, le=1000)
    seed: int = 0
    shape: tuple[int, int, int] = (96, 80, 76)
    spacing: tuple[float, float, float] = (4.0, 4.0, 4.0)
    licence: str = "CC0-1.0"
    optional: bool = False
    projection: ProjectionConfig = ProjectionConfig()
    anatomy_records: Literal["core", "all", "none"] = "core"


def plan(settings: Settings, ctx: PlanContext) -> Plan:
    """Generate the phantoms into the source's private folder, then plan them as CT cases."""
    root = ctx.generated_dir
    generate_cases(
        root,
        n_cases=settings.n_cases,
        seed=settings.seed,
        shape=settings.shape,
        spacing=settings.spacing,
    )
    csv_path = root / CASES_CSV
    cases, result = read_cases_csv(csv_path, root, settings.dataset)
    result.extend(
        plan_cases(
            cases,
            dataset=settings.dataset,
            licence=settings.licence,
            settings=CaseSettings.of(settings),
            ids=ctx.ids,
            labels_file=str(csv_path),
            extractor=EXTRACTOR,
            kind=KIND,
        )
    )
    return result
