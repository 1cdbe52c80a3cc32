"""Decode source images (PNG, JPEG, DICOM) to 8-bit pixels and encode the published PNG.

Every loader returns grayscale ``(h, w)`` by default and RGB ``(h, w, 3)`` when asked for
colour (``colour=True``; which modalities ask is ``schemas.modality.keeps_colour``): a grey
file asked for colour stays grey. Colour DICOM: RGB as stored, YBR_* converted to RGB by
pydicom, PALETTE COLOR through its lookup table (``apply_color_lut``).

Only pixel-describing DICOM attributes are read (photometric interpretation, rescale, window,
view position mapped to a fixed vocabulary); no other header value is ever returned. The
published PNG is re-encoded from pixels, so no metadata chunk of a source file survives.
"""

from __future__ import annotations

import hashlib
import warnings
from pathlib import Path

import numpy as np
from PIL import Image

from schemas.enums import Reason
from schemas.validate import PNG_SIGNATURE
from sources.base import ItemError, LoadedImage

_VIEWS = {"PA": "PA", "AP": "AP", "LL": "LATERAL", "RL": "LATERAL", "LATERAL": "LATERAL"}
# The default pixel budget of one source image (width x height x frames), checked from the
# header before any pixel is decoded (config ``image_max_pixels``): 50 megapixels is over
# twice the largest radiograph detectors (43 x 43 cm at 0.1 mm).
DEFAULT_MAX_PIXELS = 50_000_000


def _check_budget(name: str, width: int, height: int, frames: int, bits: int, max_pixels: int):
    pixels = width * height * max(frames, 1)
    if pixels > max_pixels:
        raise ItemError(
            Reason.IMAGE_TOO_LARGE,
            f"{name}: {width} x {height} x {frames} frame(s) at {bits} bits = {pixels} pixels, "
            f"over the budget of {max_pixels} (image_max_pixels): not decoded",
        )


def to_uint8(pixels: np.ndarray) -> np.ndarray:
    """Linearly map an array's full range onto 0..255 (a constant image maps to 0)."""
    arr = np.asarray(pixels, dtype=np.float64)
    lo, hi = float(arr.min()), float(arr.max())
    if hi <= lo:
        return np.zeros(arr.shape, dtype=np.uint8)
    return np.round((arr - lo) * (255.0 / (hi - lo))).astype(np.uint8)


def load_png(
    path: str | Path,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    burned_in_clean: bool = False,
    colour: bool = False,
) -> LoadedImage:
    """A PNG as 8-bit grayscale (or RGB when ``colour`` and the file is colour); its size is
    checked against the pixel budget before it is decoded, and a file of another format
    named .png is not read."""
    return _load_pillow(path, ("PNG",), max_pixels=max_pixels, colour=colour)


def load_jpeg(
    path: str | Path,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    burned_in_clean: bool = False,
    colour: bool = False,
) -> LoadedImage:
    """A JPEG as 8-bit grayscale (or RGB when ``colour`` and the file is colour)."""
    return _load_pillow(path, ("JPEG", "MPO"), max_pixels=max_pixels, colour=colour)


def load_image(
    path: str | Path,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    burned_in_clean: bool = False,
    colour: bool = False,
) -> LoadedImage:
    """A PNG or JPEG, told apart by its content (not its name)."""
    return _load_pillow(path, ("PNG", "JPEG", "MPO"), max_pixels=max_pixels, colour=colour)


def is_colour_mode(mode: str) -> bool:
    """Whether a Pillow mode carries colour (RGB, RGBA, palette, CMYK, YCbCr...)."""
    return mode not in ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F")


