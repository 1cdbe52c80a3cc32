"""PadChest-GR (``sources.radiograph.padchest_gr``) on a fixture written from the published
layout (no public sample): grounded_reports JSON with English and Spanish sentences and
boxes normalised to 0-1, master_table.csv, 16-bit PNGs. Boxes come back in source pixels
within 1 px, each sentence gives records in both languages (language in provenance),
negative sentences give presence "no", each bad input is one quarantine row. The real
PadChest label table sample checks that no label spelling is dropped silently."""

from __future__ import annotations

import ast
import csv
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from PIL import Image

from engine.config import load_config
from engine.pipeline import run_build
from schemas.boxes import Box
from schemas.identity import Pseudonymizer
from schemas.vocab import PADCHEST_LABELS
from sources.base import PlanContext
from sources.radiograph.padchest_gr import Settings, parse_sentence, plan, reports_file
from sources.registry import licences, source_for
from tests.helpers import write_config

SALT = "padchest-gr-tests"
IDS = Pseudonymizer(SALT)
W, H = 400, 320
IMG1, IMG2, IMG3, IMG4, IMG5 = (f"2168401113669640{n}_00-123-45{n}.png" for n in range(1, 6))
HEART = [0.3, 0.4, 0.7, 0.8]
COPD = [[0.05, 0.1, 0.45, 0.6], [0.55, 0.1, 0.95, 0.6]]


def _sentence(en, es, labels, boxes=(), abnormal=True, extra=()) -> dict:
    return {
        "sentence_en": en,
        "sentence_es": es,
        "abnormal": abnormal,
        "labels": labels,
        "locations": [],
        "progression": None,
        "boxes": [list(b) for b in boxes],
        "extra_boxes": [list(b) for b in extra],
    }


REPORTS = [
    {
        "StudyID": "s1",
        "ImageID": IMG1,
        "findings": [
            _sentence("Cardiomegaly.", "Cardiomegalia.", ["cardiomegaly"], [HEART], extra=[HEART]),
            _sentence(
                "No pleural effusion is observed.",
                "No se observa derrame pleural.",
                ["pleural effusion"],
                abnormal=False,
            ),
            _sentence(
                "Signs of COPD with kyphosis.",
                "Signos de EPOC con cifosis.",
                ["COPD signs", "kyphosis"],  # kyphosis: no map covers it
                COPD,
            ),
            _sentence(
                "Right apical nodule.", "Nódulo apical derecho.", ["nodule"], [[0.8, 0.1, 1.3, 0.5]]
            ),
        ],
    },
    {
        "StudyID": "s2",
        "ImageID": IMG2,
        "findings": [
            _sentence(
                "No significant radiological alterations.",
                "Sin alteraciones radiológicas significativas.",
                ["normal"],
                abnormal=False,
            )
        ],
    },
    {
        "StudyID": "s3",
        "ImageID": IMG3,
        "findings": [_sentence("Mass.", "Masa.", ["mass"], [HEART])],
    },
    {
        "StudyID": "s4",
        "ImageID": IMG4,
        "findings": [_sentence("Mass.", "Masa.", ["mass"], [HEART])],
    },
    {
        "StudyID": "s5",
        "ImageID": IMG5,
        "findings": [_sentence("Mass.", "Masa.", ["mass"], [HEART])],
    },
]
# ImageID -> (PatientID, split); IMG4 and IMG5 are one patient on two sides
MASTER = {
    IMG1: ("p1", "train"),
    IMG2: ("p2", "test"),
    IMG3: ("p3", "validation"),
    IMG4: ("p4", "train"),
    IMG5: ("p4", "test"),
}


