"""Decoding: PNG modes, DICOM rendering (window, MONOCHROME1), and clear errors for broken
files that name the file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image

from sources.base import ItemError
from sources.imaging import encode_png, encode_png_fast, load_dicom, load_png, resize_max_side
from sources.radiograph.synthetic_cxr import write_synthetic_dicom
from tests.helpers import phi


def test_png_modes(tmp_path: Path) -> None:
    arr16 = (np.arange(64 * 32).reshape(32, 64) * 30).astype(np.uint16)
    Image.fromarray(arr16).save(tmp_path / "a.png")
    out = load_png(tmp_path / "a.png").pixels
    assert out.dtype == np.uint8 and out.shape == (32, 64) and out.min() == 0 and out.max() == 255
    Image.new("RGBA", (10, 5), (255, 0, 0, 255)).save(tmp_path / "b.png")
    assert load_png(tmp_path / "b.png").pixels.shape == (5, 10)


def test_truncated_png_names_file(tmp_path: Path) -> None:
    good = encode_png(np.random.default_rng(0).integers(0, 255, (64, 64), dtype=np.uint8))
    (tmp_path / "cut.png").write_bytes(good[: len(good) // 2])
    with pytest.raises(ItemError) as err:
        load_png(tmp_path / "cut.png")
    assert err.value.reason == "image_decode_error" and "cut.png" in err.value.message


def test_png_encoding_is_deterministic_and_metadata_free(tmp_path: Path) -> None:
    pixels = np.random.default_rng(1).integers(0, 255, (40, 30), dtype=np.uint8)
    assert encode_png(pixels) == encode_png(pixels.copy())
    (tmp_path / "x.png").write_bytes(encode_png(pixels))
    with Image.open(tmp_path / "x.png") as img:
        assert img.mode == "L" and not img.text
        assert np.array_equal(np.asarray(img), pixels)


def test_fast_png_reads_back_as_its_pixels(tmp_path: Path) -> None:
    """The intermediate-file encoder, compressed or stored: a valid grey PNG of the pixels
    (Pillow's reader and the project's loader), same bytes for the same pixels."""
    noisy = np.random.default_rng(2).integers(0, 256, (37, 53), dtype=np.uint8)
    labels = np.zeros((64, 48), dtype=np.uint8)
    labels[10:40, 5:20] = 1
    labels[20:50, 30:45] = 2
    for pixels in (noisy, labels):
        for compress in (True, False):
            data = encode_png_fast(pixels, compress=compress)
            assert data == encode_png_fast(pixels.copy(), compress=compress)
            path = tmp_path / f"x{compress}.png"
            path.write_bytes(data)
            with Image.open(path) as img:
                assert img.mode == "L" and np.array_equal(np.asarray(img), pixels)
            assert np.array_equal(load_png(path).pixels, pixels)
    assert len(encode_png_fast(labels)) < len(encode_png_fast(labels, compress=False)) / 10
    with pytest.raises(ValueError, match="grey"):
        encode_png_fast(np.zeros((4, 4, 3), dtype=np.uint8))


def test_dicom_window_and_monochrome1(tmp_path: Path) -> None:
    pixels = np.tile(np.arange(0, 4096, 64, dtype=np.uint16), (8, 1))  # 8 x 64 ramp
    write_synthetic_dicom(tmp_path / "a.dcm", pixels, uid_seed="a", view="AP", **phi(1))
    loaded = load_dicom(tmp_path / "a.dcm")
    assert loaded.pixels.shape == (8, 64) and loaded.view == "AP"
    assert loaded.pixels[0, 0] < 5 and loaded.pixels[0, -1] > 250
    assert np.all(np.diff(loaded.pixels[0].astype(int)) >= 0)

    ds = pydicom.dcmread(tmp_path / "a.dcm")
    ds.PhotometricInterpretation = "MONOCHROME1"
    ds.save_as(tmp_path / "m1.dcm")
    inverted = load_dicom(tmp_path / "m1.dcm").pixels
    assert np.array_equal(inverted, 255 - loaded.pixels)


def _pydicom_synthetic_dicom(path: Path, pixels: np.ndarray, uid_seed: str, **header) -> None:
    """The reference: the dataset ``write_synthetic_dicom`` describes, written by pydicom."""
    import hashlib

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
    ds.StudyInstanceUID, ds.SeriesInstanceUID = uid("study"), uid("series")
    ds.PatientName, ds.PatientID = header["patient_name"], header["patient_id"]
    ds.PatientBirthDate = header["birth_date"]
    ds.StudyDate = ds.SeriesDate = ds.AcquisitionDate = ds.ContentDate = header["study_date"]
    ds.StudyTime = "101500"
    ds.AccessionNumber = header.get("accession", "SYNACC0000")
    ds.InstitutionName = header.get("institution", "Synthetic General Hospital")
    ds.ReferringPhysicianName = "Synthetic^Referrer"
    ds.Modality, ds.ViewPosition, ds.BodyPartExamined = "CR", header.get("view", "PA"), "CHEST"
    values = np.asarray(pixels, dtype=np.uint16)
    ds.Rows, ds.Columns = values.shape
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.WindowCenter, ds.WindowWidth = 2048, 4096
    ds.PixelData = values.tobytes()
    pydicom.dcmwrite(path, ds, enforce_file_format=True)


@pytest.mark.parametrize(
    ("shape", "extra"),
    [((7, 5), {}), ((64, 33), {"view": "AP", "institution": "Odd", "accession": "A1"})],
)
def test_synthetic_dicom_bytes_are_pydicoms(tmp_path: Path, shape, extra) -> None:
    """``write_synthetic_dicom`` writes its bytes itself: the file pydicom writes for the same
    dataset, odd-length values (padding) included."""
    pixels = np.random.default_rng(3).integers(0, 4096, shape)
    for i, seed in enumerate(("a", "seed-17", "0/12")):
        header = {**phi(i), **extra}
        write_synthetic_dicom(tmp_path / "ours.dcm", pixels, uid_seed=seed, **header)
        _pydicom_synthetic_dicom(tmp_path / "ref.dcm", pixels, seed, **header)
        assert (tmp_path / "ours.dcm").read_bytes() == (tmp_path / "ref.dcm").read_bytes()


def test_broken_dicoms_name_file_and_reason(tmp_path: Path) -> None:
    pixels = np.full((64, 64), 1000, dtype=np.uint16)
    write_synthetic_dicom(tmp_path / "ok.dcm", pixels, uid_seed="ok", **phi(2))
    data = (tmp_path / "ok.dcm").read_bytes()
    (tmp_path / "cut.dcm").write_bytes(data[: len(data) // 2])
    (tmp_path / "header.dcm").write_bytes(data[:200])
    (tmp_path / "text.dcm").write_text("hello, not a dicom")
    for name in ("cut.dcm", "header.dcm", "text.dcm"):
        with pytest.raises(ItemError) as err:
            load_dicom(tmp_path / name)
        assert err.value.reason in {"dicom_read_error", "dicom_pixel_error"}
        assert name in err.value.message


def test_resize_keeps_aspect_and_never_upscales() -> None:
    pixels = np.zeros((100, 50), dtype=np.uint8)
    assert resize_max_side(pixels, 40).shape == (40, 20)
    assert resize_max_side(pixels, 400).shape == (100, 50)
    assert resize_max_side(pixels, None) is pixels


@pytest.mark.realdata
def test_real_rsna_dicom(realdata: Path) -> None:
    path = (
        realdata / "cxr" / "rsna_pneumonia" / "images" / "00436515-870c-4b36-a041-de91049b9ab4.dcm"
    )
    loaded = load_dicom(path)
    raw = pydicom.dcmread(path).pixel_array
    assert loaded.pixels.shape == (1024, 1024) and loaded.view == "AP"
    assert np.array_equal(loaded.pixels, raw)  # 8-bit JPEG baseline: pixels kept as stored


@pytest.mark.realdata
def test_real_nih_png(realdata: Path) -> None:
    loaded = load_png(realdata / "cxr" / "nih_cxr14" / "images" / "00000032_037.png")
    assert loaded.pixels.shape == (1024, 1024) and loaded.pixels.dtype == np.uint8
    assert 20 < loaded.pixels.mean() < 235


@pytest.mark.parametrize(
    ("dtype", "header"),
    [
        (np.uint16, {"WindowCenter": 2048, "WindowWidth": 4096}),
        (np.uint16, {"WindowCenter": 900, "WindowWidth": 600, "VOILUTFunction": "SIGMOID"}),
        (np.int16, {"WindowCenter": 40, "WindowWidth": 400, "RescaleSlope": 1.5}),
        (np.uint8, {"WindowCenter": 100, "WindowWidth": 80, "RescaleIntercept": -3}),
    ],
)
def test_display_by_table_is_the_value_by_value_display(dtype, header) -> None:
    """8- and 16-bit stored values go through a table of their distinct values: each pixel
    is what the value-by-value computation (32-bit values take it) gives it."""
    from pydicom.dataset import Dataset
    from pydicom.pixels import apply_modality_lut, apply_voi_lut

    from sources.imaging import _render_grayscale

    info = np.iinfo(dtype)
    rng = np.random.default_rng(4)
    raw = rng.integers(max(info.min, -2000), min(info.max, 4095), (64, 80)).astype(dtype)
    for monochrome in ("MONOCHROME2", "MONOCHROME1"):
        ds = Dataset()
        ds.PhotometricInterpretation = monochrome
        ds.PixelRepresentation = int(info.min < 0)
        ds.BitsStored = 8 * raw.itemsize
        if "RescaleSlope" in header or "RescaleIntercept" in header:
            ds.RescaleSlope, ds.RescaleIntercept = 1.0, 0.0
        for key, value in header.items():
            setattr(ds, key, value)
        by_table = _render_grayscale(ds, raw, apply_modality_lut, apply_voi_lut)
        by_value = _render_grayscale(ds, raw.astype(np.int32), apply_modality_lut, apply_voi_lut)
        assert by_table.dtype == np.uint8 and np.array_equal(by_table, by_value)
        assert len(np.unique(by_table)) > 10