def _load_pillow(
    path: str | Path, formats: tuple[str, ...], *, max_pixels: int, colour: bool
) -> LoadedImage:
    name = Path(path).name
    try:
        with Image.open(path) as img:
            if img.format not in formats:
                raise ItemError(
                    Reason.UNSUPPORTED_IMAGE,
                    f"{name}: a {img.format} file, not a {' or '.join(formats)}: not read",
                )
            bits = 16 if img.mode.startswith("I") else 8 * len(img.getbands())
            _check_budget(name, img.width, img.height, 1, bits, max_pixels)
            img.load()
            mode = img.mode
            if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
                pixels = to_uint8(np.asarray(img))
            elif colour and is_colour_mode(mode):
                pixels = np.asarray(img.convert("RGB"), dtype=np.uint8)
            else:
                pixels = np.asarray(img.convert("L"), dtype=np.uint8)
    except FileNotFoundError:
        raise ItemError(Reason.FILE_MISSING, f"{name}: file not found") from None
    except ItemError:
        raise
    except Image.DecompressionBombError as exc:
        raise ItemError(Reason.IMAGE_TOO_LARGE, f"{name}: {exc}: not decoded") from None
    except Exception as exc:  # Pillow raises OSError, SyntaxError, ValueError... for bad files
        raise ItemError(Reason.IMAGE_DECODE_ERROR, f"{name}: does not decode: {exc}") from None
    if pixels.ndim not in (2, 3) or min(pixels.shape[:2]) < 1:
        raise ItemError(Reason.UNSUPPORTED_IMAGE, f"{name}: not a 2D image ({pixels.shape})")
    return LoadedImage(pixels=np.ascontiguousarray(pixels))


def load_dicom(
    path: str | Path,
    *,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    burned_in_clean: bool = False,
    colour: bool = False,
) -> LoadedImage:
    """A single-frame 2D DICOM image as 8-bit grayscale, rendered with its modality LUT and
    VOI LUT or window when present (else a robust range), MONOCHROME1 inverted; a colour
    image (RGB, YBR_*, PALETTE COLOR) as RGB when ``colour``, else its luminance. The header
    is read first: an image marked ``BurnedInAnnotation = YES`` is not read (unless the source says
    its dataset is known to be clean), nor one over the pixel budget."""
    import pydicom
    from pydicom.errors import InvalidDicomError
    from pydicom.pixels import apply_modality_lut, apply_voi_lut

    name = Path(path).name
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            header = pydicom.dcmread(path, stop_before_pixels=True)
            burned = str(header.get("BurnedInAnnotation", "") or "").strip().upper()
            if burned == "YES" and not burned_in_clean:
                raise ItemError(
                    Reason.BURNED_IN_ANNOTATION,
                    f"{name}: BurnedInAnnotation is YES (text on the pixels may identify the "
                    "patient): not published; set burned_in_annotation_clean on the source "
                    "if the dataset is known to be clean",
                )
            _check_budget(
                name,
                int(header.get("Columns", 0) or 0),
                int(header.get("Rows", 0) or 0),
                int(header.get("NumberOfFrames", 1) or 1),
                int(header.get("BitsAllocated", 0) or 0),
                max_pixels,
            )
            ds = pydicom.dcmread(path)
            _ = ds.get("PixelData")  # forces the pixel element to be read
    except FileNotFoundError:
        raise ItemError(Reason.FILE_MISSING, f"{name}: file not found") from None
    except ItemError:
        raise
    except (InvalidDicomError, EOFError, OSError, ValueError, KeyError, TypeError) as exc:
        raise ItemError(
            Reason.DICOM_READ_ERROR, f"{name}: not a readable DICOM file: {exc}"
        ) from None
    if "PixelData" not in ds:
        raise ItemError(Reason.DICOM_PIXEL_ERROR, f"{name}: DICOM without pixel data")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            raw = ds.pixel_array
    except Exception as exc:  # pixel decoders raise many types (truncated, codec missing)
        raise ItemError(
            Reason.DICOM_PIXEL_ERROR, f"{name}: pixel data does not decode: {exc}"
        ) from None
    samples = int(ds.get("SamplesPerPixel", 1) or 1)
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    if frames != 1 or raw.ndim not in (2, 3) or (raw.ndim == 3 and samples == 1):
        raise ItemError(
            Reason.UNSUPPORTED_IMAGE, f"{name}: {frames} frame(s), shape {raw.shape}: not 2D"
        )
    photometric = str(ds.get("PhotometricInterpretation", "")).strip().upper()
    if samples == 3 or photometric == "PALETTE COLOR":
        rgb = _render_colour(ds, raw, photometric, name)
        pixels = rgb if colour else np.asarray(Image.fromarray(rgb).convert("L"), dtype=np.uint8)
    else:
        pixels = _render_grayscale(ds, raw, apply_modality_lut, apply_voi_lut)
    view = _VIEWS.get(str(ds.get("ViewPosition", "") or "").strip().upper())
    return LoadedImage(pixels=np.ascontiguousarray(pixels), view=view)


