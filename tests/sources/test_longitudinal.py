"""Longitudinal pairs (``sources.radiograph.longitudinal``) and their Non_Registered_Diff
records (``records.sequences.longitudinal``): the real NIH ``Data_Entry_2017`` table's
candidate pairs counted independently, no record for a pair without a labelled change, and
the labelled changes of the real box list counted against the two tables read here; and the
``chest_imagenome_longitudinal`` kind on MIMIC-CXR / Chest ImaGenome fixtures (published
layout): one record for the one labelled change, its box the current study's region."""

from __future__ import annotations

import csv
import gzip
from collections import defaultdict
from pathlib import Path

import pytest

from records.sequences.longitudinal import change_records
from schemas.boxes import Box
from schemas.enums import MedSGTask
from schemas.records import Provenance, Study
from schemas.vocab import NIH_DATA_ENTRY_LABELS
from sources.radiograph.longitudinal import (
    Exam,
    Pair,
    candidate_pairs,
    labelled_changes,
    read_nih_boxes,
    read_nih_data_entry,
)
from tests.helpers import record_shards


def _data_entry(realdata: Path) -> Path:
    return realdata / "cxr" / "nih_cxr14_labels" / "Data_Entry_2017_v2020.csv.gz"


def _independent_timelines(path: Path) -> dict[str, list[tuple[int, str, set[str]]]]:
    """Patient -> [(follow-up #, image, raw labels)] sorted, read with csv alone."""
    out: dict[str, list] = defaultdict(list)
    with gzip.open(path, "rt", newline="") as f:
        for row in csv.DictReader(f):
            labels = set(row["Finding Labels"].split("|")) - {"No Finding"}
            out[row["Patient ID"]].append((int(row["Follow-up #"]), row["Image Index"], labels))
    return {p: sorted(v) for p, v in out.items()}


def test_real_nih_candidate_pairs(realdata: Path) -> None:
    path = _data_entry(realdata)
    timelines = _independent_timelines(path)
    assert sum(len(v) for v in timelines.values()) == 112_120
    followed = [v for v in timelines.values() if len(v) >= 2]
    want_pairs = sum(len(v) - 1 for v in followed)
    # follow-up numbers are unique within a patient, so every step is a pair
    assert all(len({n for n, _i, _l in v}) == len(v) for v in followed)
    timeline = read_nih_data_entry(path)
    assert timeline.unmapped == {"Hernia": 227}
    pairs = candidate_pairs(timeline.exams)
    assert len(pairs) == want_pairs == 112_120 - len(timelines)
    assert len({p.current.patient for p in pairs}) == len(followed) == 13_302
    # Data_Entry has no boxes: no pair has a labelled change, so no pair gives a record
    assert not any(labelled_changes(p) for p in pairs)
    prior, current = _studies()
    prov = Provenance.of(current, "sources.longitudinal", "1", 1.0)
    for p in pairs[:500]:
        assert change_records(prior, current, labelled_changes(p), seed=0, provenance=prov) == []


def test_real_nih_changes_with_the_box_list(realdata: Path) -> None:
    boxes_csv = realdata / "cxr" / "nih_cxr14" / "BBox_List_2017.csv"
    timelines = _independent_timelines(_data_entry(realdata))
    # independently: each boxed (image, label) whose previous follow-up lacks the label
    labels_of = {
        i: (p, k, labels) for p, v in timelines.items() for k, (_n, i, labels) in enumerate(v)
    }
    want = set()
    with boxes_csv.open(newline="") as f:
        for row in list(csv.reader(f))[1:]:
            image, raw = row[0], row[1]
            if raw not in NIH_DATA_ENTRY_LABELS or image not in labels_of:
                continue
            patient, k, labels = labels_of[image]
            spelled = "Infiltration" if raw == "Infiltrate" else raw
            if k > 0 and spelled in labels:
                prior_labels = timelines[patient][k - 1][2]
                if spelled not in prior_labels:
                    want.add((image, NIH_DATA_ENTRY_LABELS[raw]))
    timeline = read_nih_data_entry(_data_entry(realdata), read_nih_boxes(boxes_csv))
    got = {
        (p.current.image_id, c.label)
        for p in candidate_pairs(timeline.exams)
        for c in labelled_changes(p)
    }
    assert got == want
    assert len(got) == 544 and len({image for image, _label in got}) == 509


