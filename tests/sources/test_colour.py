"""Colour is kept for colour modalities (``schemas.modality``): RGB, YBR and palette-colour
DICOM decode in colour (compared against pydicom's own conversion, on the real ultrasound
files of pydicom-data), colour PNG / JPEG stay RGB, the published PNG is RGB for
ultrasound / endoscopy and grey for radiographs, and the sequence edits work on RGB."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pydicom
import pytest
from PIL import Image
from pydicom.pixels import apply_color_lut, convert_color_space

from records.sequences.radiograph import radiograph_sequences
from schemas.identity import Pseudonymizer
from schemas.modality import image_noun, keeps_colour, modality_code
from shards.layout import BuildLayout
from sources.base import SourceItem
from sources.context import ItemContext
from sources.imaging import load_dicom, load_image, load_png

US = ("dicom", "mr_us_pydicom_data")


def _ctx(out: Path) -> ItemContext:
    return ItemContext(BuildLayout(out), Pseudonymizer("colour"), (80, 10, 10), None, 0)


def _item(path: Path, modality: str) -> SourceItem:
    return SourceItem(
        "us", "test", "dicom", path.name, "p1", str(path), "", (), "MIT", "x", "1", modality
    )


def _pydicom(path: Path) -> pydicom.Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(path)


def test_colour_policy() -> None:
    assert [modality_code(m) for m in ("endoscopy", "Dermoscopy", "xray", "ultrasound")] == [
        "ES",
        "DMS",
        "XR",
        "US",
    ]
    assert keeps_colour("ES") and keeps_colour("fundus") and keeps_colour("US")
    assert not keeps_colour("XR") and not keeps_colour("CT") and not keeps_colour("MR")
    assert image_noun("ES") == "endoscopy image"


def test_ultrasound_rgb_dicom_publishes_in_colour(realdata: Path, tmp_path: Path) -> None:
    path = realdata.joinpath(*US, "US1_UNCR.dcm")
    loaded = load_dicom(path, colour=True)
    expected = _pydicom(path).pixel_array
    assert loaded.pixels.shape == (480, 640, 3)
    assert np.array_equal(loaded.pixels, expected)  # RGB as stored
    grey = load_dicom(path).pixels
    assert grey.shape == (480, 640)
    study, _image = _ctx(tmp_path).publish_study(
        _item(path, "US"), "study-us", loaded.pixels, view=None
    )
    with Image.open(BuildLayout(tmp_path).image_path(study.study_id)) as png:
        assert png.mode == "RGB"
        rgb = np.asarray(png)
    assert np.array_equal(rgb, expected)
    assert (rgb[..., 0] != rgb[..., 1]).any() and (rgb[..., 1] != rgb[..., 2]).any()
    assert study.modality == "US"


@pytest.mark.parametrize("name", ["OBXXXX1A.dcm", "gdcm-US-ALOKA-16.dcm"])
def test_palette_colour_dicom(realdata: Path, name: str) -> None:
    path = realdata.joinpath(*US, name)
    ds = _pydicom(path)
    assert ds.PhotometricInterpretation == "PALETTE COLOR"
    lut = apply_color_lut(ds.pixel_array, ds)  # pydicom's own conversion, 16-bit entries
    expected = np.round(lut.astype(np.float64) * 255 / 65535).astype(np.uint8)
    loaded = load_dicom(path, colour=True).pixels
    assert loaded.shape == (*ds.pixel_array.shape, 3)
    assert np.array_equal(loaded, expected)
    assert (loaded[..., 0] != loaded[..., 2]).any()  # really colour


def test_ybr_dicom_is_converted_to_rgb(realdata: Path, tmp_path: Path) -> None:
    ds = _pydicom(realdata.joinpath(*US, "US1_UNCR.dcm"))
    rgb = ds.pixel_array
    ds.PixelData = convert_color_space(rgb, "RGB", "YBR_FULL").tobytes()
    ds.PhotometricInterpretation = "YBR_FULL"
    ds.save_as(tmp_path / "ybr.dcm")
    loaded = load_dicom(tmp_path / "ybr.dcm", colour=True).pixels
    assert np.abs(loaded.astype(int) - rgb.astype(int)).max() <= 3  # rounding of YCbCr


def test_colour_png_and_jpeg(tmp_path: Path) -> None:
    rgb = np.zeros((20, 30, 3), np.uint8)
    rgb[..., 0] = 200
    rgb[5:10, :, 2] = 90
    Image.fromarray(rgb).save(tmp_path / "a.png")
    Image.fromarray(rgb).save(tmp_path / "a.jpg", quality=95)
    assert np.array_equal(load_png(tmp_path / "a.png", colour=True).pixels, rgb)
    assert load_png(tmp_path / "a.png").pixels.shape == (20, 30)
    jpeg = load_image(tmp_path / "a.jpg", colour=True).pixels
    assert jpeg.shape == (20, 30, 3) and np.abs(jpeg.astype(int) - rgb).mean() < 6  # lossy
    Image.fromarray(rgb[..., 0]).save(tmp_path / "g.png")
    assert load_png(tmp_path / "g.png", colour=True).pixels.ndim == 2  # grey stays grey


def test_sequence_edits_on_colour_images(tmp_path: Path) -> None:
    from schemas.records import Finding, NamedBox, Study

    rng = np.random.default_rng(1)
    pixels = rng.integers(0, 255, (60, 80, 3), dtype=np.uint8)
    ctx = _ctx(tmp_path)
    study = ctx.publish_study(_item(tmp_path / "x.png", "ES"), "study-es", pixels, view=None)[0]
    finding = Finding(
        "f1", study.study_id, study.patient_id, "polyp", True,
        NamedBox(0.2, 0.2, 0.6, 0.6, "polyp"), None, "x", "1", 1.0,
    )  # fmt: skip
    published: list[Study] = []

    def publish(key: str, px: np.ndarray, view: str) -> Study:
        assert px.shape[2] == 3  # edits and crops keep the channels
        s = ctx.derived_study(_item(tmp_path / "x.png", "ES"), key, px, view, "ES")
        published.append(s)
        return s

    records = radiograph_sequences(study, pixels, [finding], publish, seed=0)
    assert {r.task for r in records} >= {"patch"}
    assert len(published) == len(records) >= 2
    for s in published:
        with Image.open(BuildLayout(tmp_path).image_path(s.study_id)) as png:
            assert png.mode == "RGB"
