"""DICOM-SEG with its referenced images: the real highdicom samples (BINARY, FRACTIONAL,
overlapping segments on a CT series; a CR SEG whose image is absent; slide-microscopy SEGs)
and a LABELMAP SEG built here with highdicom from the real CT slices. Every box is the box
of the segment's frame, recomputed from highdicom's own pixels."""

from __future__ import annotations

from pathlib import Path

import highdicom as hd
import numpy as np
import pyarrow.parquet as pq
import pydicom

from engine.config import load_config
from engine.pipeline import run_build
from schemas.identity import Pseudonymizer
from tests.helpers import TEST_SALT, write_config

CT2 = ("17136", "17166", "17196")


def _table(out: Path, name: str) -> list[dict]:
    return pq.read_table(out / "_build" / "tables" / f"{name}.parquet").to_pylist()


def _labelmap(root: Path, sample: Path, name: str, *, drop_source: bool = False) -> Path:
    images = [pydicom.dcmread(sample / "referenced_pydicom_CT2" / n) for n in CT2]
    labels = np.zeros((3, 16, 16), np.uint8)
    labels[:, 2:7, 3:9] = 1
    labels[1:, 9:14, 8:15] = 2
    desc = [
        hd.seg.SegmentDescription(
            k,
            label,
            hd.sr.CodedConcept("91723000", "SCT", "Anatomical Structure"),
            hd.sr.CodedConcept("10200004", "SCT", "Liver"),
            hd.seg.SegmentAlgorithmTypeValues.MANUAL,
        )
        for k, label in ((1, "Liver"), (2, "Kidney"))
    ]
    seg = hd.seg.Segmentation(
        source_images=images,
        pixel_array=labels,
        segmentation_type=hd.seg.SegmentationTypeValues.LABELMAP,
        segment_descriptions=desc,
        series_instance_uid=hd.UID(),
        series_number=9,
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer="test",
        manufacturer_model_name="test",
        software_versions="1",
        device_serial_number="1",
    )
    root.mkdir(parents=True, exist_ok=True)
    seg.save_as(root / name)
    if not drop_source:
        for n in CT2:
            link = root / f"ct_{n}.dcm"
            if not link.exists():
                link.symlink_to(sample / "referenced_pydicom_CT2" / n)
    return root / name


def _check_ct2_boxes(sample: Path, out: Path, ids: Pseudonymizer) -> None:
    """The four SEGs on CT2 (BINARY, overlapping BINARY, FRACTIONAL twice): each label's
    box on each axial slice is the box of the union of its frames (threshold 0.5)."""
    images = {
        str(pydicom.dcmread(sample / "referenced_pydicom_CT2" / n).SOPInstanceUID): n
        for n in ("17106", *CT2)
    }
    union: dict[tuple[str, str], np.ndarray] = {}
    for name in ("binary", "binary_overlap", "binary_fractional", "true_fractional"):
        seg = hd.seg.segread(sample / f"seg_image_ct_{name}.dcm")
        framed = {u[2] for u in seg.get_source_image_uids()}
        for uid in sorted(framed & set(images)):
            px = np.asarray(
                seg.get_pixels_by_source_instance(
                    [uid], combine_segments=False, assert_missing_frames_are_empty=True
                )
            )[0].astype(float)
            if px.max() > 1:
                px = px / 255.0
            for j, desc in enumerate(seg.SegmentSequence):
                key = (images[uid], str(desc.SegmentLabel).replace(" ", "_"))
                m = px[..., j] >= 0.5
                union[key] = union[key] | m if key in union else m
    # runs: 17106 alone (run0, z 0), the three contiguous slices (run1, z 0..2)
    where = {"17106": ("run0", 0), **{n: ("run1", k) for k, n in enumerate(CT2)}}
    findings = [f for f in _table(out, "findings") if f["present"]]
    studies = {s["study_id"]: s for s in _table(out, "studies")}
    checked = 0
    for (instance, label), mask in union.items():
        if not mask.any():
            continue
        run, z = where[instance]
        sid = ids.study("real", f"seg_image_ct_binary.dcm#{run}-axial-{z}-CT")
        if sid not in studies:  # only slices through a structure's largest section, etc.
            continue
        f = next(f for f in findings if f["study_id"] == sid and f["label"] == label)
        rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
        s = studies[sid]
        b = f["box"]
        for got, edge, side in (
            (b["x1"], cols[0], s["width"]),
            (b["x2"], cols[-1] + 1, s["width"]),
            (b["y1"], rows[0], s["height"]),
            (b["y2"], rows[-1] + 1, s["height"]),
        ):
            assert abs(got * side - edge * side / 16) <= 1, (instance, label, b)
        checked += 1
    labels = {label for (_, label), m in union.items() if m.any()}
    assert labels == {"first_segment", "second_segment"} and checked >= 5