def _studies(size: int = 100) -> tuple[Study, Study]:
    def study(n: int) -> Study:
        return Study(
            f"s{n}", "p1", "nih", f"i{n}", "XR", "PA", 50, 50, size, size, f"{n}.png", "x",
            "NIH-CXR14", "train",
        )  # fmt: skip

    return study(0), study(1)


def _exam(order, present, boxes=None, exhaustive=frozenset(), absent=frozenset()):
    return Exam(
        "p1", (order,), f"img{order}", frozenset(present), frozenset(absent),
        frozenset(exhaustive), boxes or {},
    )  # fmt: skip


def test_labelled_change_rule_and_record() -> None:
    vocab = {"nodule", "mass", "atelectasis"}
    box = ((20.0, 30.0, 10.0, 15.0),)
    new = Pair(_exam(0, set(), exhaustive=vocab), _exam(1, {"nodule"}, {"nodule": box}))
    assert [c.label for c in labelled_changes(new)] == ["nodule"]
    both = Pair(_exam(0, {"nodule"}, exhaustive=vocab), _exam(1, {"nodule"}, {"nodule": box}))
    unstated = Pair(_exam(0, set()), _exam(1, {"nodule"}, {"nodule": box}))
    unboxed = Pair(_exam(0, set(), exhaustive=vocab), _exam(1, {"nodule"}))
    stated_no = Pair(_exam(0, set(), absent={"nodule"}), _exam(1, {"nodule"}, {"nodule": box}))
    resolved = Pair(_exam(0, {"mass"}, {"mass": box}, exhaustive=vocab), _exam(1, set()))
    assert [labelled_changes(p) for p in (both, unstated, unboxed, resolved)] == [[]] * 4
    assert [c.label for c in labelled_changes(stated_no)] == ["nodule"]

    prior, current = _studies()
    prov = Provenance.of(current, "sources.longitudinal", "1", 1.0)
    changes = [(c.label, c.boxes) for c in labelled_changes(new)]
    (record,) = change_records(prior, current, changes, seed=3, provenance=prov)
    assert record.task == MedSGTask.NON_REGISTERED_DIFF.value
    assert [i.study_id for i in record.images] == ["s0", "s1"]
    (b,) = record.answer_boxes
    assert b.image_index == 1
    got = Box(b.x1, b.y1, b.x2, b.y2).to_pixels(100, 100)
    assert max(abs(g - e) for g, e in zip(got, (20, 30, 30, 45), strict=True)) <= 1.0
    assert "nodule" in record.question + record.answer
    again = change_records(prior, current, changes, seed=3, provenance=prov)
    assert again[0].record_id == record.record_id  # deterministic
    outside = [("nodule", ((95.0, 95.0, 30.0, 30.0),))]
    assert change_records(prior, current, outside, seed=3, provenance=prov) == []


def test_ties_are_not_ordered() -> None:
    a, b, c = _exam(0, set()), _exam(1, set()), _exam(1, set())
    c = Exam("p1", (1,), "other", frozenset())
    d = _exam(2, set())
    assert candidate_pairs([a, b, c, d]) == []  # 0 -> {1, 1} -> 2: every step has a tie
    assert candidate_pairs([a, d]) == [Pair(a, d)]


# ---- the nih_cxr14_longitudinal kind: a whole build ----------------------------------------

DATA_ENTRY_HEADER = (
    "Image Index,Finding Labels,Follow-up #,Patient ID,Patient Age,Patient Gender,"
    "View Position,OriginalImage[Width,Height],OriginalImagePixelSpacing[x,y]"
)


