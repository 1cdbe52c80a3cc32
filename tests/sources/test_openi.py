"""OpenI (``sources.radiograph.openi``): the 800 real report XMLs (no images) planned and
counted against the XMLs read here with ``xml.etree``; and a whole build of reports written
in the published layout with PNGs, whose findings become presence records on the frontal
image."""

from __future__ import annotations

import csv
import gzip
import json
import tarfile
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

import pyarrow.parquet as pq

from engine.config import load_config
from engine.pipeline import run_build
from schemas.identity import Pseudonymizer
from sources.base import PlanContext
from sources.radiograph.openi import Settings, frontal_choice, plan, read_report_file
from sources.registry import licences, source_for
from tests.helpers import gradient_png, record_shards, write_config

IDS = Pseudonymizer("test-salt")
SALT = "openi-tests"


def _independent(folder: Path) -> dict[int, dict]:
    """Each XML's text presence and parentImage ids, read without the connector."""
    out = {}
    for path in folder.glob("*.xml"):
        root = ET.parse(path).getroot()
        text = {
            (a.get("Label") or "").upper(): (a.text or "").strip()
            for a in root.iter("AbstractText")
        }
        out[int(path.stem)] = {
            "text": bool(text.get("FINDINGS") or text.get("IMPRESSION")),
            "images": [p.get("id") for p in root.iter("parentImage")],
        }
    return out


def _views(path: Path) -> dict[str, str]:
    with gzip.open(path, "rt", newline="") as f:
        return {r["imageid"]: r["View Position"] for r in csv.DictReader(f)}


def test_real_reports_every_one_planned(realdata: Path, tmp_path: Path) -> None:
    root = realdata / "cxr" / "openi"
    want = _independent(root / "ecgen-radiology")
    assert len(want) == 800
    n_images = sum(len(r["images"]) for r in want.values())
    assert n_images == 1542  # parentImage ids over the 800 XMLs
    # the connector's reading of each XML names the same images, in the same order
    for n, r in want.items():
        assert list(read_report_file(root / "ecgen-radiology" / f"{n}.xml").images) == r["images"]
    got = plan(Settings(kind="openi", root=root), PlanContext(IDS, tmp_path))
    assert "790 with text and a frontal image among their 1530 image(s)" in got.notes[-1]
    assert got.n_label_rows == 800 and got.items == []  # no images: nothing to process
    per_report = Counter(int(Path(q.source_ref).stem) for q in got.quarantine)
    assert set(per_report) == set(want) and set(per_report.values()) == {1}  # one row each
    reasons = Counter(q.reason for q in got.quarantine)
    no_text = sum(not r["text"] for r in want.values())
    assert reasons["report_missing"] == no_text == 3
    views = _views(root / "nlmcxr_dicom_metadata.csv.gz")
    lateral = {"LL", "RL", "LATERAL", "LARGE LATERAL"}
    only_lateral = [
        n
        for n, r in want.items()
        if r["text"] and r["images"] and all(views.get(i) in lateral for i in r["images"])
    ]
    assert reasons["no_frontal_view"] == len(only_lateral) == 7
    assert reasons["file_missing"] == 800 - no_text - len(only_lateral) == 790
    assert reasons["report_no_image"] == 0
    # the image each file_missing row names is PA/AP by the metadata whenever the study has one
    for q in got.quarantine:
        if q.reason != "file_missing":
            continue
        images = want[int(Path(q.source_ref).stem)]["images"]
        frontal = [i for i in images if views.get(i) in ("PA", "AP")]
        named = next(i for i in images if f"{i}.png" in q.message)
        assert named == (frontal[0] if frontal else named)
        assert views.get(named) not in lateral


def test_frontal_choice_rules() -> None:
    views = {"a": "LL", "b": "PA", "c": ""}
    assert frontal_choice(("a", "b"), views) == ("b", "metadata View Position PA")
    assert frontal_choice(("a", "c"), views)[0] == "c"
    assert frontal_choice(("a",), views) is None
    assert frontal_choice(("a", "b"), None) == ("a", "first parentImage (no metadata CSV)")