def test_real_samples_and_a_labelmap(realdata: Path, tmp_path: Path) -> None:
    sample = realdata / "dicom/seg_highdicom"
    made = tmp_path / "made"
    _labelmap(made, sample, "labelmap.dcm")
    _labelmap(tmp_path / "orphan", sample, "orphan.dcm", drop_source=True)
    cfg = write_config(
        tmp_path / "b.yaml",
        [
            {"kind": "dicom_seg", "name": "real", "root": str(sample), "licence": "MIT"},
            {
                "kind": "dicom_seg",
                "name": "orphan",
                "root": str(tmp_path / "orphan"),
                "licence": "MIT",
            },
        ],
    )
    out = tmp_path / "out"
    report = run_build(load_config(cfg), out)
    ids = Pseudonymizer(TEST_SALT)
    q = {(r["source_dataset"], r["item_id"]): r for r in _table(out, "quarantine")}
    assert q[("real", ids.study("real", "seg_image_cr_binary.dcm"))]["reason"] == (
        "seg_reference_missing"
    )
    assert q[("orphan", ids.study("orphan", "orphan.dcm"))]["reason"] == "seg_reference_missing"
    sm = q[("real", ids.study("real", "seg_image_sm_control.dcm"))]  # one item: one series
    assert sm["reason"] == "seg_unsupported" and "sm_control_labelmap" in sm["message"]
    real_rows = [r for r in q.values() if r["source_dataset"] == "real"]
    assert len(real_rows) == 2  # no duplicate images: the SEGs of one series are one item
    assert report.stats["flow"]["items_read"] == 2  # the CT2 series, the single-frame CT
    _check_ct2_boxes(sample, out, ids)
    # the LABELMAP on the same CT slices, built alone (the engine keeps one copy of an image)
    out = tmp_path / "made_out"
    run_build(
        load_config(
            write_config(
                tmp_path / "m.yaml",
                [{"kind": "dicom_seg", "name": "made", "root": str(made), "licence": "MIT"}],
            )
        ),
        out,
    )
    assert _table(out, "quarantine") == []
    findings = _table(out, "findings")
    studies = {s["study_id"]: s for s in _table(out, "studies")}
    # the LABELMAP: liver on every slice, kidney on the last two; boxes as drawn
    made_axial = [
        s for s in studies.values() if s["source_dataset"] == "made" and s["view"] == "axial"
    ]
    assert made_axial and {s["modality"] for s in made_axial} == {"CT"}
    by_label = {}
    for f in findings:
        if f["study_id"] in {s["study_id"] for s in made_axial} and f["present"]:
            by_label.setdefault(f["label"], []).append(f)
    # "Liver" and "Kidney" are structures (schemas.vocab.label_of): anatomy labels
    assert set(by_label) == {"anatomy:liver", "anatomy:kidney"}
    for label, (r0, r1, c0, c1) in (
        ("anatomy:liver", (2, 7, 3, 9)),
        ("anatomy:kidney", (9, 14, 8, 15)),
    ):
        for f in by_label[label]:
            s = studies[f["study_id"]]
            b = f["box"]
            for got, edge, side in (
                (b["x1"], c0, s["width"]),
                (b["x2"], c1, s["width"]),
                (b["y1"], r0, s["height"]),
                (b["y2"], r1, s["height"]),
            ):
                assert abs(got * side - edge * side / 16) <= 1, (label, b)