# Without a VOI window or LUT, stored values are mapped to 8 bits over this percentile range
# rather than min..max: a few extreme pixels (collimator blades, dead detector pixels, burned
# in markers, padding at 0 or 65535) would otherwise set the range and squeeze the lungs into
# a handful of grey levels. At most 0.5 % of pixels at each end are clipped: the lungs cover
# a large part of a chest radiograph, so they are never among them.
ROBUST_PERCENTILES = (0.5, 99.5)


def _render_grayscale(ds, raw: np.ndarray, modality_lut, voi_lut) -> np.ndarray:
    """Stored values as displayed 8-bit grey: modality LUT (rescale), then the first VOI LUT
    (``VOILUTSequence``, preferred as DICOM PS3.3 C.11.2 allows) or window (``WindowCenter``
    / ``WindowWidth`` with ``VOILUTFunction``), each mapped from its own output range, not the
    image's; else the robust range above. MONOCHROME1 (bright = low values) is inverted last,
    so lungs are dark and bone bright in either interpretation."""
    monochrome1 = str(ds.get("PhotometricInterpretation", "")).upper() == "MONOCHROME1"
    has_lut = bool(ds.get("VOILUTSequence"))
    has_window = "WindowCenter" in ds and "WindowWidth" in ds
    if raw.dtype == np.uint8 and not (has_lut or has_window) and "RescaleSlope" not in ds:
        pixels = raw  # already 8-bit display values (e.g. RSNA's JPEG baseline images)
    else:
        pixels = None
        if (has_lut or has_window) and raw.dtype.kind in "ui" and raw.dtype.itemsize <= 2:
            pixels = _render_by_table(ds, raw, modality_lut, voi_lut, has_lut, has_window)
        if pixels is None:
            values = np.asarray(modality_lut(raw, ds), dtype=np.float64)
            unit = _voi_or_window(ds, values, voi_lut, has_lut, has_window)
            if unit is None:
                unit = _robust_range(values)
            pixels = _unit_to_uint8(unit)
    return (255 - pixels) if monochrome1 else pixels


def _voi_or_window(ds, values: np.ndarray, voi_lut, has_lut: bool, has_window: bool):
    """Modality values as 0..1 through the first VOI LUT, else the window; None if neither
    applies (each is computed value by value)."""
    unit = _voi_lut(ds, values, voi_lut) if has_lut else None
    if unit is None and has_window:
        unit = _window(ds, values)
    return unit


def _unit_to_uint8(unit: np.ndarray) -> np.ndarray:
    return np.round(np.clip(unit, 0.0, 1.0) * 255.0).astype(np.uint8)


def _render_by_table(
    ds, raw: np.ndarray, modality_lut, voi_lut, has_lut: bool, has_window: bool
) -> np.ndarray | None:
    """The display pixels of 8- or 16-bit stored values through a table: the modality LUT
    and the VOI LUT or window (value-by-value maps) are computed once per distinct stored
    value in the image, so each pixel gets exactly the value computing it alone gives; None
    when neither the VOI LUT nor the window applies (the robust range needs every pixel)."""
    import cv2

    # stored bit patterns; their histogram by OpenCV over 0..max (whole-number bins of width
    # 1: exact), a third of np.bincount's time
    bits = np.ascontiguousarray(raw).view(np.uint8 if raw.dtype.itemsize == 1 else np.uint16)
    top = int(bits.max()) + 1
    present = np.flatnonzero(cv2.calcHist([bits], [0], None, [top], [0, top]).ravel())
    stored = present.astype(bits.dtype).view(raw.dtype)  # the distinct stored values
    values = np.asarray(modality_lut(stored, ds), dtype=np.float64)
    unit = _voi_or_window(ds, values, voi_lut, has_lut, has_window)
    if unit is None:
        return None
    table = np.zeros(1 << (8 * raw.dtype.itemsize), dtype=np.uint8)
    table[present] = _unit_to_uint8(unit)
    return np.take(table, bits)  # table[bits], in half the time


