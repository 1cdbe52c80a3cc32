"""No DICOM header value (name, id, dates, accession, institution) and no PNG metadata of the
inputs reaches any byte of the output folder; no input id reaches a published file."""

from __future__ import annotations

import tarfile
from io import BytesIO
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image, PngImagePlugin

from tests.helpers import nih_dataset, rsna_dataset, write_config

pytestmark = pytest.mark.prefect

HEADER = {
    "patient_name": "ZZMADEUP^QUENTIN^XAVIER",
    "patient_id": "MRN-ZZ-90210-SECRET",
    "birth_date": "19230405",
    "study_date": "20231109",
    "institution": "Zanzibar Imaging Institute",
    "accession": "ACCZZ7781",
}
SECRETS = [
    "ZZMADEUP",
    "QUENTIN",
    "MRN-ZZ-90210-SECRET",
    "19230405",
    "20231109",
    "1923-04-05",
    "2023-11-09",
    "Zanzibar Imaging Institute",
    "ACCZZ7781",
]
PNG_SECRET = "PatientName=ZZPNGMETA^SECRET"
INPUT_IDS = ["case-alpha-7", "case-beta-8", "77700001_000", "77700002_000"]


def _png_with_text(path: Path) -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", PNG_SECRET)
    Image.fromarray((np.arange(64 * 64) % 256).astype(np.uint8).reshape(64, 64)).save(
        path, pnginfo=info
    )


def test_made_up_identifiers_never_reach_the_output(tmp_path: Path, prefect_server) -> None:
    from flows.build import build_medsg

    rsna = rsna_dataset(
        tmp_path / "rsna",
        [["case-alpha-7", "10", "10", "20", "20", "1"], ["case-beta-8", "", "", "", "", "0"]],
        {"case-alpha-7": HEADER, "case-beta-8": {**HEADER, "patient_id": "MRN-ZZ-90210-SECRET"}},
    )
    nih = nih_dataset(
        tmp_path / "nih",
        [("77700001_000.png", "Nodule", 5, 5, 10, 10), ("77700002_000.png", "Mass", 1, 1, 9, 9)],
        ["77700002_000.png"],
    )
    (nih / "images").mkdir(exist_ok=True)
    _png_with_text(nih / "images" / "77700001_000.png")
    assert PNG_SECRET.encode() in (nih / "images" / "77700001_000.png").read_bytes()
    cfg = write_config(
        tmp_path / "c.yaml",
        [
            {"kind": "rsna_pneumonia", "root": str(rsna), "labels_csv": "labels.csv"},
            {"kind": "nih_cxr14", "root": str(nih), "labels_csv": "BBox_List_2017.csv"},
        ],
    )
    out = tmp_path / "out"
    result = build_medsg(config=str(cfg), out=str(out))
    # grounding 3 + 1 + 3 + 3, plus the sequence records and their derived images
    assert result["stats"]["flow"]["records_published"] > 3 + 1 + 3 + 3

    files = [p for p in out.rglob("*") if p.is_file()]
    assert len(files) > 10
    for path in files:  # every byte of the output, private build state and caches included
        data = path.read_bytes()
        for secret in [*SECRETS, "ZZPNGMETA"]:
            assert secret.encode() not in data, (secret, path)
            assert secret.encode("utf-16-le") not in data, (secret, path)
    for table in (out / "_build" / "tables").glob("*.parquet"):  # compressed pages, read back
        text = str(pq.read_table(table).to_pylist())
        assert not [s for s in SECRETS if s in text], table

    published = [p for p in files if "_build" not in p.relative_to(out).parts]
    for path in published:
        data = path.read_bytes()
        assert not [i for i in INPUT_IDS if i.encode() in data], path
        if path.suffix == ".tar":
            with tarfile.open(path) as tar:
                for m in tar.getmembers():
                    if m.name.endswith(".png"):
                        with Image.open(BytesIO(tar.extractfile(m).read())) as img:
                            assert img.text == {} and set(img.info) <= {"dpi"}