def _xml(number: int, findings: str, impression: str, images: list[str]) -> str:
    parents = "".join(
        f'<parentImage id="{i}"><figureId>F{k}</figureId><caption>Xray Chest PA and Lateral'
        f'</caption><panel type="single"><url>/hadoop/storage/radiology/extract/{i}.jpg</url>'
        "</panel></parentImage>"
        for k, i in enumerate(images, start=1)
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><eCitation><meta type="rr"/>'
        f'<uId id="CXR{number}"/><MedlineCitation><Article><Abstract>'
        '<AbstractText Label="COMPARISON">None.</AbstractText>'
        '<AbstractText Label="INDICATION">XXXX-year-old male, cough</AbstractText>'
        f'<AbstractText Label="FINDINGS">{findings}</AbstractText>'
        f'<AbstractText Label="IMPRESSION">{impression}</AbstractText>'
        "</Abstract></Article></MedlineCitation>"
        "<MeSH><major>Pleural Effusion/right/small</major></MeSH>"
        f"{parents}</eCitation>"
    )


def _records(out: Path) -> list[dict]:
    records = []
    for tar_path in record_shards(out):
        if "_build" not in tar_path.parts:
            with tarfile.open(tar_path) as tar:
                for m in tar.getmembers():
                    if m.name.endswith(".json"):
                        records.append(json.loads(tar.extractfile(m).read()))
    return records


def test_build_presence_on_the_frontal_image(tmp_path: Path) -> None:
    root = tmp_path / "openi"
    reports = root / "ecgen-radiology"
    reports.mkdir(parents=True)
    (reports / "1.xml").write_text(
        _xml(
            1,
            "There is a small right pleural effusion. No pneumothorax.",
            "Right effusion.",
            ["CXR1_1_IM-0001-4001", "CXR1_1_IM-0001-3001"],  # lateral listed first
        )
    )
    (reports / "2.xml").write_text(
        _xml(2, "Heart size normal.", "No acute disease.", ["CXR2_IM-0652-1001"])
    )  # no image on disk
    (reports / "3.xml").write_text(_xml(3, "The lungs are clear.", "Normal chest.", ["CXR3_A"]))
    with gzip.open(root / "nlmcxr_dicom_metadata.csv.gz", "wt", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["imageid", "Rows", "View Position", "Columns"])
        w.writerows([["CXR1_1_IM-0001-4001", 64, "LL", 64], ["CXR1_1_IM-0001-3001", 64, "PA", 64]])
        w.writerow(["CXR3_A", 64, "PA", 64])
    for i, name in enumerate(["CXR1_1_IM-0001-4001", "CXR1_1_IM-0001-3001", "CXR3_A"]):
        gradient_png(root / "NLMCXR_png" / f"{name}.png", 64, seed=i)
    cfg = write_config(
        tmp_path / "build.yaml",
        [{"kind": "openi", "root": str(root)}],
        privacy={"salt": SALT},
        records={"sequences": False},
    )
    out = tmp_path / "out"
    run_build(load_config(cfg), out)
    quarantine = pq.read_table(out / "_build" / "tables" / "quarantine.parquet").to_pylist()
    assert sorted((q["reason"], Path(q["source_ref"]).name) for q in quarantine) == [
        ("file_missing", "2.xml"),
        ("no_report_finding", "3.xml"),  # normal statements name no finding
    ]
    records = _records(out)
    frontal = Pseudonymizer(SALT).study("openi", "CXR1_1_IM-0001-3001")
    assert {r["image"]["study_id"] for r in records} == {frontal}
    presence = sorted((r["label"], r["answer"]) for r in records if r["task"] == "presence")
    assert [label for label, _ in presence] == ["pleural_effusion", "pneumothorax"]
    assert presence[0][1].startswith("Yes") and presence[1][1].startswith("No")
    assert all(r["answer_boxes"] == [] for r in records)  # a report draws no box
    assert {r["provenance"]["licence"] for r in records} == {"OpenI-IU-CXR"}


def test_declared_licence_and_layout() -> None:
    assert "Demner-Fushman D" in licences()["OpenI-IU-CXR"].citation
    assert "J Am Med Inform Assoc 2016" in licences()["OpenI-IU-CXR"].citation
    assert "parentImage" in source_for("openi").layout
