"""The volume tasks of one segmentation case (``sources.volume.process`` with
``records.sequences.volume``) on an anisotropic two-channel phantom: multi_view across the
three planes, object_tracking, referring, crossmodal between channels, patch and both
difference tasks; every answer box on a slice is the box of the structure's voxels on that
slice, recomputed here from the label array alone (within 1 px of the published image)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from extractors.volume import to_canonical
from extractors.volume.sparse import ClassMasks
from schemas.identity import Pseudonymizer
from shards.layout import BuildLayout
from sources.base import SourceItem
from sources.context import ItemContext
from sources.volume.process import VolumeCase, process_case

SHAPE = (40, 32, 18)  # x (right->left), y (anterior->posterior), z (feet->head)
SPACING = (0.8, 0.8, 2.5)
NAMES = {1: "lesion", 2: "edema"}


def _labels() -> np.ndarray:
    labels = np.zeros(SHAPE, np.uint8)
    labels[5:14, 6:15, 3:12] = 1
    labels[22:35, 14:27, 6:16] = 2
    return labels


def expected(mask: np.ndarray, plane: str, index: int) -> tuple[float, float, float, float]:
    """Normalised (x1, y1, x2, y2) of the mask on the slice, from voxel bounds: axial shows
    (x, y), coronal (x, z from the head down), sagittal (y, z from the head down)."""
    nx, ny, nz = mask.shape
    if plane == "axial":
        m, (nc, nr), flip = mask[:, :, index], (nx, ny), False
    elif plane == "coronal":
        m, (nc, nr), flip = mask[:, index, :], (nx, nz), True
    else:
        m, (nc, nr), flip = mask[index, :, :], (ny, nz), True
    cols, rows = np.flatnonzero(m.any(axis=1)), np.flatnonzero(m.any(axis=0))
    r0, r1 = (nr - 1 - rows[-1], nr - rows[0]) if flip else (rows[0], rows[-1] + 1)
    return cols[0] / nc, r0 / nr, (cols[-1] + 1) / nc, r1 / nr


@pytest.fixture(scope="module")
def output(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("vol")
    affine = np.diag([-SPACING[0], -SPACING[1], SPACING[2], 1.0])  # file in LPS = canonical
    labels = _labels()
    rng = np.random.default_rng(0)
    t1 = to_canonical(rng.normal(100, 5, SHAPE) + 80 * (labels > 0), affine)
    flair = to_canonical(rng.normal(300, 5, SHAPE) - 60 * (labels == 2), affine)
    lab = to_canonical(labels, affine).data
    case = VolumeCase(
        [("T1", t1), ("FLAIR", flair)],
        ClassMasks.from_label_volume(lab, NAMES),
        "MR",
        tuple(NAMES.values()),
    )
    item = SourceItem(
        dataset="phantom",
        kind="nnunet",
        reader="volume_files",
        item_id="case1",
        patient_key="p1",
        path=str(tmp / "x.nii.gz"),
        labels_file="",
        rows=(),
        licence="CC0-1.0",
        extractor="sources.nnunet",
        extractor_version="1",
        modality="MR",
    )
    ids = Pseudonymizer("vol-tests")
    ctx = ItemContext(BuildLayout(tmp / "out"), ids, (80, 10, 10), None, 0)
    out = process_case(item, ctx, case)
    keys = {
        ids.study("phantom", f"case1#{plane}-{i}-{ch}"): (plane, i)
        for plane, axis in (("axial", 2), ("coronal", 1), ("sagittal", 0))
        for i in range(SHAPE[axis])
        for ch in ("T1", "FLAIR")
    }
    return out, keys, lab


def test_every_volume_task_and_its_boxes(output) -> None:
    out, keys, lab = output
    assert not out.quarantine
    tasks = Counter(r.task for r in out.records if hasattr(r, "images"))
    for task in (
        "multi_view",
        "object_tracking",
        "referring",
        "crossmodal",
        "patch",
        "Registered_Diff",
        "Non_Registered_Diff",
    ):
        assert tasks[task] > 0, tasks
    assert tasks["multi_view"] == 2 * 3  # two structures, axial->coronal->sagittal->axial
    assert tasks["crossmodal"] == 2 * 2  # two structures, T1->FLAIR and FLAIR->T1
    studies = {s.study_id: s for s in out.studies}
    value = {v: k for k, v in NAMES.items()}
    checked = 0
    for r in out.records:
        if not hasattr(r, "images"):
            continue
        for b in [*r.question_boxes, *r.answer_boxes]:
            sid = r.images[b.image_index].study_id
            if sid not in keys or b.label not in value:
                continue  # edited copies and crops: boxes of the edit, tested with edits
            plane, index = keys[sid]
            want = expected(lab == value[b.label], plane, index)
            s = studies[sid]
            sizes = (s.width, s.height, s.width, s.height)
            for got, w, n in zip((b.x1, b.y1, b.x2, b.y2), want, sizes, strict=True):
                assert abs(got - w) * n <= 1.0, (r.task, plane, index, b)
            checked += 1
    assert checked > 20
    # the published images say modality, and the plane (with the channel) as their view
    views = {s.view for s in out.studies}
    assert {"axial, T1", "coronal, T1", "sagittal, T1", "axial, FLAIR"} <= views
    assert {s.modality for s in out.studies} == {"MR"}
    # square pixels: the coronal slice is 2.5 / 0.8 times taller than its voxel count
    coronal = next(s for s in out.studies if s.view == "coronal, T1")
    assert coronal.width == SHAPE[0] and coronal.height == round(SHAPE[2] * 2.5 / 0.8)


def test_presence_negatives_and_counting(output) -> None:
    out, _, _ = output
    grounding = [r for r in out.records if not hasattr(r, "images")]
    absent = [f for f in out.findings if not f.present]
    assert absent and all(f.box is None for f in absent)
    tasks = Counter(r.task for r in grounding)
    assert tasks["counting"] > 0 and tasks["presence"] > tasks["phrase_grounding"]