def _voi_lut(ds, values: np.ndarray, voi_lut) -> np.ndarray | None:
    """The first VOI LUT applied, as 0..1 of the LUT's own output range (read from the LUT
    over its input range: some files declare 16 output bits and hold 12); None when the LUT
    is unusable."""
    try:
        first = int(ds.VOILUTSequence[0].LUTDescriptor[1])
        entries = int(ds.VOILUTSequence[0].LUTDescriptor[0]) or 65536
        ramp = np.arange(first, first + entries, dtype=np.int64)
        span = np.asarray(voi_lut(ramp, ds, index=0, prefer_lut=True), dtype=np.float64)
        indices = np.round(values).astype(np.int64)  # a LUT is indexed by whole values
        out = np.asarray(voi_lut(indices, ds, index=0, prefer_lut=True), dtype=np.float64)
    except Exception:  # a malformed LUT: fall back to the window or the robust range
        return None
    lo, hi = float(span.min()), float(span.max())
    return (out - lo) / (hi - lo) if hi > lo else None


def _first(value) -> float:
    """The first of a possibly multi-valued number (``WindowCenter`` may hold several)."""
    from pydicom.multival import MultiValue

    if isinstance(value, MultiValue | list | tuple):
        value = value[0]
    return float(value)


def _window(ds, values: np.ndarray) -> np.ndarray | None:
    """The first window as 0..1 (DICOM PS3.3 C.11.2.1.2: LINEAR, LINEAR_EXACT, SIGMOID);
    None for a window of no width."""
    try:
        center, width = _first(ds.WindowCenter), _first(ds.WindowWidth)
    except (TypeError, ValueError, IndexError):
        return None
    function = str(ds.get("VOILUTFunction", "LINEAR") or "LINEAR").strip().upper()
    if function == "SIGMOID" and width > 0:
        return 1.0 / (1.0 + np.exp(-4.0 * (values - center) / width))
    if function == "LINEAR_EXACT" and width > 0:
        return (values - center) / width + 0.5
    if width < 1:
        return None
    if width == 1:
        return (values > center - 0.5).astype(np.float64)
    return (values - (center - 0.5)) / (width - 1) + 0.5


def _robust_range(values: np.ndarray) -> np.ndarray:
    """Values as 0..1 of their ``ROBUST_PERCENTILES`` range (min..max if that is flat)."""
    lo, hi = (float(v) for v in np.percentile(values, ROBUST_PERCENTILES))
    if hi <= lo:
        lo, hi = float(values.min()), float(values.max())
    if hi <= lo:
        return np.zeros(values.shape)
    return (values - lo) / (hi - lo)


def _render_colour(ds, raw: np.ndarray, photometric: str, name: str) -> np.ndarray:
    """RGB uint8 of a colour DICOM image. pydicom's ``pixel_array`` already returns YBR_*
    pixels converted to RGB (its ``as_rgb`` default); a palette image goes through its
    lookup table, whose entries (8 or 16 bits, the descriptor's third value) scale to 8."""
    from pydicom.pixels import apply_color_lut

    if photometric == "PALETTE COLOR":
        try:
            rgb = apply_color_lut(raw, ds)
        except Exception as exc:  # a missing or malformed palette
            raise ItemError(
                Reason.DICOM_PIXEL_ERROR, f"{name}: palette colour lookup fails: {exc}"
            ) from None
        bits = int(ds.RedPaletteColorLookupTableDescriptor[2])
        return _scale_to_uint8(rgb, bits)
    if raw.dtype == np.uint8:
        return raw
    return _scale_to_uint8(raw, int(ds.get("BitsStored", 8) or 8))


def _scale_to_uint8(values: np.ndarray, bits: int) -> np.ndarray:
    if bits <= 8:
        return values.astype(np.uint8)
    top = float((1 << bits) - 1)
    return np.round(values.astype(np.float64) * (255.0 / top)).astype(np.uint8)


