"""A small chest-radiograph-like corpus the project generates itself, with known boxes.

It is written in the real datasets' formats (an NIH-style box list with PNGs, an RSNA-style
label CSV with DICOMs carrying made-up identifying headers) and read back by the real readers,
so the demo and the tests run the whole path on any machine, with or without real data.
Same seed and size, same files, byte for byte.
"""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import Field
from scipy import ndimage

from shards.label_methods import LabelMethod
from shards.licences import CC0
from sources.base import InputFile, Plan, PlanContext, Source, SourceItem, SourceSettings
from sources.imaging import encode_png
from sources.radiograph import nih_cxr14, rsna_pneumonia
from sources.radiograph.csv_labels import CsvSourceSpec, plan_csv_source
from sources.radiograph.process import OrganLabels, process_radiograph

KIND = "synthetic_cxr"
EXTRACTOR = "sources.synthetic_cxr"  # a stable label-method id (published)
VERSION = "2"  # 2: lung label images under anatomy/
LICENCE = "CC0-1.0"
NIH_DIR = "nih_format"
RSNA_DIR = "rsna_format"
NIH_CSV = "BBox_List.csv"
RSNA_CSV = "labels.csv"
ANATOMY_DIR = "anatomy"  # per image: a label PNG, 1 = right lung, 2 = left lung
ANATOMY_LABELS = {1: ("lung_right", "right lung"), 2: ("lung_left", "left lung")}
_MARKER = ".complete.json"

# NIH label spellings used for the generated lesions, and how each is drawn.
_NIH_LESIONS = ("Nodule", "Mass", "Atelectasis", "Effusion")


@dataclass(frozen=True)
class Lesion:
    label: str
    box_xywh: tuple[float, float, float, float]


def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    return yy / size, xx / size


def _ellipse(yy, xx, cy, cx, ry, rx) -> np.ndarray:
    return ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1.0


def phantom(size: int, rng: np.random.Generator) -> tuple[np.ndarray, list[np.ndarray]]:
    """A frontal chest radiograph look-alike in [0, 1] and its two lung masks
    (image left = patient right, radiological convention)."""
    yy, xx = _grid(size)
    img = np.full((size, size), 0.08)
    body = _ellipse(yy, xx, 0.55, 0.5, 0.52, 0.44 + rng.uniform(-0.02, 0.02))
    img[body] = 0.45
    lungs = []
    for cx in (0.32, 0.68):
        lung = _ellipse(
            yy,
            xx,
            0.47 + rng.uniform(-0.02, 0.02),
            cx + rng.uniform(-0.02, 0.02),
            0.27 + rng.uniform(-0.02, 0.02),
            0.14 + rng.uniform(-0.01, 0.01),
        )
        img[lung] = 0.18
        lungs.append(lung)
    heart = _ellipse(yy, xx, 0.62, 0.55, 0.13, 0.15 + rng.uniform(-0.02, 0.03))
    img[heart] = 0.6
    img[(np.abs(xx - 0.5) < 0.035) & body] = 0.75  # spine
    for k in range(8):  # ribs: thin bright arcs over the lungs
        ry = 0.25 + 0.065 * k
        arc = np.abs(yy - (ry + 0.12 * (xx - 0.5) ** 2 * 4)) < 0.008
        img[arc & (lungs[0] | lungs[1])] += 0.12
    img = ndimage.gaussian_filter(img, sigma=size / 256)
    return img, lungs


