"""A small chest-radiograph-like corpus the project generates itself, with known boxes.

It is written in the real datasets' formats (an NIH-style box list with PNGs, an RSNA-style
label CSV with DICOMs carrying made-up identifying headers) and read back by the real readers,
so the demo and the tests run the whole path on any machine, with or without real data.
Same seed and size, same files, byte for byte.

Each image is drawn from its own random stream (seeded by the corpus seed, its part and its
index), so any image is drawn without the others. The plan only draws each image's shapes
(lungs, lesion boxes: what the label files say) and writes the label files; each image is
rendered by the processor, in the build's chunks, so generation runs in parallel like any
source's reading. Rendering is cheap by construction (about 15 ms at 1024 px): the smooth
anatomy is drawn and blurred on a 256-pixel grid and enlarged, the lesions are drawn at full
size on their windows, the noise is a table lookup of random bytes, and the files are written
with the fast intermediate PNG encoder.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import struct
from dataclasses import dataclass
from pathlib import Path
from statistics import NormalDist
from typing import Literal

import numpy as np
from pydantic import Field

from shards.label_methods import LabelMethod
from shards.licences import CC0
from sources.base import (
    InputFile,
    Plan,
    PlanContext,
    Source,
    SourceItem,
    SourceSettings,
)
from sources.context import ItemContext, ItemOutput
from sources.imaging import encode_png_fast
from sources.radiograph import nih_cxr14, rsna_pneumonia
from sources.radiograph.csv_labels import CsvSourceSpec, label_rows_by_image
from sources.radiograph.process import OrganLabels, process_radiograph

KIND = "synthetic_cxr"
EXTRACTOR = "sources.synthetic_cxr"  # a stable label-method id (published)
VERSION = "4"  # 2: lung label images under anatomy/; 3: images rendered in the chunks;
# 4: a stream per image, anatomy drawn small and enlarged, noise from bytes
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


@dataclass(frozen=True)
class Window:
    """A boolean mask kept as its bounding window: rows r1.., cols c1.. of the image."""

    r1: int
    c1: int
    mask: np.ndarray

    def nonzero(self) -> tuple[np.ndarray, np.ndarray]:
        rows, cols = np.nonzero(self.mask)  # row-major, as on the full image
        return rows + self.r1, cols + self.c1


def _span(centre: float, radius: float, size: int) -> tuple[int, int]:
    """Pixel rows (or columns) r1..r2 holding every pixel within ``radius`` of ``centre``
    (both in image fractions), with a pixel of margin."""
    return max(0, int(np.floor((centre - radius) * size)) - 1), min(
        size, int(np.ceil((centre + radius) * size)) + 2
    )


def _ellipse_window(size: int, cy: float, cx: float, ry: float, rx: float) -> Window:
    """The ellipse (centre and radii in image fractions) on its window, each pixel tested
    exactly as on the full grid (row / size, col / size)."""
    r1, r2 = _span(cy, ry, size)
    c1, c2 = _span(cx, rx, size)
    yy = (np.arange(r1, r2, dtype=np.float64) / size)[:, None]
    xx = (np.arange(c1, c2, dtype=np.float64) / size)[None, :]
    return Window(r1, c1, ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1.0)


@dataclass(frozen=True)
class Shapes:
    """What one generated image is made of, drawn from its random stream: body, lungs
    (image left = patient right, radiological convention), heart, and its lesions."""

    body_rx: float
    lungs: tuple[Window, Window]
    heart_rx: float
    lesions: tuple[tuple[Lesion, Window, float], ...]  # lesion, its pixels, its brightness


def _nth_pixel(window: Window, counts: np.ndarray, n: int) -> tuple[int, int]:
    """Image (row, col) of the ``n``-th pixel of a window's mask in row-major order (as
    ``np.nonzero`` lists them); ``counts``: the mask's pixels per row."""
    ends = np.cumsum(counts)
    r = int(np.searchsorted(ends, n, side="right"))
    c = int(np.flatnonzero(window.mask[r])[n - (int(ends[r]) - int(counts[r]))])
    return window.r1 + r, window.c1 + c