LOADERS = {"png": load_png, "jpeg": load_jpeg, "image": load_image, "dicom": load_dicom}


def resize_max_side(pixels: np.ndarray, max_side: int | None) -> np.ndarray:
    """Downscale so the longer side is at most max_side (aspect kept); never upscale.
    Grey (h, w) or colour (h, w, 3) pixels."""
    h, w = pixels.shape[:2]
    if not max_side or max(h, w) <= max_side:
        return pixels
    scale = max_side / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    return np.asarray(Image.fromarray(pixels).resize(size, Image.Resampling.LANCZOS))


# How published PNGs are compressed (lossless either way): zlib level and strategy, written
# by OpenCV's libpng. Run-length matching (Z_RLE) after PNG's per-row filters suits
# radiographs: on NIH, RSNA and CheXpert images at 1024 px it writes files 5-11 % smaller than
# zlib's default strategy at level 6 (the previous setting, Pillow's encoder: about 180 ms an
# image on one core), in about 30 ms (Pillow with the same strategy: about 36 ms). With Z_RLE
# the level only tells stored (0) from compressed. Same pixels, same settings, same
# libraries: same bytes; only IHDR, IDAT and IEND chunks are written.
PNG_COMPRESS_LEVEL = 6
PNG_STRATEGIES = {"default": 0, "filtered": 1, "huffman": 2, "rle": 3}  # zlib's Z_* values
PNG_STRATEGY = "rle"


def encode_png(
    pixels: np.ndarray, *, level: int = PNG_COMPRESS_LEVEL, strategy: str = PNG_STRATEGY
) -> bytes:
    """Deterministic 8-bit PNG bytes, grey ``(h, w)`` or RGB ``(h, w, 3)`` (no metadata
    chunks), compressed at zlib ``level`` with ``strategy`` (a key of ``PNG_STRATEGIES``)."""
    import cv2

    arr = np.ascontiguousarray(pixels, dtype=np.uint8)
    if arr.ndim == 3:
        if arr.shape[2] != 3:
            raise ValueError(f"encode_png: grey or RGB pixels, not shape {arr.shape}")
        arr = cv2.cvtColor(arr, cv2.COLOR_RGB2BGR)  # OpenCV writes BGR order as RGB
    params = [
        cv2.IMWRITE_PNG_COMPRESSION,
        int(level),
        cv2.IMWRITE_PNG_STRATEGY,
        PNG_STRATEGIES[strategy],
    ]
    ok, buf = cv2.imencode(".png", arr, params)
    if not ok:  # pragma: no cover - OpenCV fails only on shapes it cannot write
        raise ValueError(f"encode_png: OpenCV could not write {arr.shape} pixels")
    return buf.tobytes()


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def encode_png_fast(pixels: np.ndarray, *, compress: bool = True) -> bytes:
    """Deterministic grey 8-bit PNG bytes written for speed, for the project's own
    intermediate files (a generated source's images), never a published one: no row filter,
    and zlib level 1 with run-length matching (``compress``: about 2 ms at 1024 px for a
    label image, where ``encode_png`` takes 10 ms) or stored, not compressed (about 1 ms for
    a noisy image, which no fast setting shrinks much: ``encode_png`` takes 30 ms)."""
    import struct
    import zlib

    arr = np.ascontiguousarray(pixels, dtype=np.uint8)
    if arr.ndim != 2:
        raise ValueError(f"encode_png_fast: grey pixels, not shape {arr.shape}")
    h, w = arr.shape
    rows = np.zeros((h, w + 1), dtype=np.uint8)  # each row: filter type 0 (None), its bytes
    rows[:, 1:] = arr
    packer = zlib.compressobj(1 if compress else 0, zlib.DEFLATED, 15, 9, zlib.Z_RLE)
    data = packer.compress(rows.data) + packer.flush()

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(body, zlib.crc32(kind))
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0)  # 8-bit grey, not interlaced
    return b"".join(
        (PNG_SIGNATURE, chunk(b"IHDR", header), chunk(b"IDAT", data), chunk(b"IEND", b""))
    )
