"""Builders for PET/CT tests: DICOM PET and CT series written from arrays with the headers
SUV needs (and made-up identifying ones), and small SUV volumes with known hot spots."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from extractors.pet.volume import OrganMasks, PetVolume, SliceNumbering

PET_SECRETS = {
    "PatientName": "ZZPETNAME^SECRET",
    "PatientID": "MRN-PET-77123-SECRET",
    "PatientBirthDate": "19310203",
    "AccessionNumber": "ACCPET99881",
    "InstitutionName": "Quixotic Nuclear Institute",
}


def _uid(seed: str) -> str:
    return "2.25." + str(int(hashlib.sha256(seed.encode()).hexdigest()[:30], 16))


def pet_header(**overrides):
    """A PET slice header with everything body-weight SUV needs (QIBA), scan 60 min after
    injection of 370 MBq F-18 to a 70 kg patient."""
    from pydicom.dataset import Dataset

    ds = Dataset()
    ds.Modality = "PT"
    ds.Units = "BQML"
    ds.CorrectedImage = ["ATTN", "DECY", "SCAT"]
    ds.DecayCorrection = "START"
    ds.PatientWeight = "70"
    ds.SeriesDate = "20240102"
    ds.SeriesTime = "110000"
    ds.AcquisitionDate = "20240102"
    ds.AcquisitionTime = "110000"
    info = Dataset()
    info.RadiopharmaceuticalStartTime = "100000"
    info.RadionuclideTotalDose = "370000000"
    info.RadionuclideHalfLife = "6586.2"
    ds.RadiopharmaceuticalInformationSequence = [info]
    for key, value in overrides.items():
        if key.startswith("rp_"):
            if value is None:
                delattr(info, key[3:])
            else:
                setattr(info, key[3:], value)
        elif value is None:
            if key in ds:
                delattr(ds, key)
        else:
            setattr(ds, key, value)
    return ds


def expected_factor(weight_kg=70.0, dose=370e6, half_life=6586.2, uptake_s=3600.0) -> float:
    return weight_kg * 1000.0 / (dose * 2.0 ** (-uptake_s / half_life))


def write_series(
    folder: Path,
    values: np.ndarray,
    *,
    modality: str,
    spacing: tuple[float, float, float] = (4.0, 4.0, 4.0),
    origin: tuple[float, float, float] = (-64.0, -64.0, -40.0),
    header: dict | None = None,
    series_seed: str = "pet",
    frame_of_reference: str = "for-1",
    reverse_files: bool = False,
) -> list[Path]:
    """Write ``values`` (a canonical array [x: right->left, y: anterior->posterior, z:
    feet->head], SUV for PET or HU for CT) as an axial DICOM series, one file per slice;
    ``origin`` is the LPS position (mm) of voxel (0, 0, 0). PET pixels are stored as int16
    with a per-slice slope; SUV = value x factor of the header (``expected_factor``)."""
    import pydicom
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian

    folder.mkdir(parents=True, exist_ok=True)
    sop_class = "1.2.840.10008.5.1.4.1.1.128" if modality == "PT" else "1.2.840.10008.5.1.4.1.1.2"
    nz = values.shape[2]
    paths = []
    factor = expected_factor()
    for k in range(nz):
        plane = values[:, :, k].T  # rows = y (posterior-growing), columns = x (to the left)
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = sop_class
        meta.MediaStorageSOPInstanceUID = _uid(f"{series_seed}/{k}")
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        path = folder / f"{modality.lower()}_{(nz - 1 - k) if reverse_files else k:04d}.dcm"
        ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\0" * 128)
        if modality == "PT":
            for _, element in pet_header().items():
                ds.add(element)
        ds.Modality = modality
        ds.SOPClassUID = sop_class
        ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
        ds.SeriesInstanceUID = _uid(series_seed)
        ds.StudyInstanceUID = _uid("study")
        ds.FrameOfReferenceUID = _uid(frame_of_reference)
        for key, value in PET_SECRETS.items():
            setattr(ds, key, value)
        ds.StudyDate = ds.ContentDate = "20240102"
        ds.InstanceNumber = nz - k  # image 1 at the head, as scanners number whole-body PET
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.ImagePositionPatient = [origin[0], origin[1], origin[2] + k * spacing[2]]
        ds.PixelSpacing = [spacing[1], spacing[0]]
        ds.SliceThickness = spacing[2]
        ds.Rows, ds.Columns = plane.shape
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        if modality == "PT":
            bqml = plane / factor
            slope = max(float(np.abs(bqml).max()) / 30000.0, 1e-6)
            stored = np.round(bqml / slope).astype(np.int16)
            ds.RescaleSlope, ds.RescaleIntercept = f"{slope:.10g}", "0"
        else:
            stored = np.round(plane + 1024).astype(np.int16)
            ds.RescaleSlope, ds.RescaleIntercept = "1", "-1024"
        ds.PixelData = stored.tobytes()
        for key, value in (header or {}).items():
            if value is None:
                if key in ds:
                    delattr(ds, key)
            elif key.startswith("rp_"):
                setattr(ds.RadiopharmaceuticalInformationSequence[0], key[3:], value)
            else:
                setattr(ds, key, value)
        pydicom.dcmwrite(path, ds, enforce_file_format=True)
        paths.append(path)
    return paths


def blob_volume(
    shape=(64, 64, 60),
    spacing=(4.0, 4.0, 4.0),
    spots=(),
    background: float = 0.5,
    noise: float = 0.0,
    seed: int = 0,
    organs: OrganMasks | None = None,
    ct: np.ndarray | None = None,
) -> PetVolume:
    """An elliptic body of ``background`` SUV with blurred balls whose maxima are given:
    ``spots`` of (x, y, z, radius in voxels, SUVmax); canonical (x from the patient's right
    to left), slices numbered from 1."""
    from scipy import ndimage

    rng = np.random.default_rng(seed)
    nx, ny, nz = shape
    x = np.arange(nx)[:, None, None]
    y = np.arange(ny)[None, :, None]
    z = np.arange(nz)[None, None, :]
    body = ((x - (nx - 1) / 2) / (nx * 0.45)) ** 2 + ((y - (ny - 1) / 2) / (ny * 0.4)) ** 2 <= 1
    body = np.broadcast_to(body, shape)
    vol = np.where(body, background, 0.0).astype(np.float32)
    for sx, sy, sz, r, suv in spots:
        ball = (x - sx) ** 2 + (y - sy) ** 2 + (z - sz) ** 2 <= r**2
        spot = ndimage.gaussian_filter(ball.astype(np.float32), 0.8)
        vol += spot / spot.max() * (suv - background)
    if noise:
        vol *= 1 + noise * rng.standard_normal(shape).astype(np.float32)
    affine = np.diag([-spacing[0], -spacing[1], spacing[2], 1.0])  # canonical axes in RAS world
    numbering = SliceNumbering(tuple(range(1, nz + 1)), "test: slice z is number z + 1")
    return PetVolume(vol.astype(np.float32), affine, numbering, ct=ct, organs=organs)
