"""Chest ImaGenome (``sources.radiograph.chest_imagenome``): no public sample, so the layout
is written here as PhysioNet publishes it (split CSVs, ``<dicom_id>_SceneGraph.json`` with
both box spaces, MIMIC-CXR-JPG images). A whole build: anatomy, sentence and region-presence
records whose boxes are the graphs' original-pixel boxes (not the 224-px ones), and one
quarantine row for a missing scene graph, a missing image and an unmapped label."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pyarrow.parquet as pq

from engine.config import load_config
from engine.pipeline import run_build
from schemas.boxes import Box
from schemas.enums import Reason
from schemas.identity import Pseudonymizer
from sources.radiograph.chest_imagenome import (
    BBOX_NAMES,
    parse_scene_graph,
    region_boxes,
)
from sources.registry import licences, source_for
from tests.helpers import record_shards, write_config
from tests.sources.mimic_fixtures import (
    mimic_image,
    scene_attributes,
    scene_object,
    write_scene_graph,
    write_split,
)

SALT = "imagenome-tests"
SIZE = (200, 160)  # JPG width x height: not 224, so the two box spaces differ
BOXES = {
    "left lower lung zone": (110.4, 90.2, 180.7, 150.1),
    "right lung": (10.0, 12.5, 95.0, 150.0),
    "cardiac silhouette": (70.0, 60.0, 140.0, 130.0),
}
LLLZ = "left lower lung zone"


def _records(out: Path) -> list[dict]:
    records = []
    for tar_path in record_shards(out):
        if "_build" in tar_path.parts:
            continue
        with tarfile.open(tar_path) as tar:
            for m in tar.getmembers():
                if m.name.endswith(".json"):
                    records.append(json.loads(tar.extractfile(m).read()))
    return records


def imagenome_root(tmp_path: Path) -> Path:
    """Four split rows: a complete image, one whose scene graph is missing, one whose JPG is
    missing, one whose graph is not JSON; the complete graph has one attribute name no map
    covers and a sentence with a name and a date in it."""
    root = tmp_path / "chest-imagenome"
    silver = root / "silver_dataset"
    write_split(silver / "splits" / "train.csv", [("dcm-a", "10000032", "50414267")])
    write_split(silver / "splits" / "valid.csv", [("dcm-b", "10000033", "50414268")])
    write_split(
        silver / "splits" / "test.csv",
        [("dcm-c", "11000034", "50414269"), ("dcm-d", "11000035", "50414270")],
    )
    graphs = silver / "scene_graph"
    write_scene_graph(
        graphs,
        "dcm-a",
        "10000032",
        "50414267",
        [scene_object(name, box, SIZE) for name, box in BOXES.items()],
        [
            scene_attributes(
                LLLZ,
                [
                    "New left lower lobe opacity, d/w Dr. John Smith on 03/04/2150.",
                    "No left effusion.",
                ],
                [
                    ["anatomicalfinding|yes|lung opacity", "nlp|yes|abnormal"],
                    ["anatomicalfinding|no|pleural effusion", "anatomicalfinding|yes|made-up"],
                ],
            ),
            scene_attributes(
                "cardiac silhouette",
                ["Heart size is enlarged."],
                [["anatomicalfinding|yes|enlarged cardiac silhouette"]],
            ),
        ],
    )
    write_scene_graph(graphs, "dcm-c", "11000034", "50414269", [], [])
    (graphs / "dcm-d_SceneGraph.json").write_text("{not json")
    mimic_image(root, "11000035", "50414270", "dcm-d", SIZE, seed=2)
    mimic_image(root, "10000032", "50414267", "dcm-a", SIZE)
    mimic_image(root, "10000033", "50414268", "dcm-b", SIZE, seed=1)
    return root


def test_build_anatomy_sentences_and_presence(tmp_path: Path) -> None:
    root = imagenome_root(tmp_path)
    cfg = write_config(
        tmp_path / "build.yaml",
        [{"kind": "chest_imagenome", "root": str(root)}],
        privacy={"salt": SALT},
        image_max_side=100,  # published at half size: boxes are normalized, not pixels
        records={"sequences": False},
    )
    out = tmp_path / "out"
    run_build(load_config(cfg), out)
    quarantine = pq.read_table(out / "_build" / "tables" / "quarantine.parquet").to_pylist()
    assert sorted((q["stage"], q["reason"], q["unit"], q["row_number"]) for q in quarantine) == [
        ("findings", "label_unmapped", "label_row", 1),
        ("plan", "file_missing", "item", None),
        ("plan", "scene_graph_missing", "label_row", 1),
        ("read", "scene_graph_unreadable", "item", None),
    ]
    by_reason = {q["reason"]: q for q in quarantine}
    assert "'made-up'" in by_reason["label_unmapped"]["message"]
    assert by_reason["label_unmapped"]["source_ref"].endswith("dcm-a_SceneGraph.json")
    assert by_reason["scene_graph_missing"]["source_ref"].endswith("valid.csv")
    assert "dcm-b_SceneGraph.json" in by_reason["scene_graph_missing"]["message"]
    assert by_reason["file_missing"]["source_ref"].endswith("s50414269/dcm-c.jpg")

    records = _records(out)
    study = Pseudonymizer(SALT).study("chest_imagenome", "dcm-a")
    assert {r["image"]["study_id"] for r in records} == {study}
    anatomy = {
        r["label"]: r
        for r in records
        if r["task"] == "phrase_grounding" and r["question"].count('"') == 0
    }
    assert set(anatomy) == {f"anatomy:{n}" for n in BOXES}
    for name, want in BOXES.items():
        (b,) = anatomy[f"anatomy:{name}"]["answer_boxes"]
        got = Box(b["x1"], b["y1"], b["x2"], b["y2"]).to_pixels(*SIZE)
        assert max(abs(g - e) for g, e in zip(got, want, strict=True)) <= 1.0, name
        small = scene_object(name, want, SIZE)  # the 224-space box is another box
        corners = (small[k] for k in ("x1", "y1", "x2", "y2"))
        assert max(abs(s - v) for s, v in zip(corners, want, strict=True)) > 1.0
        assert "finding" not in anatomy[f"anatomy:{name}"]["question"]

    sentences = sorted((r["label"], r["question"]) for r in records if '"' in r["question"])
    assert [label for label, _ in sentences] == [
        "anatomy:cardiac silhouette",
        f"anatomy:{LLLZ}",
        f"anatomy:{LLLZ}",
    ]
    assert any("No left effusion." in q for _, q in sentences)
    assert any("d/w Dr. [name] on [date]." in q for _, q in sentences)  # de-identified
    assert "Smith" not in json.dumps(records) and "03/04/2150" not in json.dumps(records)

    presence = {
        (r["label"], r["answer"].startswith("Yes")): r for r in records if r["task"] == "presence"
    }
    assert set(presence) == {
        ("lung_opacity", True),
        ("pleural_effusion", False),
        ("cardiomegaly", True),
    }
    (b,) = presence[("lung_opacity", True)]["answer_boxes"]
    got = Box(b["x1"], b["y1"], b["x2"], b["y2"]).to_pixels(*SIZE)
    assert max(abs(g - e) for g, e in zip(got, BOXES[LLLZ], strict=True)) <= 1.0
    assert presence[("pleural_effusion", False)]["answer_boxes"] == []
    assert LLLZ in presence[("pleural_effusion", False)]["question"]
    assert {r["provenance"]["licence"] for r in records} == {"Chest-ImaGenome"}


def test_scene_graph_entries_that_cannot_be_used() -> None:
    graph = {
        "objects": [
            scene_object("right lung", (10, 10, 90, 150), SIZE),
            scene_object("left lung", (100, 10, 230, 150), SIZE),  # past the 200-px edge
            {**scene_object("spine", (90, 0, 110, 160), SIZE), "bbox_name": "tail"},
            {**scene_object("trachea", (95, 0, 105, 40), SIZE), "original_x2": "wide"},
        ],
        "attributes": [
            scene_attributes("right lung", ["x"], [["anatomicalfinding|maybe|lung opacity"]]),
            scene_attributes("right lung", ["y"], [["technicalassessment|yes|low lung volumes"]]),
        ],
    }
    parsed = parse_scene_graph(graph)
    assert set(parsed.regions) == {"right lung", "left lung"}
    assert [(r, n) for r, _m, n in parsed.problems] == [
        (Reason.LABEL_UNMAPPED, 3),
        (Reason.BAD_CSV_ROW, 4),
        (Reason.BAD_CSV_ROW, 1),
    ]
    assert parsed.statements == []  # technicalassessment is not a finding: not read
    boxes, outside = region_boxes(parsed, *SIZE)
    assert set(boxes) == {"right lung"}
    assert [(r, name) for r, _m, name in outside] == [(Reason.BOX_OUT_OF_BOUNDS, "left lung")]


def test_kind_and_root_are_a_complete_config(tmp_path: Path) -> None:
    cfg = load_config(
        write_config(tmp_path / "build.yaml", [{"kind": "chest_imagenome", "root": "ig"}])
    )
    (settings,) = cfg.sources
    assert settings.root == tmp_path / "ig"
    assert (settings.splits_dir, settings.scene_graph_dir, settings.splits) == (
        "silver_dataset/splits",
        "silver_dataset/scene_graph",
        ("train", "valid", "test"),
    )


def test_region_names_licence_and_layout(realdata: Path) -> None:
    names = json.loads((realdata / "labels" / "chest_imagenome_bbox_names.json").read_text())
    assert sorted(BBOX_NAMES) == sorted(names["bbox_names"]) and len(BBOX_NAMES) == 36
    source = source_for("chest_imagenome")
    assert "Wu JT" in licences()["Chest-ImaGenome"].citation
    assert "Credentialed" in licences()["Chest-ImaGenome"].name
    assert "original_x1" in source.layout and "_SceneGraph.json" in source.layout
