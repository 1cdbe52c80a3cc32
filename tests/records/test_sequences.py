"""The 8 MedSG sequence tasks, each answer checked geometrically against the edit, transform,
crop or masks that made it."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

from extractors.ct.anatomy import build_structures
from extractors.ct.projection import project
from extractors.ct.slices import mask_box_on
from extractors.edits import INPAINT_COARSE_SIDE, Affine, insert_lesion, misalign, remove_region
from extractors.masks import mask_box
from extractors.volume import to_canonical, totalseg_classes
from extractors.volume.sparse import ClassMasks
from records.sequences.across import across_sequences
from records.sequences.ct import ct_sequences
from records.sequences.radiograph import radiograph_sequences
from schemas.boxes import Box
from schemas.records import Finding, NamedBox, SequenceRecord, Study
from sources.ct.synthetic import make_phantom
from tests.records.test_grounding import study as make_study


class FakePublisher:
    """Keeps what processors would publish, as Study rows plus their pixels."""

    def __init__(self, base: Study):
        self.base = base
        self.pixels: dict[str, np.ndarray] = {}

    def __call__(self, key: str, pixels: np.ndarray, view: str) -> Study:
        sid = f"study-{key}"
        self.pixels[sid] = pixels
        h, w = pixels.shape
        return replace(self.base, study_id=sid, view=view, width=w, height=h)


def to_px(box, w: int, h: int) -> tuple[float, ...]:
    return tuple(box.box.to_pixels(w, h))


def _by_task(records: list[SequenceRecord]) -> dict[str, list[SequenceRecord]]:
    out: dict[str, list[SequenceRecord]] = {}
    for r in records:
        out.setdefault(r.task, []).append(r)
    return out


@pytest.fixture(scope="module")
def radiograph():
    rng = np.random.default_rng(0)
    pixels = np.add.outer(np.arange(128), np.arange(128)) // 2 + rng.integers(0, 6, (128, 128))
    pixels = pixels.astype(np.uint8)
    base = make_study(study_id="study-base", width=128, height=128)
    finding = Finding(
        "f1",
        "study-base",
        "patient-1",
        "nodule",
        True,
        NamedBox(0.2, 0.2, 0.35, 0.35, "nodule"),
        1,
        "sources.x",
        "1",
        1.0,
    )
    tasks = {}
    for seed in range(6):  # several seeds: both removal and insertion edits get exercised
        publisher = FakePublisher(base)
        records = radiograph_sequences(base, pixels, [finding], publisher, seed=seed)
        for task, recs in _by_task(records).items():
            tasks.setdefault(task, []).extend((r, publisher, pixels) for r in recs)
    return tasks


def test_registered_diff_box_is_where_the_copy_differs(radiograph) -> None:
    kinds = set()
    for record, publisher, pixels in radiograph["Registered_Diff"]:
        copy = publisher.pixels[record.images[1].study_id]
        (answer,) = record.answer_boxes
        assert answer.image_index == 1
        kinds.add(answer.label)
        diff = np.abs(copy.astype(int) - pixels.astype(int))
        changed = diff >= 8 if answer.label == "inserted" else diff > 0
        expected = mask_box(changed)
        assert max(abs(a - b) for a, b in zip(to_px(answer, 128, 128), expected, strict=True)) <= 1
    assert kinds == {"inserted", "removed"}


@pytest.mark.parametrize("side", [INPAINT_COARSE_SIDE, 3 * INPAINT_COARSE_SIDE + 5])
@pytest.mark.parametrize("colour", [False, True])
def test_removed_region_changes_only_its_box(side: int, colour: bool) -> None:
    """A bright square erased (at full size, and on the coarse grid for a large box): only
    pixels inside the box change, the changed mask is exactly them (its box holds the
    square), and the fill is the surroundings' level, not the square's."""
    yy, xx = np.mgrid[0:300, 0:260]
    pixels = (60 + yy // 10 + xx // 20).astype(np.uint8)
    box = (40, 50, 40 + side, 50 + side + 7)
    x1, y1, x2, y2 = box
    pixels[y1 + 4 : y2 - 4, x1 + 4 : x2 - 4] = 220
    if colour:
        pixels = np.stack([pixels, pixels // 2, pixels], axis=-1)
    edit = remove_region(pixels, box)
    diff = np.abs(edit.pixels.astype(int) - pixels.astype(int))
    diff = diff.max(axis=-1) if colour else diff
    assert np.array_equal(edit.changed, diff > 0) and edit.changed.any()
    bx1, by1, bx2, by2 = mask_box(edit.changed)  # within the box, around the square
    assert (
        x1 <= bx1 <= x1 + 4 and y1 <= by1 <= y1 + 4 and x2 - 4 <= bx2 <= x2 and y2 - 4 <= by2 <= y2
    )
    filled = edit.pixels[y1:y2, x1:x2].astype(int)
    filled = filled[..., 0] if colour else filled
    assert filled.max() < 120  # the surroundings span 62..110 over the box


def test_non_registered_diff_box_follows_the_transform() -> None:
    pixels = np.full((100, 120), 60, np.uint8)
    edit = insert_lesion(pixels, (40.0, 50.0), 6.0, 80.0)
    transform = Affine(degrees=7.0, scale=1.05, dx=6.0, dy=-4.0)
    moved = misalign(edit.pixels, edit.changed, transform)
    rows, cols = np.nonzero(edit.changed)
    corners_r = np.concatenate([rows - 0.5, rows + 0.5, rows - 0.5, rows + 0.5])
    corners_c = np.concatenate([cols - 0.5, cols - 0.5, cols + 0.5, cols + 0.5])
    r, c = transform.apply_points(corners_r, corners_c, pixels.shape)
    expected = (c.min() + 0.5, r.min() + 0.5, c.max() + 0.5, r.max() + 0.5)
    got = mask_box(moved.changed)
    assert max(abs(a - b) for a, b in zip(got, expected, strict=True)) <= 1.0


@pytest.mark.parametrize("shape", [(100, 120), (97, 64)])
def test_misaligned_mask_is_the_whole_masks_nearest_warp(shape: tuple[int, int]) -> None:
    """Moving only the mask's window gives the pixels OpenCV's nearest warp of the whole
    mask gives, lesions near an edge (partly moved out) included."""
    import cv2

    rng = np.random.default_rng(3)
    h, w = shape
    for _ in range(40):
        pixels = rng.integers(0, 256, shape, dtype=np.uint8)
        centre = (rng.uniform(0, h), rng.uniform(0, w))
        edit = insert_lesion(pixels, centre, rng.uniform(2, 12), 80.0)
        transform = Affine(
            float(rng.uniform(-8, 8)), float(rng.uniform(0.92, 1.08)), *rng.uniform(-9, 9, 2)
        )
        rot, offset = transform.matrix(shape)
        inverse = np.linalg.inv(rot)
        shift = -inverse @ offset
        to_input = np.array(
            [[inverse[1, 1], inverse[1, 0], shift[1]], [inverse[0, 1], inverse[0, 0], shift[0]]]
        )
        whole = cv2.warpAffine(
            edit.changed.view(np.uint8),
            to_input,
            (w, h),
            flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP,
        )
        moved = misalign(edit.pixels, edit.changed, transform)
        assert np.array_equal(moved.changed, whole > 0)


def test_non_registered_diff_records(radiograph) -> None:
    for record, publisher, pixels in radiograph["Non_Registered_Diff"]:
        copy = publisher.pixels[record.images[1].study_id]
        assert copy.shape == pixels.shape and not np.array_equal(copy, pixels)
        (answer,) = record.answer_boxes
        assert answer.image_index == 1 and answer.box.is_valid


def test_patch_box_is_where_the_crop_came_from(radiograph) -> None:
    for record, publisher, pixels in radiograph["patch"]:
        crop = publisher.pixels[record.images[1].study_id]
        (answer,) = record.answer_boxes
        x1, y1, x2, y2 = (round(v) for v in to_px(answer, 128, 128))
        assert answer.image_index == 0
        assert np.array_equal(pixels[y1:y2, x1:x2], crop)


@pytest.fixture(scope="module")
def ct_case():
    phantom = make_phantom(shape=(64, 56, 52), spacing=(6.0, 6.0, 6.0), seed=3)
    volume = to_canonical(phantom.hu, phantom.affine)
    classes = ClassMasks.from_label_volume(phantom.labels, totalseg_classes())
    structures = build_structures(classes, volume.spacing)
    projection = project(volume, structures)
    base = make_study(modality="DRR")
    views = {
        v: replace(
            base,
            study_id=f"study-{v}",
            view=v,
            width=projection.views[v].width,
            height=projection.views[v].height,
        )
        for v in ("frontal", "lateral")
    }
    publisher = FakePublisher(views["frontal"])
    records = ct_sequences(volume, structures, projection, views, publisher, seed=0)
    return SimpleNamespace(
        volume=volume,
        structures=structures,
        projection=projection,
        views=views,
        publisher=publisher,
        tasks=_by_task(records),
    )


def test_multi_view_boxes_are_the_projected_masks(ct_case) -> None:
    c = ct_case
    assert len(c.tasks["multi_view"]) >= 10
    for record in c.tasks["multi_view"]:
        (q,), (a,) = record.question_boxes, record.answer_boxes
        v0, v1 = record.images[0].view, record.images[1].view
        w0, h0 = c.views[v0].width, c.views[v0].height
        w1, h1 = c.views[v1].width, c.views[v1].height
        assert to_px(q, w0, h0) == pytest.approx(c.projection.masks[v0][q.label].box)
        assert to_px(a, w1, h1) == pytest.approx(c.projection.masks[v1][a.label].box)
        # both c.views have the body axis vertical at the same pixel size: same rows
        assert to_px(q, w0, h0)[1] == pytest.approx(to_px(a, w1, h1)[1])
        assert to_px(q, w0, h0)[3] == pytest.approx(to_px(a, w1, h1)[3])


def _slice_index(study_id: str) -> int:
    return int(study_id.split("-")[2])  # study-axial-<z>-<window> / study-coronal-<y>-...


def test_object_tracking_boxes_are_the_masks_on_each_slice(ct_case) -> None:
    c = ct_case
    assert c.tasks["object_tracking"]
    for record in c.tasks["object_tracking"]:
        zs = [_slice_index(ref.study_id) for ref in record.images]
        assert zs[1] == zs[0] + 1 and zs[2] == zs[0] + 2
        (q,), (a,) = record.question_boxes, record.answer_boxes
        ref = record.images[2]
        expected = mask_box_on(c.volume, c.structures[a.label], "axial", zs[2])
        assert to_px(a, ref.width, ref.height) == pytest.approx(expected)
        expected_q = mask_box_on(c.volume, c.structures[q.label], "axial", zs[0])
        assert to_px(q, record.images[0].width, record.images[0].height) == pytest.approx(
            expected_q
        )


def test_crossmodal_boxes_correspond(ct_case) -> None:
    c = ct_case
    assert c.tasks["crossmodal"]
    directions = set()
    for record in c.tasks["crossmodal"]:
        ct_index = 0 if record.images[0].view.startswith("coronal") else 1
        directions.add(ct_index)
        (q,), (a,) = record.question_boxes, record.answer_boxes
        on_ct, on_drr = (q, a) if ct_index == 0 else (a, q)
        coronal = record.images[ct_index]
        y = _slice_index(coronal.study_id)
        assert to_px(on_ct, coronal.width, coronal.height) == pytest.approx(
            mask_box_on(c.volume, c.structures[q.label], "coronal", y)
        )
        frontal = c.views["frontal"]
        assert to_px(on_drr, frontal.width, frontal.height) == pytest.approx(
            c.projection.masks["frontal"][q.label].box
        )
        # same patient axes: the slice's extent lies within the projection's (normalized)
        assert on_ct.x1 >= on_drr.x1 - 0.02 and on_ct.x2 <= on_drr.x2 + 0.02
        assert on_ct.y1 >= on_drr.y1 - 0.02 and on_ct.y2 <= on_drr.y2 + 0.02
    assert directions == {0, 1}


def test_referring_structure_on_exactly_one_slice(ct_case) -> None:
    c = ct_case
    ct_referring = c.tasks["referring"]
    assert ct_referring
    for record in ct_referring:
        (a,) = record.answer_boxes
        zs = [_slice_index(ref.study_id) for ref in record.images]
        present = [mask_box_on(c.volume, c.structures[a.label], "axial", z) for z in zs]
        assert [p is not None for p in present].count(True) == 1
        assert present[a.image_index] is not None
        ref = record.images[a.image_index]
        assert to_px(a, ref.width, ref.height) == pytest.approx(present[a.image_index])
        assert record.answer.startswith(("It's in the", "The "))


def test_concept_and_referring_across_patients() -> None:
    studies, findings = [], []
    for i in range(8):
        s = make_study(study_id=f"study-{i}", patient_id=f"patient-{i}", split="train")
        studies.append(s)
        if i < 4:
            box = NamedBox(0.1 + i / 20, 0.2, 0.3 + i / 20, 0.4, "nodule")
            findings.append(
                Finding(f"f{i}", s.study_id, s.patient_id, "nodule", True, box, 1, "x", "1", 1.0)
            )
        else:
            findings.append(
                Finding(f"f{i}", s.study_id, s.patient_id, "nodule", False, None, 1, "x", "1", 1.0)
            )
    other_split = make_study(study_id="study-x", patient_id="patient-x", split="test")
    studies.append(other_split)
    findings.append(
        Finding(
            "fx",
            "study-x",
            "patient-x",
            "nodule",
            True,
            NamedBox(0.5, 0.5, 0.6, 0.6, "nodule"),
            1,
            "x",
            "1",
            1.0,
        )
    )
    boxes = {f.study_id: f.box for f in findings if f.box}
    records = across_sequences(studies, findings, seed=0)
    tasks = _by_task(records)
    assert len(tasks["concept"]) == 2 and len(tasks["referring"]) == 4
    for r in records:
        assert "study-x" not in [i.study_id for i in r.images]  # one split only
        assert len(set(r.patient_ids)) == len(r.images)
    for r in tasks["concept"]:
        (q,), (a,) = r.question_boxes, r.answer_boxes
        assert (q.x1, q.x2) == (boxes[r.images[0].study_id].x1, boxes[r.images[0].study_id].x2)
        assert (a.x1, a.x2) == (boxes[r.images[1].study_id].x1, boxes[r.images[1].study_id].x2)
    for r in tasks["referring"]:
        (a,) = r.answer_boxes
        with_box = [i for i, ref in enumerate(r.images) if ref.study_id in boxes]
        assert with_box == [a.image_index]
        assert Box(a.x1, a.y1, a.x2, a.y2) == boxes[r.images[a.image_index].study_id].box


def test_ct_registered_diff_box_is_the_edited_organ(ct_case) -> None:
    c = ct_case
    diffs = c.tasks["Registered_Diff"]
    assert diffs
    original = c.projection.views["frontal"].pixels
    for record in diffs:
        copy = c.publisher.pixels[record.images[1].study_id]
        (a,) = record.answer_boxes
        h, w = original.shape
        changed = mask_box(copy != original)
        assert changed is not None
        # the answer frames the organ's changed pixels, inside the organ's projected box
        organ = c.projection.masks["frontal"][a.label].box
        got = to_px(a, w, h)
        assert got[0] >= organ[0] and got[1] >= organ[1]
        assert got[2] <= organ[2] and got[3] <= organ[3]
        # the copy also differs on the feathered rim (up to 2 px beyond the organ region)
        assert max(abs(x - y) for x, y in zip(got, changed, strict=True)) <= 2