def _fixture(root: Path) -> Path:
    images = root / "Padchest_GR_files" / "PadChest_GR"
    images.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for image_id in (IMG1, IMG2, IMG4, IMG5):  # IMG3 is not on disk
        pixels = np.add.outer(np.arange(H), np.arange(W)) * 70 + rng.integers(0, 2000, (H, W))
        Image.fromarray((pixels % 60000 + 1000).astype(np.uint16)).save(images / image_id)
    (root / "grounded_reports_20240819.json").write_text(json.dumps(REPORTS))
    (root / "grounded_reports_20240101.json").write_text("[]")  # an older release
    with (root / "master_table.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["ImageID", "StudyID", "PatientID", "PatientSex_DICOM", "split"])
        for report in REPORTS:
            pid, split = MASTER[report["ImageID"]]
            w.writerow([report["ImageID"], report["StudyID"], pid, "F", split])
    return root


def test_plan(tmp_path: Path) -> None:
    root = _fixture(tmp_path / "padchest-gr")
    settings = Settings(kind="padchest_gr", root=root)
    assert reports_file(settings).name == "grounded_reports_20240819.json"
    out = plan(settings, PlanContext(IDS, tmp_path))
    assert out.n_label_rows == len(REPORTS)
    items = {i.item_id: i for i in out.items}
    assert set(items) == {IMG1, IMG2}
    assert items[IMG1].split == "train" and items[IMG2].split == "test"
    assert items[IMG1].patient_key == "p1"
    sentences = items[IMG1].settings.sentences
    assert [s.labels for s in sentences] == [
        ("cardiomegaly",),
        ("pleural_effusion",),
        ("copd",),
        ("nodule",),
    ]
    assert [s.positive for s in sentences] == [True, False, True, True]
    assert sentences[0].n_extra_boxes == 1
    assert items[IMG2].settings.sentences[0].labels == ("abnormality",)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("padchestgr")
    root = _fixture(tmp / "padchest-gr")
    cfg = write_config(
        tmp / "build.yaml", [{"kind": "padchest_gr", "root": str(root)}], privacy={"salt": SALT}
    )
    out = tmp / "out"
    run_build(load_config(cfg), out)
    return out


def test_normalised_boxes_come_back_within_1px(built) -> None:
    tables = built / "_build" / "tables"
    studies = {s["study_id"]: s for s in pq.read_table(tables / "studies.parquet").to_pylist()}
    study = studies[IDS.study("padchest_gr", IMG1)]
    assert (study["source_width"], study["source_height"]) == (W, H)
    findings = [
        f for f in pq.read_table(tables / "findings.parquet").to_pylist() if f["box"] is not None
    ]
    got = Counter()
    for f in findings:
        b = f["box"]
        px = Box(b["x1"], b["y1"], b["x2"], b["y2"]).to_pixels(W, H)
        got[(f["language"], tuple(round(v) for v in px))] += 1
        # normalised in the file, normalised in the release: the same numbers
        assert any(
            np.allclose([b["x1"], b["y1"], b["x2"], b["y2"]], ref, atol=1 / W)
            for ref in [HEART, *COPD]
        )
    expected = {(x1 * W, y1 * H, x2 * W, y2 * H) for x1, y1, x2, y2 in [HEART, *COPD]}
    for lang in ("en", "es"):
        boxes = [px for (lg, px), n in got.items() if lg == lang]
        assert len(boxes) == 3
        for px in boxes:
            assert any(np.allclose(px, ref, atol=1.0) for ref in expected), px


def test_records_in_both_languages(built) -> None:
    records = pq.read_table(built / "_build" / "tables" / "records_grounding.parquet").to_pylist()
    by_lang = Counter(r["provenance"]["language"] for r in records)
    assert by_lang["en"] == by_lang["es"] == 2 + 2  # 2 boxed sentences, 2 negatives (x2 images)
    spanish = [r for r in records if r["provenance"]["language"] == "es"]
    assert any('"Cardiomegalia."' in r["question"] for r in spanish)
    copd = [r for r in records if "Signs of COPD with kyphosis." in r["question"]]
    assert len(copd) == 1 and len(copd[0]["answer_boxes"]) == 2 and copd[0]["label"] == "copd"
    absent = [r for r in records if r["task"] == "presence" and r["answer"].startswith("No")]
    sentence_absent = [r for r in absent if r["provenance"]["language"]]
    assert {r["label"] for r in sentence_absent} == {"pleural_effusion", "abnormality"}
    assert len(sentence_absent) == 4  # two negative sentences, in two languages
    worded = [r for r in absent if not r["provenance"]["language"]]
    assert {r["label"] for r in worded} == {"pleural_effusion", "abnormality"}
    assert {
        r["split"] for r in records if r["image"]["study_id"] == IDS.study("padchest_gr", IMG2)
    } == {"test"}


def test_bad_inputs_are_one_quarantine_row_each(built) -> None:
    rows = pq.read_table(built / "_build" / "tables" / "quarantine.parquet").to_pylist()
    assert sorted(r["reason"] for r in rows) == [
        "box_out_of_bounds",
        "file_missing",
        "label_unmapped",
        "split_conflict",
        "split_conflict",
    ]
    by = {r["reason"]: r for r in rows}
    assert "'kyphosis'" in by["label_unmapped"]["message"]
    assert "sentence 4 box 1" in by["box_out_of_bounds"]["message"]
    assert by["file_missing"]["item_id"] == IDS.study("padchest_gr", IMG3)


def test_the_real_padchest_labels_map_or_are_named(realdata: Path) -> None:
    """Every label of the real PadChest label table (its first 962 rows) is mapped, the
    normal marker, or reported unmapped by name: none is dropped without a word."""
    name = "PADCHEST_chest_x_ray_images_labels_160K_01.02.19_first1000.csv"
    with (realdata / "cxr" / "padchest" / name).open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 962
    counts = Counter()
    for row in rows:
        labels = [v for v in ast.literal_eval(row["Labels"]) if v.strip()]
        if not labels:
            continue
        normal = labels == ["normal"]
        spec, unmapped = parse_sentence(_sentence("s", "s", labels, abnormal=not normal), 1)
        counts["labels"] += len(labels)
        counts["unmapped"] += len(unmapped)
        counts["mapped"] += sum(v.strip().lower() in PADCHEST_LABELS for v in labels)
        counts["normal"] += sum(v.strip().lower() == "normal" for v in labels)
        assert spec is not None or unmapped, labels
    assert counts["labels"] == counts["mapped"] + counts["unmapped"] + counts["normal"]
    assert counts["mapped"] > 600 and counts["normal"] == 286  # "COPD signs" maps (case)


def test_registered() -> None:
    source = source_for("padchest_gr")
    assert "sentence_es" in source.layout and "master_table.csv" in source.layout
    assert "Castro" in licences()["PadChest-GR"].citation