def _add_lesion(
    img: np.ndarray, label: str, lung: np.ndarray, rng: np.random.Generator
) -> tuple[float, float, float, float]:
    """Draw one lesion inside a lung; returns its tight box (x, y, w, h) in pixels."""
    size = img.shape[0]
    ys, xs = np.nonzero(lung)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    if label == "Effusion":  # fluid at the lung base: bright band over the lowest lung rows
        base = ys.max()
        top = base - rng.uniform(0.06, 0.12) * size
        blob = lung & (yy >= top)
        strength = 0.35
    else:
        radius = {"Nodule": 0.025, "Mass": 0.06, "Atelectasis": 0.045}[label] * size
        i = rng.integers(len(ys))
        cy, cx = float(ys[i]), float(xs[i])
        ry, rx = radius * rng.uniform(0.8, 1.3), radius * rng.uniform(0.8, 1.3)
        blob = (((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1.0) & lung
        strength = {"Nodule": 0.45, "Mass": 0.4, "Atelectasis": 0.25}[label]
        if not blob.any():
            blob = np.zeros_like(lung)
            blob[int(cy), int(cx)] = True
    img[blob] += strength
    rows, cols = np.nonzero(blob)
    x1, y1, x2, y2 = cols.min(), rows.min(), cols.max() + 1, rows.max() + 1
    return (float(x1), float(y1), float(x2 - x1), float(y2 - y1))


def _write_anatomy(path: Path, lungs: list[np.ndarray]) -> None:
    """The lung label image: the first lung is drawn on the image's left, the patient's
    right (radiological convention)."""
    labels = np.zeros(lungs[0].shape, dtype=np.uint8)
    labels[lungs[0]] = 1
    labels[lungs[1]] = 2
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(encode_png(labels))


def _finish(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    noisy = img + rng.normal(0.0, 0.015, img.shape)
    return np.clip(noisy, 0.0, 1.0)


def write_synthetic_dicom(
    path: Path,
    pixels: np.ndarray,
    *,
    patient_name: str,
    patient_id: str,
    birth_date: str,
    study_date: str,
    uid_seed: str,
    view: str = "PA",
    institution: str = "Synthetic General Hospital",
    accession: str = "SYNACC0000",
) -> None:
    """A 12-bit MONOCHROME2 CR DICOM with a VOI window and the given identifying headers."""
    import pydicom
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage

    def uid(tag: str) -> str:
        return "2.25." + str(int(hashlib.sha256(f"{uid_seed}/{tag}".encode()).hexdigest()[:30], 16))

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = uid("sop")
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID = SecondaryCaptureImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = uid("study")
    ds.SeriesInstanceUID = uid("series")
    ds.PatientName = patient_name
    ds.PatientID = patient_id
    ds.PatientBirthDate = birth_date
    ds.StudyDate = ds.SeriesDate = ds.AcquisitionDate = ds.ContentDate = study_date
    ds.StudyTime = "101500"
    ds.AccessionNumber = accession
    ds.InstitutionName = institution
    ds.ReferringPhysicianName = "Synthetic^Referrer"
    ds.Modality = "CR"
    ds.ViewPosition = view
    ds.BodyPartExamined = "CHEST"
    values = np.asarray(pixels, dtype=np.uint16)
    ds.Rows, ds.Columns = values.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.WindowCenter, ds.WindowWidth = 2048, 4096
    ds.PixelData = values.tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    pydicom.dcmwrite(path, ds, enforce_file_format=True)


def generate_corpus(root: Path, *, n_images: int, seed: int, size: int) -> Path:
    """Write the corpus under root (idempotent: unchanged parameters leave files as they are).
    Half the images go to the NIH-style part, half to the RSNA-style part."""
    params = {"n_images": n_images, "seed": seed, "size": size, "version": VERSION}
    marker = root / _MARKER
    if marker.is_file() and json.loads(marker.read_text()) == params:
        return root
    rng = np.random.default_rng(seed)
    n_nih = (n_images + 1) // 2
    nih_rows: list[list[str]] = []
    for i in range(n_nih):
        img, lungs = phantom(size, rng)
        lesions = []
        for _ in range(int(rng.integers(1, 3))):
            label = _NIH_LESIONS[int(rng.integers(len(_NIH_LESIONS)))]
            lung = lungs[int(rng.integers(2))]
            lesions.append(Lesion(label, _add_lesion(img, label, lung, rng)))
        name = f"synth{i:05d}_000.png"
        out = root / NIH_DIR / "images" / name
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(encode_png(np.round(_finish(img, rng) * 255).astype(np.uint8)))
        _write_anatomy(root / NIH_DIR / ANATOMY_DIR / name, lungs)
        nih_rows += [[name, les.label, *(f"{v:.1f}" for v in les.box_xywh)] for les in lesions]
    _write_csv(
        root / NIH_DIR / NIH_CSV,
        ["Image Index", "Finding Label", "Bbox [x", "y", "w", "h]"],
        nih_rows,
    )

    rsna_rows: list[list[str]] = []
    for j in range(n_images - n_nih):
        img, lungs = phantom(size, rng)
        pid = f"synthr-{j:05d}"
        boxes = []
        if j % 2 == 0:  # every other image has pneumonia opacities, one per lung at most
            for lung in lungs[: int(rng.integers(1, 3))]:
                boxes.append(_add_lesion(img, "Atelectasis", lung, rng))
        pixels = np.round(_finish(img, rng) * 4095).astype(np.uint16)
        _write_anatomy(root / RSNA_DIR / ANATOMY_DIR / f"{pid}.png", lungs)
        write_synthetic_dicom(
            root / RSNA_DIR / "images" / f"{pid}.dcm",
            pixels,
            patient_name=f"SYNTHETIC^PATIENT^{j:04d}",
            patient_id=f"SYN-MRN-{seed}-{j:06d}",
            birth_date="19600101",
            study_date="20200102",
            uid_seed=f"{seed}/{j}",
        )
        if boxes:
            rsna_rows += [[pid, *(f"{v:.1f}" for v in b), "1"] for b in boxes]
        else:
            rsna_rows.append([pid, "", "", "", "", "0"])
    _write_csv(
        root / RSNA_DIR / RSNA_CSV, ["patientId", "x", "y", "width", "height", "Target"], rsna_rows
    )
    marker.write_text(json.dumps(params))
    return root


def _write_csv(path: Path, header: list[str], rows: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        writer = csv.writer(f, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)


class Settings(SourceSettings):
    """A corpus the project generates itself (NIH- and RSNA-format files with known boxes)."""

    kind: Literal["synthetic_cxr"]
    n_images: int = Field(default=24, ge=1, le=10_000)
    seed: int = 0
    image_size: int = Field(default=256, ge=64, le=2048)
    licence: str = "CC0-1.0"
    optional: bool = False


def plan(settings: Settings, ctx: PlanContext) -> Plan:
    """Generate the corpus into the source's private folder, then plan it with the real NIH
    and RSNA readers; its labels are exhaustive and each image's lung label image rides along."""
    root = ctx.generated_dir
    generate_corpus(root, n_images=settings.n_images, seed=settings.seed, size=settings.image_size)
    result = Plan()
    for fmt, sub, labels in (
        (nih_cxr14.FORMAT, NIH_DIR, NIH_CSV),
        (rsna_pneumonia.FORMAT, RSNA_DIR, RSNA_CSV),
    ):
        spec = CsvSourceSpec.at(
            fmt,
            dataset=settings.dataset,
            root=root / sub,
            labels_csv=labels,
            images_dir="images",
            licence=settings.licence,
            extractor=EXTRACTOR,
            kind=KIND,
        )
        part = plan_csv_source(spec, ctx.ids)
        part.items = [_with_anatomy(item, root / sub / ANATOMY_DIR) for item in part.items]
        result.extend(part)
    return result


_ORGAN_LABELS = OrganLabels(
    tuple((v, name, phrase) for v, (name, phrase) in ANATOMY_LABELS.items())
)


def _with_anatomy(item: SourceItem, anatomy_dir: Path) -> SourceItem:
    """A generated image: its labels are exhaustive, and its lung label image rides along."""
    labels = anatomy_dir / f"{Path(item.path).stem}.png"
    if not labels.is_file():
        return replace(item, exhaustive=True)
    return replace(
        item,
        exhaustive=True,
        inputs=(*item.inputs, InputFile.of("anatomy_labels", labels)),
        settings=_ORGAN_LABELS,
    )


LABEL_METHOD = LabelMethod(
    "sources.synthetic_cxr",
    "generated",
    "lesions drawn into generated radiographs; the box is the drawn lesion's extent",
    "exact by construction",
)

SOURCE = Source(
    settings=Settings,
    plan=plan,
    process=process_radiograph,
    layout="generated: n_images chest radiograph phantoms in the NIH and RSNA formats",
    licences=(CC0,),
    label_methods=(LABEL_METHOD,),
)