def _lesion(
    label: str, lung: Window, size: int, rng: np.random.Generator
) -> tuple[Lesion, Window, float]:
    """One lesion inside a lung: its tight box (x, y, w, h) in pixels, its pixels, and how
    much brighter it is."""
    counts = np.count_nonzero(lung.mask, axis=1)  # the lung's pixels per row
    if label == "Effusion":  # fluid at the lung base: bright band over the lowest lung rows
        base = lung.r1 + int(np.flatnonzero(counts)[-1])
        top = base - rng.uniform(0.06, 0.12) * size
        rows = np.arange(lung.r1, lung.r1 + lung.mask.shape[0], dtype=np.float64)[:, None]
        blob = Window(lung.r1, lung.c1, lung.mask & (rows >= top))
        strength = 0.35
    else:
        radius = {"Nodule": 0.025, "Mass": 0.06, "Atelectasis": 0.045}[label] * size
        cy, cx = (float(v) for v in _nth_pixel(lung, counts, int(rng.integers(counts.sum()))))
        ry, rx = radius * rng.uniform(0.8, 1.3), radius * rng.uniform(0.8, 1.3)
        # only the ellipse's bounding window (with a pixel of margin) can hold its pixels
        h, w = lung.mask.shape
        r1, r2 = max(lung.r1, int(np.floor(cy - ry)) - 1), min(lung.r1 + h, int(cy + ry) + 2)
        c1, c2 = max(lung.c1, int(np.floor(cx - rx)) - 1), min(lung.c1 + w, int(cx + rx) + 2)
        yy = np.arange(r1, r2, dtype=np.float64)[:, None]
        xx = np.arange(c1, c2, dtype=np.float64)[None, :]
        inside = ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1.0
        inside &= lung.mask[r1 - lung.r1 : r2 - lung.r1, c1 - lung.c1 : c2 - lung.c1]
        if not inside.any():
            inside = np.zeros((1, 1), dtype=bool)
            inside[0, 0] = True
            blob = Window(int(cy), int(cx), inside)
        else:
            blob = Window(r1, c1, inside)
        strength = {"Nodule": 0.45, "Mass": 0.4, "Atelectasis": 0.25}[label]
    rows, cols = blob.nonzero()
    x1, y1, x2, y2 = cols.min(), rows.min(), cols.max() + 1, rows.max() + 1
    return Lesion(label, (float(x1), float(y1), float(x2 - x1), float(y2 - y1))), blob, strength


def draw_shapes(size: int, rng: np.random.Generator, part: str, index: int) -> Shapes:
    """The shapes of the ``index``-th image of a part (NIH: 1-2 lesions of any label;
    RSNA: opacities in every other image, one per lung at most), taking from ``rng``
    exactly what drawing the image takes before its noise."""
    body_rx = 0.44 + rng.uniform(-0.02, 0.02)
    lungs = []
    for cx in (0.32, 0.68):
        cy = 0.47 + rng.uniform(-0.02, 0.02)
        lx = cx + rng.uniform(-0.02, 0.02)
        ry = 0.27 + rng.uniform(-0.02, 0.02)
        rx = 0.14 + rng.uniform(-0.01, 0.01)
        lungs.append(_ellipse_window(size, cy, lx, ry, rx))
    heart_rx = 0.15 + rng.uniform(-0.02, 0.03)
    lesions = []
    if part == NIH_DIR:
        for _ in range(int(rng.integers(1, 3))):
            label = _NIH_LESIONS[int(rng.integers(len(_NIH_LESIONS)))]
            lung = lungs[int(rng.integers(2))]
            lesions.append(_lesion(label, lung, size, rng))
    elif index % 2 == 0:
        for lung in lungs[: int(rng.integers(1, 3))]:
            lesions.append(_lesion("Atelectasis", lung, size, rng))
    return Shapes(body_rx, (lungs[0], lungs[1]), heart_rx, tuple(lesions))


# Noise: each pixel's value is one random byte through this table, the normal quantiles of the
# 256 equal slices of probability (a normal quantised to 256 levels, within 2.9 standard
# deviations), about ten times faster than drawing normal floats.
_NOISE_SD = 0.015
_NOISE_LEVELS = np.array(
    [_NOISE_SD * NormalDist().inv_cdf((k + 0.5) / 256) for k in range(256)], dtype=np.float32
)
# The smooth anatomy (blurred by size / 256 pixels) is drawn on a grid of about this side and
# enlarged; the lesions (sharp-edged) and the noise are drawn at full size.
_ANATOMY_SIDE = 256


