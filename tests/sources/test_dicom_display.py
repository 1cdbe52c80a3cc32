"""DICOM display (``sources.imaging.load_dicom``): chest-like synthetic DICOMs written here with
pydicom, one MONOCHROME1 (bright = low stored values: lungs are stored high), one with a VOI
LUT Sequence (and a misleading window that must not be used), one 16-bit without any window
whose few extreme pixels must not squeeze the lungs. Each shown image has its lungs darker
than its bone, and the lungs keep their grey levels (not clipped to black)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

from sources.imaging import load_dicom

SIZE = 128
# Stored values of a MONOCHROME2 12-bit chest film: air, lung, soft tissue, bone.
AIR, LUNG, SOFT, BONE = 80, 700, 2000, 3400


def _regions() -> dict[str, np.ndarray]:
    yy, xx = np.mgrid[0:SIZE, 0:SIZE]
    body = (np.abs(xx - 64) < 56) & (yy > 6)
    lungs = (((xx - 38) / 18.0) ** 2 + ((yy - 60) / 34.0) ** 2 < 1) | (
        ((xx - 90) / 18.0) ** 2 + ((yy - 60) / 34.0) ** 2 < 1
    )
    spine = body & (np.abs(xx - 64) < 5)
    clavicles = body & (np.abs(yy - 20) < 3) & (np.abs(xx - 64) < 50)
    bone = spine | clavicles
    return {"body": body, "lungs": lungs & ~bone, "bone": bone}


def _chest(seed: int = 0) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Stored MONOCHROME2 values (12-bit) with lung texture, and the region masks."""
    r = _regions()
    rng = np.random.default_rng(seed)
    img = np.full((SIZE, SIZE), AIR, dtype=np.float64)
    img[r["body"]] = SOFT
    img[r["lungs"]] = LUNG + rng.normal(0, 60, int(r["lungs"].sum()))  # vessels, texture
    img[r["bone"]] = BONE
    return np.clip(img, 0, 4095).astype(np.uint16), r


def _write(path: Path, pixels: np.ndarray, photometric: str, bits: int = 12, **extra) -> Path:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid(entropy_srcs=[path.name])
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID = meta.MediaStorageSOPClassUID
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "CR"
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = photometric
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, bits, bits - 1, 0
    for key, value in extra.items():
        setattr(ds, key, value)
    ds.PixelData = np.asarray(pixels, dtype=np.uint16).tobytes()
    pydicom.dcmwrite(path, ds, enforce_file_format=True)
    return path


def _assert_lungs_dark_and_unclipped(shown: np.ndarray, r: dict[str, np.ndarray]) -> None:
    lungs, bone = shown[r["lungs"]].astype(int), shown[r["bone"]].astype(int)
    assert np.median(lungs) + 60 < np.median(bone), (np.median(lungs), np.median(bone))
    assert np.percentile(lungs, 99) < np.percentile(bone, 1)
    # not clipped: the lung texture keeps many grey levels, few lung pixels sit at 0 or 255
    assert len(np.unique(lungs)) > 20
    assert np.mean((lungs == 0) | (lungs == 255)) < 0.02


def test_monochrome1_lungs_stored_high_are_shown_dark(tmp_path: Path) -> None:
    m2, r = _chest()
    stored = (4095 - m2).astype(np.uint16)  # MONOCHROME1: lungs high, bone low
    assert stored[r["lungs"]].mean() > stored[r["bone"]].mean()
    path = _write(tmp_path / "m1.dcm", stored, "MONOCHROME1")  # no window: robust range
    shown = load_dicom(path).pixels
    _assert_lungs_dark_and_unclipped(shown, r)
    assert np.median(shown[~r["body"]]) < np.median(shown[r["lungs"]])  # air darkest

    windowed = _write(
        tmp_path / "m1w.dcm", stored, "MONOCHROME1", WindowCenter=2048, WindowWidth=4096
    )
    _assert_lungs_dark_and_unclipped(load_dicom(windowed).pixels, r)


def _voi_lut_item(entries: int, out_bits: int, out_max: int) -> Dataset:
    """A VOI LUT over stored values 0..entries-1: a square-root curve up to ``out_max``."""
    lut = np.round(np.sqrt(np.arange(entries) / (entries - 1)) * out_max).astype(np.uint16)
    item = Dataset()
    item.LUTDescriptor = [entries, 0, out_bits]
    item.LUTExplanation = "SQRT"
    item.add_new(0x00283006, "US", lut.tolist())  # LUTData
    return item


def test_voi_lut_sequence_is_applied_and_preferred_to_the_window(tmp_path: Path) -> None:
    stored, r = _chest(seed=1)
    # The window would show only 3700..3900: lungs and bone both black. The LUT is preferred.
    for name, out_max in (("lut16.dcm", 65535), ("lut12in16.dcm", 4095)):
        path = _write(
            tmp_path / name,
            stored,
            "MONOCHROME2",
            VOILUTSequence=Sequence([_voi_lut_item(4096, 16, out_max)]),
            WindowCenter=3800,
            WindowWidth=200,
        )
        shown = load_dicom(path).pixels
        _assert_lungs_dark_and_unclipped(shown, r)
        # the sqrt curve, not a linear stretch: bone near sqrt(3400/4095) of white
        assert abs(np.median(shown[r["bone"]]) - 255 * np.sqrt(BONE / 4095)) <= 2
        assert shown.max() <= round(255 * np.sqrt(BONE / 4095)) + 1  # its own range: not
        # stretched to the image's maximum


def test_window_is_used_when_there_is_no_lut(tmp_path: Path) -> None:
    stored, r = _chest(seed=2)
    path = _write(tmp_path / "w.dcm", stored, "MONOCHROME2", WindowCenter=1800, WindowWidth=3000)
    shown = load_dicom(path).pixels
    _assert_lungs_dark_and_unclipped(shown, r)
    # linear window: stored 2000 (soft tissue) -> ((2000 - 1799.5) / 2999 + 0.5) of white
    soft = r["body"] & ~r["lungs"] & ~r["bone"]
    assert np.median(shown[soft]) == round(((2000 - 1799.5) / 2999 + 0.5) * 255)


def test_16_bit_without_window_keeps_the_lungs_despite_extreme_pixels(tmp_path: Path) -> None:
    m2, r = _chest(seed=3)
    stored = (m2.astype(np.uint32) * 16).astype(np.uint16)  # a 16-bit detector
    stored[0, :40] = 65535  # dead pixels / a burned marker: 40 of 16,384 pixels
    path = _write(tmp_path / "w16.dcm", stored, "MONOCHROME2", bits=16)
    shown = load_dicom(path).pixels
    _assert_lungs_dark_and_unclipped(shown, r)
    # min..max would put bone at 3400*16/65535 = 83 of 255; the robust range shows it white
    assert np.median(shown[r["bone"]]) >= 250
    assert np.median(shown[r["lungs"]]) - np.median(shown[~r["body"]]) > 40
