"""Planning CSV datasets: every label row ends as part of an item or as a quarantine row."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas.identity import Pseudonymizer
from sources.radiograph import nih_cxr14, rsna_pneumonia
from sources.radiograph.csv_labels import CsvSourceSpec, SourceError, plan_csv_source
from tests.helpers import gradient_png, nih_dataset, phi, rsna_dataset

IDS = Pseudonymizer("test-salt")


def nih_plan(root: Path):
    spec = CsvSourceSpec.at(
        nih_cxr14.FORMAT,
        dataset="nih",
        root=root,
        labels_csv="BBox_List_2017.csv",
        images_dir="images",
    )
    return plan_csv_source(spec, IDS)


def test_nih_rows_grouped_by_image(tmp_path: Path) -> None:
    root = nih_dataset(
        tmp_path,
        [
            ("00000001_000.png", "Nodule", 1, 2, 3, 4),
            ("00000001_000.png", "Effusion", 5, 6, 7, 8),
            ("00000002_001.png", "Infiltrate", 10, 10, 20, 20),
        ],
        ["00000001_000.png", "00000002_001.png", "00000003_000.png"],
    )
    plan = nih_plan(root)
    assert plan.quarantine == [] and plan.n_label_rows == 3
    a, b = plan.items
    assert (a.item_id, a.patient_key, b.patient_key) == ("00000001_000.png", "00000001", "00000002")
    assert [(r.label, r.box_xywh) for r in a.rows] == [
        ("nodule", (1, 2, 3, 4)),
        ("pleural_effusion", (5, 6, 7, 8)),
    ]
    assert b.rows[0].label == "infiltration" and b.rows[0].row_number == 3
    assert any("1 image file(s)" in n and "00000003_000.png" in n for n in plan.notes)


def test_nih_bad_duplicate_and_missing(tmp_path: Path) -> None:
    root = nih_dataset(
        tmp_path,
        [
            ("a_000.png", "Nodule", 1, 2, 3, 4),
            ("a_000.png", "Nodule", 1, 2, 3, 4),  # repeated row
            ("a_000.png", "Tumour", 1, 2, 3, 4),  # unknown label
            ("a_000.png", "Mass", "x", 2, 3, 4),  # not a number
            ("a_000.png", "Mass", 1, 2, 0, 4),  # empty box
            ("gone_000.png", "Mass", 1, 2, 3, 4),  # file missing
        ],
        ["a_000.png"],
    )
    gradient_png(root / "images" / "sub" / "a_000.png")  # same id, second file
    plan = nih_plan(root)
    reasons = sorted((q.reason, q.row_number, q.unit) for q in plan.quarantine)
    assert reasons == [
        ("bad_csv_row", 3, "label_row"),
        ("bad_csv_row", 4, "label_row"),
        ("bad_csv_row", 5, "label_row"),
        ("duplicate_image_id", None, "item"),
        ("duplicate_row", 2, "label_row"),
        ("file_missing", None, "item"),
    ]
    messages = {q.reason: q.message for q in plan.quarantine}
    assert "'Tumour' is not one of" in next(q.message for q in plan.quarantine if q.row_number == 3)
    assert "field 'x': 'x' is not a number" in next(
        q.message for q in plan.quarantine if q.row_number == 4
    )
    assert "gone_000.png" in messages["file_missing"]
    dup = next(q for q in plan.quarantine if q.reason == "duplicate_image_id")
    assert dup.source_ref.endswith("images/sub/a_000.png") and dup.item_id == IDS.study(
        "nih", "a_000.png"
    )
    (item,) = plan.items
    assert item.path.endswith("images/a_000.png") and len(item.rows) == 1


def test_rsna_targets_and_contradictions(tmp_path: Path) -> None:
    root = rsna_dataset(
        tmp_path,
        [
            ["p1", "10", "10", "20", "20", "1"],
            ["p1", "30", "30", "5", "5", "1"],
            ["p2", "", "", "", "", "0"],
            ["p3", "1", "1", "2", "2", "1"],
            ["p3", "", "", "", "", "0"],  # contradicts the box above
            ["p4", "1", "1", "2", "2", "0"],  # Target 0 with a box
            ["p5", "", "", "", "", "2"],  # bad target
        ],
        {f"p{i}": phi(i) for i in range(1, 6)},
    )
    spec = CsvSourceSpec.at(
        rsna_pneumonia.FORMAT,
        dataset="rsna",
        root=root,
        labels_csv="labels.csv",
        images_dir="images",
    )
    plan = plan_csv_source(spec, IDS)
    assert sorted((q.row_number, q.reason) for q in plan.quarantine) == [
        (5, "bad_csv_row"),
        (6, "bad_csv_row"),
        (7, "bad_csv_row"),
    ]
    items = {i.item_id: i for i in plan.items}
    assert sorted(items) == ["p1", "p2", "p3"]
    assert [r.present for r in items["p1"].rows] == [True, True]
    assert items["p2"].rows[0].present is False and items["p2"].rows[0].box_xywh is None
    assert items["p1"].reader == "dicom" and items["p1"].licence == "RSNA-Pneumonia-Challenge"


def test_unreadable_label_file_is_a_clear_error(tmp_path: Path) -> None:
    spec = CsvSourceSpec.at(
        nih_cxr14.FORMAT, dataset="nih", root=tmp_path, labels_csv="none.csv", images_dir="images"
    )
    with pytest.raises(SourceError, match=r"label file not found: .*none\.csv"):
        plan_csv_source(spec, IDS)
    (tmp_path / "bad.csv").write_text("patientId,x\nfoo,1\n")
    spec = CsvSourceSpec.at(
        nih_cxr14.FORMAT, dataset="nih", root=tmp_path, labels_csv="bad.csv", images_dir="images"
    )
    missing = r"bad\.csv: header .*missing column\(s\) \['Image Index', 'Finding Label'"
    with pytest.raises(SourceError, match=missing):
        plan_csv_source(spec, IDS)


@pytest.mark.realdata
def test_real_nih_box_list(realdata: Path) -> None:
    spec = CsvSourceSpec.at(
        nih_cxr14.FORMAT,
        dataset="nih",
        root=realdata / "cxr" / "nih_cxr14",
        labels_csv="BBox_List_2017.csv",
        images_dir="images",
    )
    plan = plan_csv_source(spec, IDS)
    assert plan.n_label_rows == 984
    assert len(plan.items) == 4
    assert {q.reason for q in plan.quarantine} == {"file_missing"}
    assert len(plan.items) + len(plan.quarantine) == 880  # every image the list names
    item = next(i for i in plan.items if i.item_id == "00000032_037.png")
    assert item.rows[0].label == "infiltration"
    assert item.rows[0].box_xywh == pytest.approx(
        (339.1661376, 119.1957672, 172.2920635, 351.0857143)
    )


def rsna_plan(root: Path):
    spec = CsvSourceSpec.at(
        rsna_pneumonia.FORMAT,
        dataset="rsna",
        root=root,
        labels_csv="labels.csv",
        images_dir="images",
    )
    return plan_csv_source(spec, IDS)


def test_reordered_columns_are_read_by_name(tmp_path: Path) -> None:
    """Issue 13 finding 5: an RSNA file with ``patientId,y,x,height,width`` gave transposed
    boxes (only the first header column was checked)."""
    rsna_dataset(tmp_path, [], {"p1": phi(1)})
    (tmp_path / "labels.csv").write_text(
        "Target,patientId,y,x,height,width,extra\n1,p1,10,20,30,40,z\n"
    )
    plan = rsna_plan(tmp_path)
    assert plan.quarantine == []
    assert [r.box_xywh for r in plan.items[0].rows] == [(20.0, 10.0, 40.0, 30.0)]


def test_header_missing_a_column_names_it(tmp_path: Path) -> None:
    rsna_dataset(tmp_path, [], {"p1": phi(1)})
    (tmp_path / "labels.csv").write_text("patientId,x,y,width,Target\np1,1,2,3,1\n")
    with pytest.raises(
        SourceError, match=r"labels\.csv: header .*missing column\(s\) \['height'\]"
    ):
        rsna_plan(tmp_path)
    (tmp_path / "labels.csv").write_text("patientId,x,y,width,height,x,Target\np1,1,2,3,4,5,1\n")
    with pytest.raises(SourceError, match=r"column\(s\) \['x'\] appear more than once"):
        rsna_plan(tmp_path)


def test_nih_columns_in_another_order(tmp_path: Path) -> None:
    nih_dataset(tmp_path, [("a_000.png", "Nodule", 1, 2, 3, 4)], ["a_000.png"])
    (tmp_path / "BBox_List_2017.csv").write_text(
        "Finding Label,Image Index,Bbox [x,y,w,h]\nNodule,a_000.png,1,2,3,4\n"
    )
    plan = nih_plan(tmp_path)
    assert plan.quarantine == [] and plan.items[0].rows[0].box_xywh == (1, 2, 3, 4)