def test_build_pairs_with_a_labelled_change(tmp_path: Path) -> None:
    import json
    import tarfile

    import pyarrow.parquet as pq

    from engine.config import load_config
    from engine.pipeline import run_build
    from schemas.identity import Pseudonymizer
    from tests.helpers import gradient_png, write_config

    root = tmp_path / "nih"
    root.mkdir()
    rows = [
        ("00000001_000.png", "No Finding", 0, 1),
        ("00000001_001.png", "Nodule|Effusion", 1, 1),  # nodule new, boxed: a change
        ("00000002_000.png", "Mass", 0, 2),
        ("00000002_001.png", "Mass", 1, 2),  # mass in both: no change
        ("00000003_000.png", "No Finding", 0, 3),  # image missing
        ("00000003_001.png", "Atelectasis", 1, 3),
    ]
    (root / "Data_Entry_2017.csv").write_text(
        DATA_ENTRY_HEADER
        + "\n"
        + "".join(f"{i},{lab},{n},{p},50,M,PA,1024,1024,0.143,0.143\n" for i, lab, n, p in rows)
    )
    (root / "BBox_List_2017.csv").write_text(
        "Image Index,Finding Label,Bbox [x,y,w,h],,,\n"
        "00000001_001.png,Nodule,20.5,30.25,10,12\n"
        "00000002_001.png,Mass,5,5,20,20\n"
        "00000003_001.png,Atelectasis,10,10,30,20\n"
    )
    for n, (name, *_r) in enumerate(rows[:4] + rows[5:]):
        gradient_png(root / "images" / name, 64, seed=n)
    cfg = write_config(
        tmp_path / "build.yaml",
        [{"kind": "nih_cxr14_longitudinal", "root": str(root)}],
        privacy={"salt": "pairs"},
        records={"sequences": False},
    )
    out = tmp_path / "out"
    run_build(load_config(cfg), out)
    quarantine = pq.read_table(out / "_build" / "tables" / "quarantine.parquet").to_pylist()
    assert [(q["reason"], Path(q["source_ref"]).name) for q in quarantine] == [
        ("file_missing", "00000003_000.png")
    ]
    records = []
    for tar_path in record_shards(out):
        if "_build" not in tar_path.parts:
            with tarfile.open(tar_path) as tar:
                records += [
                    json.loads(tar.extractfile(m).read())
                    for m in tar.getmembers()
                    if m.name.endswith(".json")
                ]
    (record,) = records
    ids = Pseudonymizer("pairs")
    assert record["task"] == "Non_Registered_Diff"
    assert [i["study_id"] for i in record["images"]] == [
        ids.study("nih_cxr14_longitudinal", "00000001_000.png"),
        ids.study("nih_cxr14_longitudinal", "00000001_001.png"),
    ]
    (b,) = record["answer_boxes"]
    assert b["image_index"] == 1
    got = Box(b["x1"], b["y1"], b["x2"], b["y2"]).to_pixels(64, 64)
    assert max(abs(g - e) for g, e in zip(got, (20.5, 30.25, 30.5, 42.25), strict=True)) <= 1.0


def test_real_tables_planned(realdata: Path, tmp_path: Path) -> None:
    from schemas.identity import Pseudonymizer
    from sources.base import PlanContext
    from sources.radiograph.nih_longitudinal import Settings, plan

    root = realdata / "cxr" / "nih_cxr14"
    settings = Settings(
        kind="nih_cxr14_longitudinal",
        root=root,
        data_entry_csv="../nih_cxr14_labels/Data_Entry_2017_v2020.csv.gz",
    )
    got = plan(settings, PlanContext(Pseudonymizer("x"), tmp_path))
    assert got.n_label_rows == 112_120 - 30_805  # images minus patients: consecutive steps
    assert "81315 candidate pair(s)" in got.notes[0]
    assert "509 with a labelled change" in got.notes[0]  # 544 changes on 509 current images
    # the 2 shared PNGs are first follow-ups with no earlier image: no pair has both images
    assert got.items == []
    assert {q.reason for q in got.quarantine} == {"file_missing"}
    assert len(got.quarantine) >= 509  # every changed pair names at least one missing image


# ---- MIMIC-CXR studies labelled by Chest ImaGenome scene graphs ----------------------------