def _anatomy(size: int, shapes: Shapes) -> np.ndarray:
    """Body, lungs, heart, spine and ribs, blurred, at full size (float32): drawn on a grid
    of about ``_ANATOMY_SIDE`` pixels (each pixel tested at its centre in image fractions),
    blurred there and enlarged with linear interpolation."""
    import cv2

    side = size // max(1, size // _ANATOMY_SIDE)
    centres = ((np.arange(side, dtype=np.float64) + 0.5) * (size / side) - 0.5) / size
    yy, xx = centres[:, None], centres[None, :]

    def ellipse(cy: float, cx: float, ry: float, rx: float) -> np.ndarray:
        return ((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1.0

    def window_on_grid(w: Window) -> np.ndarray:  # a full-size mask sampled at the centres
        rows = np.clip(np.round(centres * size).astype(np.int64), 0, size - 1)
        inside_r = (rows >= w.r1) & (rows < w.r1 + w.mask.shape[0])
        inside_c = (rows >= w.c1) & (rows < w.c1 + w.mask.shape[1])
        out = np.zeros((side, side), dtype=bool)
        r, c = rows[inside_r] - w.r1, rows[inside_c] - w.c1
        out[np.ix_(inside_r, inside_c)] = w.mask[np.ix_(r, c)]
        return out

    img = np.full((side, side), 0.08, dtype=np.float32)
    body = ellipse(0.55, 0.5, 0.52, shapes.body_rx)
    img[body] = 0.45
    lungs = [window_on_grid(w) for w in shapes.lungs]
    img[lungs[0] | lungs[1]] = 0.18
    img[ellipse(0.62, 0.55, 0.13, shapes.heart_rx)] = 0.6
    img[(np.abs(xx - 0.5) < 0.035) & body] = 0.75
    # ribs: thin bright arcs over the lungs, the k-th (0..7) at 0.25 + 0.065 k below a bend;
    # they are 0.016 wide, 0.065 apart: a pixel is on the rib nearest to it or on none
    depth = yy - 0.12 * (xx - 0.5) ** 2 * 4
    nearest = np.clip(np.round((depth - 0.25) / 0.065), 0, 7)
    on_rib = np.abs(depth - (0.25 + 0.065 * nearest)) < 0.008
    img[on_rib & (lungs[0] | lungs[1])] += np.float32(0.12)
    sigma = side / 256
    radius = max(1, int(4.0 * sigma + 0.5))  # scipy.ndimage.gaussian_filter's default reach
    img = cv2.GaussianBlur(
        img, (2 * radius + 1, 2 * radius + 1), sigma, borderType=cv2.BORDER_REFLECT
    )
    if side == size:
        return img
    return cv2.resize(img, (size, size), interpolation=cv2.INTER_LINEAR)


def render(size: int, shapes: Shapes, rng: np.random.Generator) -> np.ndarray:
    """The frontal chest radiograph look-alike of ``shapes`` in [0, 1] (float32): the
    blurred anatomy, the lesions added on their windows, then noise from ``rng``."""
    import cv2

    img = _anatomy(size, shapes)
    for _, blob, strength in shapes.lesions:
        h, w = blob.mask.shape
        img[blob.r1 : blob.r1 + h, blob.c1 : blob.c1 + w][blob.mask] += np.float32(strength)
    n = size * size  # a random byte per pixel: the raw 64-bit words, 8 bytes each
    noise = rng.bit_generator.random_raw(-(-n // 8)).view(np.uint8)[:n].reshape(size, size)
    out = cv2.LUT(noise, _NOISE_LEVELS)
    out += img
    return np.clip(out, 0.0, 1.0, out=out)


def _anatomy_png(size: int, lungs: tuple[Window, Window]) -> bytes:
    """The lung label image: the first lung is drawn on the image's left, the patient's
    right (radiological convention). Stored, not compressed: zlib takes about 3 ms to write
    and 3 ms to read 1024 x 1024 labels, as much as the build spends on the rest of them
    (the file is 1 MB instead of 5 kB; the images beside it are stored too)."""
    labels = np.zeros((size, size), dtype=np.uint8)
    for value, w in enumerate(lungs, start=1):
        h, wd = w.mask.shape
        labels[w.r1 : w.r1 + h, w.c1 : w.c1 + wd][w.mask] = value
    return encode_png_fast(labels, compress=False)


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
    """A 12-bit MONOCHROME2 CR DICOM with a VOI window and the given identifying headers
    (ASCII). Its bytes are written directly: what ``pydicom.dcmwrite(enforce_file_format=
    True)`` writes for this dataset (explicit VR little endian, pydicom's implementation UID
    and version name in the meta header), in a fifth of pydicom's time, which was a tenth of
    generating an image (``tests/sources/test_imaging.py`` compares the bytes)."""
    import pydicom
    from pydicom.uid import PYDICOM_IMPLEMENTATION_UID

    def uid(tag: str) -> str:
        return "2.25." + str(int(hashlib.sha256(f"{uid_seed}/{tag}".encode()).hexdigest()[:30], 16))

    values = np.ascontiguousarray(pixels, dtype="<u2")
    rows, columns = values.shape
    sop = uid("sop")
    meta = _dicom_elements(
        [
            (0x0002, 0x0001, "OB", b"\x00\x01"),
            (0x0002, 0x0002, "UI", _SECONDARY_CAPTURE),
            (0x0002, 0x0003, "UI", sop),
            (0x0002, 0x0010, "UI", _EXPLICIT_VR_LITTLE_ENDIAN),
            (0x0002, 0x0012, "UI", PYDICOM_IMPLEMENTATION_UID),
            (0x0002, 0x0013, "SH", f"PYDICOM {'.'.join(pydicom.__version_info__)}"),
        ]
    )
    body = _dicom_elements(
        [
            (0x0008, 0x0016, "UI", _SECONDARY_CAPTURE),
            (0x0008, 0x0018, "UI", sop),
            *((0x0008, element, "DA", study_date) for element in (0x20, 0x21, 0x22, 0x23)),
            (0x0008, 0x0030, "TM", "101500"),
            (0x0008, 0x0050, "SH", accession),
            (0x0008, 0x0060, "CS", "CR"),
            (0x0008, 0x0080, "LO", institution),
            (0x0008, 0x0090, "PN", "Synthetic^Referrer"),
            (0x0010, 0x0010, "PN", patient_name),
            (0x0010, 0x0020, "LO", patient_id),
            (0x0010, 0x0030, "DA", birth_date),
            (0x0018, 0x0015, "CS", "CHEST"),
            (0x0018, 0x5101, "CS", view),
            (0x0020, 0x000D, "UI", uid("study")),
            (0x0020, 0x000E, "UI", uid("series")),
            (0x0028, 0x0002, "US", 1),
            (0x0028, 0x0004, "CS", "MONOCHROME2"),
            (0x0028, 0x0010, "US", rows),
            (0x0028, 0x0011, "US", columns),
            *((0x0028, element, "US", v) for element, v in _BITS),
            (0x0028, 0x1050, "DS", "2048.0"),  # window centre and width, as pydicom's DS
            (0x0028, 0x1051, "DS", "4096.0"),
        ]
    )
    group_length = _dicom_elements([(0x0002, 0x0000, "UL", len(meta))])
    pixel_header = struct.pack("<HH2sHI", 0x7FE0, 0x0010, b"OW", 0, values.nbytes)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as f:
        f.write(b"".join((b"\0" * 128, b"DICM", group_length, meta, body, pixel_header)))
        f.write(memoryview(values).cast("B"))


_SECONDARY_CAPTURE = "1.2.840.10008.5.1.4.1.1.7"  # SOP class
_EXPLICIT_VR_LITTLE_ENDIAN = "1.2.840.10008.1.2.1"  # transfer syntax
# (0028,0100..0103): bits allocated, stored, high bit, pixel representation (unsigned)
_BITS = ((0x0100, 16), (0x0101, 12), (0x0102, 11), (0x0103, 0))
_LONG_VRS = frozenset({"OB", "OW", "OF", "SQ", "UT", "UN"})  # 4-byte length after 2 zeros


def _dicom_elements(elements: list[tuple[int, int, str, str | int | bytes]]) -> bytes:
    """Data elements in explicit VR little endian, in the order given (ascending tags): text
    padded to even length with a space, UIDs with a NUL; US and UL as numbers."""
    out = []
    for group, element, vr, value in elements:
        if vr == "US":
            data = struct.pack("<H", value)
        elif vr == "UL":
            data = struct.pack("<I", value)
        elif isinstance(value, bytes):
            data = value
        else:
            data = str(value).encode("ascii")
            if len(data) % 2:
                data += b"\0" if vr == "UI" else b" "
        if vr in _LONG_VRS:
            out.append(struct.pack("<HH2sHI", group, element, vr.encode(), 0, len(data)))
        else:
            out.append(struct.pack("<HH2sH", group, element, vr.encode(), len(data)))
        out.append(data)
    return b"".join(out)


@dataclass(frozen=True)
class Planned:
    """One image of the corpus as the plan knows it: its part and index, file name and
    lesions."""

    part: str
    index: int
    name: str
    lesions: tuple[Lesion, ...]


def image_rng(seed: int, part: str, index: int) -> np.random.Generator:
    """The random stream of one image (its shapes, then its noise), from the corpus seed,
    its part and its index alone: any image is drawn without drawing the others."""
    digest = hashlib.sha256(f"{KIND}/{seed}/{part}/{index}".encode()).hexdigest()
    return np.random.default_rng(int(digest[:16], 16))


def image_name(part: str, index: int) -> str:
    return f"synth{index:05d}_000.png" if part == NIH_DIR else f"synthr-{index:05d}"


def plan_corpus(n_images: int, seed: int, size: int) -> list[Planned]:
    """Every image's shapes (half the images in the NIH-style part, half in the RSNA-style
    part), each from its own stream."""
    n_nih = (n_images + 1) // 2
    planned = []
    for k in range(n_images):
        part, index = (NIH_DIR, k) if k < n_nih else (RSNA_DIR, k - n_nih)
        shapes = draw_shapes(size, image_rng(seed, part, index), part, index)
        lesions = tuple(lesion for lesion, _blob, _strength in shapes.lesions)
        planned.append(Planned(part, index, image_name(part, index), lesions))
    return planned


def _write_labels(root: Path, planned: list[Planned]) -> None:
    """The NIH-style box list and the RSNA-style label file of the corpus."""
    nih_rows: list[list[str]] = []
    rsna_rows: list[list[str]] = []
    for p in planned:
        boxes = [[f"{v:.1f}" for v in les.box_xywh] for les in p.lesions]
        if p.part == NIH_DIR:
            nih_rows += [[p.name, les.label, *b] for les, b in zip(p.lesions, boxes, strict=True)]
        elif boxes:
            rsna_rows += [[p.name, *b, "1"] for b in boxes]
        else:
            rsna_rows.append([p.name, "", "", "", "", "0"])
    _write_csv(
        root / NIH_DIR / NIH_CSV,
        ["Image Index", "Finding Label", "Bbox [x", "y", "w", "h]"],
        nih_rows,
    )
    _write_csv(
        root / RSNA_DIR / RSNA_CSV, ["patientId", "x", "y", "width", "height", "Target"], rsna_rows
    )


def _write_atomic(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    write(tmp)
    os.replace(tmp, path)


def render_item(root: Path, part: str, index: int, seed: int, size: int) -> None:
    """Draw one image from its own stream and write it in its part's format (NIH: 8-bit
    PNG; RSNA: 12-bit DICOM with made-up identifying headers), with its lung label image."""
    import cv2

    rng = image_rng(seed, part, index)
    shapes = draw_shapes(size, rng, part, index)
    img = render(size, shapes, rng)
    if part == NIH_DIR:
        name = image_name(part, index)
        png = encode_png_fast(cv2.convertScaleAbs(img, alpha=255.0), compress=False)  # rounded
        _write_atomic(root / NIH_DIR / "images" / name, lambda p: p.write_bytes(png))
    else:
        name = image_name(part, index)
        img *= np.float32(4095)
        pixels = np.rint(img, out=img).astype(np.uint16)  # 12-bit values, rounded
        _write_atomic(
            root / RSNA_DIR / "images" / f"{name}.dcm",
            lambda p: write_synthetic_dicom(
                p,
                pixels,
                patient_name=f"SYNTHETIC^PATIENT^{index:04d}",
                patient_id=f"SYN-MRN-{seed}-{index:06d}",
                birth_date="19600101",
                study_date="20200102",
                uid_seed=f"{seed}/{index}",
            ),
        )
    labels = _anatomy_png(size, shapes.lungs)
    _write_atomic(
        root / part / ANATOMY_DIR / f"{Path(name).stem}.png", lambda p: p.write_bytes(labels)
    )


def _prepare(root: Path, n_images: int, seed: int, size: int) -> list[Planned]:
    """The corpus's plan, with its label files written; files of other parameters are
    removed first (images are rendered later, where missing)."""
    params = {"n_images": n_images, "seed": seed, "size": size, "version": VERSION}
    planned = plan_corpus(n_images, seed, size)
    marker = root / _MARKER
    if not (marker.is_file() and json.loads(marker.read_text()) == params):
        if root.exists():
            shutil.rmtree(root)
        _write_labels(root, planned)
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(json.dumps(params))
    return planned


def generate_corpus(root: Path, *, n_images: int, seed: int, size: int) -> Path:
    """Write the whole corpus under root, label files and images (idempotent: unchanged
    parameters leave files as they are)."""
    for p in _prepare(root, n_images, seed, size):
        stem = Path(p.name).stem
        if not (root / p.part / ANATOMY_DIR / f"{stem}.png").is_file():
            render_item(root, p.part, p.index, seed, size)
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


_ORGAN_LABELS = OrganLabels(
    tuple((v, name, phrase) for v, (name, phrase) in ANATOMY_LABELS.items())
)


@dataclass(frozen=True)
class Generated:
    """Settings of a generated item: what rendering its image needs, and the names of its
    lung label image's values."""

    organ_labels: OrganLabels
    root: str
    part: str
    index: int
    seed: int
    size: int


def plan(settings: Settings, ctx: PlanContext) -> Plan:
    """Draw the corpus's shapes and write its label files into the source's private folder,
    then plan the label files with the real NIH and RSNA row readers; each item renders
    its own image when processed. The labels are exhaustive and each image's lung label
    image rides along."""
    root = ctx.generated_dir
    size = settings.image_size
    planned = {(p.part, p.name): p for p in _prepare(root, settings.n_images, settings.seed, size)}
    result = Plan()
    for fmt, part, labels in (
        (nih_cxr14.FORMAT, NIH_DIR, NIH_CSV),
        (rsna_pneumonia.FORMAT, RSNA_DIR, RSNA_CSV),
    ):
        spec = CsvSourceSpec.at(
            fmt,
            dataset=settings.dataset,
            root=root / part,
            labels_csv=labels,
            images_dir="images",
            licence=settings.licence,
            extractor=EXTRACTOR,
            kind=KIND,
        )
        by_image, patient_of = label_rows_by_image(spec, ctx.ids, result)
        for image_id, rows in sorted(by_image.items()):
            patient_key = patient_of[image_id]
            p = planned[(part, image_id)]
            stem = Path(fmt.file_name(image_id)).stem
            result.items.append(
                SourceItem(
                    dataset=spec.dataset,
                    kind=KIND,
                    reader=fmt.reader,
                    item_id=image_id,
                    patient_key=patient_key,
                    path=str(spec.images_dir / fmt.file_name(image_id)),
                    labels_file=str(spec.labels_csv),
                    rows=tuple(rows),
                    licence=spec.licence,
                    extractor=EXTRACTOR,
                    extractor_version=fmt.extractor_version,
                    modality=fmt.modality,
                    exhaustive=True,
                    inputs=(
                        InputFile("anatomy_labels", str(root / part / ANATOMY_DIR / f"{stem}.png")),
                    ),
                    settings=Generated(
                        _ORGAN_LABELS, str(root), part, p.index, settings.seed, size
                    ),
                )
            )
    return result


def process(item: SourceItem, ctx: ItemContext) -> ItemOutput:
    """Render the item's image where it is not on disk yet, then read it back with its
    format's loader like any radiograph."""
    g = item.settings
    if isinstance(g, Generated) and not Path(item.inputs[0].path).is_file():
        render_item(Path(g.root), g.part, g.index, g.seed, g.size)
    return process_radiograph(item, ctx)


LABEL_METHOD = LabelMethod(
    "sources.synthetic_cxr",
    "generated",
    "lesions drawn into generated radiographs; the box is the drawn lesion's extent",
    "exact by construction",
)

SOURCE = Source(
    settings=Settings,
    plan=plan,
    process=process,
    layout="generated: n_images chest radiograph phantoms in the NIH and RSNA formats",
    licences=(CC0,),
    label_methods=(LABEL_METHOD,),
)
