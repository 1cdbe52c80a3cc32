"""Sequence records from one CT with its structures and projections:

- multi_view: a structure boxed on the frontal projection, found on the lateral (and back);
- object_tracking: a structure across three consecutive axial slices (``records.sequences.volume``);
- crossmodal: a structure boxed on a coronal CT slice, found on the frontal projection, and
  the other way round;
- referring: axial slices of one CT, the named structure on exactly one of them (ditto);
- Registered_Diff: the frontal projection and a copy with one organ brighter or darker.

Every box is the box of the structure's mask on that image (``extractors.volume.slices`` and
the projection's masks), so each answer can be checked against the masks."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from extractors.ct.projection import CtProjection
from extractors.ct.taxonomy import BY_ID
from extractors.display import window
from extractors.edits import change_intensity
from extractors.masks import mask_box
from extractors.volume import Volume
from extractors.volume.slices import slice_values
from extractors.volume.sparse import SparseMask
from records.sequences.common import Publisher, image_box, make_sequence, pixel_box
from records.sequences.radiograph import item_rng, provenance_of
from records.sequences.volume import (
    MIN_PIXELS,
    SliceImages,
    box_on,
    choose,
    object_tracking,
    slice_referring,
)
from schemas.enums import MedSGTask
from schemas.records import SequenceRecord, Study

DIFF_PER_CT = 4  # organs whose intensity is changed, per CT
DIFF_MIN_AREA = 200  # pixels: an organ smaller than this is not edited
DIFF_MAX_SHARE = 0.15  # nor one that covers more than this share of the projection


def _name(structure_id: str) -> str:
    s = BY_ID.get(structure_id)
    return s.name if s else structure_id.replace("_", " ")


def _window(structure_id: str) -> str:
    s = BY_ID.get(structure_id)
    return "lung" if s is not None and s.group in ("lung", "airway") else "soft_tissue"


def _slices(volume: Volume, publish: Publisher) -> SliceImages:
    """Axial and coronal slice images of one CT in a window, published once each."""

    def render(plane: str, index: int, window_name: str) -> np.ndarray:
        return window(slice_values(volume, plane, index), window_name)

    def view(plane: str, window_name: str) -> str:
        return f"{plane} slice, {window_name} window"

    return SliceImages(volume, render, view, publish)


def ct_sequences(
    volume: Volume,
    structures: Mapping[str, SparseMask],
    projection: CtProjection,
    views: Mapping[str, Study],
    publish: Publisher,
    *,
    seed: int,
    confidence: float = 0.9,
) -> list[SequenceRecord]:
    """The per-CT sequence tasks. ``views`` are the published frontal and lateral
    projections (Study rows) whose images and masks ``projection`` holds."""
    frontal, lateral = views["frontal"], views["lateral"]
    prov = provenance_of(frontal, confidence)
    slices = _slices(volume, publish)
    records: list[SequenceRecord] = []

    def view_box(view: str, sid: str, study: Study):
        m = projection.masks[view].get(sid)
        if m is None or m.area < MIN_PIXELS:
            return None
        return pixel_box(m.box, study.width, study.height)

    # multi_view: frontal <-> lateral
    both = [
        s for s in structures if view_box("frontal", s, frontal) and view_box("lateral", s, lateral)
    ]
    for sid in choose(both, item_rng(seed, frontal.study_id, "multi_view")):
        f_box, l_box = view_box("frontal", sid, frontal), view_box("lateral", sid, lateral)
        for first, second, b0, b1, v0, v1 in (
            (frontal, lateral, f_box, l_box, "frontal", "lateral"),
            (lateral, frontal, l_box, f_box, "lateral", "frontal"),
        ):
            records.append(
                make_sequence(
                    MedSGTask.MULTI_VIEW,
                    [first, second],
                    question=[image_box(0, b0, sid)],
                    answer=[image_box(1, b1, sid)],
                    slots={
                        "target": _name(sid),
                        "kind": "structure",
                        "view0": v0,
                        "view1": v1,
                        "scan": "CT",
                    },
                    id_parts=(sid,),
                    seed=seed,
                    provenance=prov,
                )
            )

    # object_tracking: three consecutive axial slices through the structure
    records += object_tracking(
        structures,
        slices,
        name=_name,
        kind=lambda _sid: "structure",
        style=_window,
        rng=item_rng(seed, frontal.study_id, "object_tracking"),
        seed=seed,
        provenance=prov,
        scan="CT",
    )

    # crossmodal: a coronal CT slice through the structure's middle <-> the frontal projection
    rng = item_rng(seed, frontal.study_id, "crossmodal")
    on_frontal = [s for s in structures if view_box("frontal", s, frontal)]
    for sid in choose(on_frontal, rng):
        mask = structures[sid]
        (lo, hi) = mask.bounds()  # type: ignore[misc]
        y = (lo[1] + hi[1]) // 2
        coronal = slices.get("coronal", y, _window(sid))
        q_box = box_on(volume, mask, "coronal", y, coronal)
        if q_box is None:
            continue
        f_box = view_box("frontal", sid, frontal)
        for shown, q, a, m0, m1 in (
            ([coronal, frontal], q_box, f_box, "coronal CT slice", "frontal radiograph projection"),
            ([frontal, coronal], f_box, q_box, "frontal radiograph projection", "coronal CT slice"),
        ):
            records.append(
                make_sequence(
                    MedSGTask.CROSSMODAL,
                    shown,
                    question=[image_box(0, q, sid)],
                    answer=[image_box(1, a, sid)],
                    slots={"target": _name(sid), "kind": "structure", "mod0": m0, "mod1": m1},
                    id_parts=(sid, y),
                    seed=seed,
                    provenance=prov,
                )
            )

    # Registered_Diff: one organ's intensity changed on a copy of the frontal projection
    rng = item_rng(seed, frontal.study_id, "registered")
    pixels = projection.views["frontal"].pixels
    organs = [
        s
        for s, m in projection.masks["frontal"].items()
        if DIFF_MIN_AREA <= m.area <= DIFF_MAX_SHARE * pixels.size
        and BY_ID.get(s) is not None
        and BY_ID[s].group not in ("bone",)
    ]
    for sid in choose(organs, rng, DIFF_PER_CT):
        factor = float(rng.choice([0.75, 1.3]))
        edit = change_intensity(
            pixels, projection.masks["frontal"][sid].dense(pixels.shape), factor
        )
        box = mask_box(edit.changed)
        if box is None:
            continue
        copy = publish(f"registered-diff-{sid}", edit.pixels, "frontal, edited")
        records.append(
            make_sequence(
                MedSGTask.REGISTERED_DIFF,
                [frontal, copy],
                answer=[image_box(1, pixel_box(box, pixels.shape[1], pixels.shape[0]), sid)],
                id_parts=(sid, factor),
                seed=seed,
                provenance=prov,
            )
        )

    # referring: 3 axial slices, the structure on exactly one
    records += slice_referring(
        structures,
        slices,
        name=_name,
        kind=lambda _sid: "structure",
        style=_window,
        rng=item_rng(seed, frontal.study_id, "referring"),
        seed=seed,
        provenance=prov,
    )
    return records