def test_mimic_imagenome_pairs() -> None:
    from sources.radiograph.chest_imagenome import parse_scene_graph
    from sources.radiograph.longitudinal import mimic_exams
    from sources.radiograph.mimic import MimicImage
    from tests.sources.mimic_fixtures import scene_attributes, scene_object

    angle = "left costophrenic angle"
    box = (120.0, 110.0, 170.0, 150.0)

    def graph(labels: list[str]):
        return parse_scene_graph(
            {
                "objects": [scene_object(angle, box)],
                "attributes": [scene_attributes(angle, ["s"], [labels])] if labels else [],
            }
        )

    def image(dicom, study, date, view="PA", subject="10000032"):
        return MimicImage(dicom, subject, study, view, date, "101500", 1)

    images = [
        # study ids out of date order: the date orders them
        image("d-late", "50000001", "21500301"),
        image("d-early", "59999999", "21500101"),
        image("d-early-lat", "59999999", "21500101", view="LATERAL"),
        image("d-mid", "55555555", "21500201"),
        image("o-1", "51000000", "21500101", subject="10000040"),
        image("o-2", "51000001", "21500201", subject="10000040"),
    ]
    graphs = {
        "d-early": graph(["anatomicalfinding|no|pleural effusion"]),
        "d-mid": graph(["anatomicalfinding|yes|pleural effusion"]),
        "d-late": graph(["anatomicalfinding|yes|pleural effusion"]),
        "o-1": graph([]),  # says nothing of effusion: not absent
        "o-2": graph(["anatomicalfinding|yes|pleural effusion"]),
    }
    pairs = candidate_pairs(mimic_exams(images, graphs))
    assert [(p.prior.image_id, p.current.image_id) for p in pairs] == [
        ("d-early", "d-mid"),
        ("d-mid", "d-late"),
        ("o-1", "o-2"),
    ]
    changes = [labelled_changes(p) for p in pairs]
    assert changes[1:] == [[], []]  # present in both; prior silent
    (change,) = changes[0]
    assert change.label == "pleural_effusion"
    assert change.boxes == ((120.0, 110.0, 50.0, 40.0),)  # the region, original pixels xywh


# ---- the chest_imagenome_longitudinal kind: a whole build ----------------------------------

ANGLE = "left costophrenic angle"
IMAGENOME_SIZE = (200, 160)
PRIOR_BOX = (118.0, 108.0, 168.0, 148.0)
CURRENT_BOX = (120.4, 110.2, 170.6, 150.1)  # the region moves: the answer is the current one


def _imagenome_pairs_root(tmp_path: Path) -> tuple[Path, Path]:
    """Chest ImaGenome graphs under one root, MIMIC-CXR-JPG (metadata, JPGs) under another.
    Subject 10000032: effusion stated no, then yes (a change), then yes again (none);
    10000040: the same change but the prior JPG is missing; 10000050: one study without a
    StudyDate (no timeline); 10000060: the later graph is not JSON (no pair); 10000070: the
    change again, but both studies have one date and time (a tie: no order, no pair)."""
    from tests.sources.mimic_fixtures import (
        mimic_image,
        scene_attributes,
        scene_object,
        write_metadata,
        write_scene_graph,
    )

    root, jpg = tmp_path / "chest-imagenome", tmp_path / "mimic-cxr-jpg"
    graphs = root / "silver_dataset" / "scene_graph"
    studies = [  # dicom, subject, study, date, view, effusion stated, box
        ("a-early", "10000032", "59999999", "21500101", "PA", "no", PRIOR_BOX),
        ("a-early-lat", "10000032", "59999999", "21500101", "LATERAL", None, None),
        ("a-mid", "10000032", "55555555", "21500201", "PA", "yes", CURRENT_BOX),
        ("a-late", "10000032", "50000001", "21500301", "AP", "yes", CURRENT_BOX),
        ("b-1", "10000040", "51000000", "21500101", "PA", "no", PRIOR_BOX),
        ("b-2", "10000040", "51000001", "21500201", "PA", "yes", CURRENT_BOX),
        ("c-1", "10000050", "52000000", "", "PA", "no", PRIOR_BOX),
        ("c-2", "10000050", "52000001", "21500201", "PA", "yes", CURRENT_BOX),
        ("d-1", "10000060", "53000000", "21500101", "PA", "no", PRIOR_BOX),
        ("d-2", "10000060", "53000001", "21500201", "PA", "yes", CURRENT_BOX),
        ("e-1", "10000070", "54000001", "21500101", "PA", "no", PRIOR_BOX),
        ("e-2", "10000070", "54000000", "21500101", "PA", "yes", CURRENT_BOX),
    ]
    w, h = IMAGENOME_SIZE
    write_metadata(
        jpg / "mimic-cxr-2.0.0-metadata.csv",
        [
            {"dicom_id": d, "subject_id": s, "study_id": st, "ViewPosition": v, "Rows": h,
             "Columns": w, "StudyDate": date, "StudyTime": "101500.000"}
            for d, s, st, date, v, _e, _b in studies
        ],
    )  # fmt: skip
    for n, (dicom, subject, study, _date, _view, effusion, box) in enumerate(studies):
        if dicom != "b-1":
            mimic_image(jpg, subject, study, dicom, IMAGENOME_SIZE, seed=n)
        if effusion is None:
            continue
        write_scene_graph(
            graphs,
            dicom,
            subject,
            study,
            [scene_object(ANGLE, box, IMAGENOME_SIZE)],
            [scene_attributes(ANGLE, ["s"], [[f"anatomicalfinding|{effusion}|pleural effusion"]])],
        )
    (graphs / "d-2_SceneGraph.json").write_text("{not json")
    return root, jpg


def test_imagenome_pairs_planned(tmp_path: Path) -> None:
    from schemas.identity import Pseudonymizer
    from sources.base import PlanContext
    from sources.radiograph.imagenome_longitudinal import Settings, plan

    root, jpg = _imagenome_pairs_root(tmp_path)
    settings = Settings(kind="chest_imagenome_longitudinal", root=root, images_root=jpg)
    got = plan(settings, PlanContext(Pseudonymizer("x"), tmp_path / "gen"))
    # a-early -> a-mid (change), a-mid -> a-late (none), b-1 -> b-2 (change, image missing)
    assert got.n_label_rows == 3
    assert "3 candidate pair(s) of consecutive studies, 2 with a labelled change" in got.notes[0]
    assert "1 study(ies) without a StudyDate" in got.notes[1]
    (item,) = got.items
    assert item.item_id == "patient-10000032" and item.reader == "jpeg"
    ((prior, current, ((label, (box,)),)),) = item.settings.pairs
    assert (prior, current, label) == ("a-early", "a-mid", "pleural_effusion")
    x1, y1, x2, y2 = CURRENT_BOX
    assert box == pytest.approx((x1, y1, x2 - x1, y2 - y1))  # xywh, original pixels
    roles = sorted(f.role for f in item.inputs)
    assert roles == ["image:a-early", "image:a-mid", "scene_graph:a-early", "scene_graph:a-mid"]


def test_build_imagenome_pairs(tmp_path: Path) -> None:
    import json
    import tarfile

    import pyarrow.parquet as pq

    from engine.config import load_config
    from engine.pipeline import run_build
    from schemas.identity import Pseudonymizer
    from tests.helpers import write_config

    root, jpg = _imagenome_pairs_root(tmp_path)
    cfg = write_config(
        tmp_path / "build.yaml",
        [{"kind": "chest_imagenome_longitudinal", "root": str(root), "images_root": str(jpg)}],
        privacy={"salt": "pairs"},
        records={"sequences": False},
    )
    out = tmp_path / "out"
    run_build(load_config(cfg), out)
    quarantine = pq.read_table(out / "_build" / "tables" / "quarantine.parquet").to_pylist()
    assert sorted((q["reason"], Path(q["source_ref"]).name) for q in quarantine) == [
        ("file_missing", "b-1.jpg"),
        ("scene_graph_unreadable", "d-2_SceneGraph.json"),
    ]
    records = []
    for tar_path in record_shards(out):
        if "_build" not in tar_path.parts:
            with tarfile.open(tar_path) as tar:
                records += [
                    json.loads(tar.extractfile(m).read())
                    for m in tar.getmembers()
                    if m.name.endswith(".json")
                ]
    (record,) = records
    ids = Pseudonymizer("pairs")
    assert record["task"] == "Non_Registered_Diff"
    assert [i["study_id"] for i in record["images"]] == [
        ids.study("chest_imagenome_longitudinal", "a-early"),
        ids.study("chest_imagenome_longitudinal", "a-mid"),
    ]
    (b,) = record["answer_boxes"]
    assert b["image_index"] == 1
    got = Box(b["x1"], b["y1"], b["x2"], b["y2"]).to_pixels(*IMAGENOME_SIZE)
    assert max(abs(g - e) for g, e in zip(got, CURRENT_BOX, strict=True)) <= 1.0
    assert "effusion" in record["question"] + record["answer"]
