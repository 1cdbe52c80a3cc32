"""Sequence records from one CT with its structures and projections:

- multi_view: a structure boxed on the frontal projection, found on the lateral (and back);
- object_tracking: a structure across three consecutive axial slices;
- crossmodal: a structure boxed on a coronal CT slice, found on the frontal projection, and
  the other way round;
- referring: axial slices of one CT, the named structure on exactly one of them;
- Registered_Diff: the frontal projection and a copy with one organ brighter or darker.

Every box is the box of the structure's mask on that image (``extractors.ct.slices`` and
the projection's masks), so each answer can be checked against the masks."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from extractors.volume.sparse import SparseMask
from extractors.ct.projection import CtProjection
from extractors.ct.slices import axial_image, coronal_image, mask_box_on
from extractors.ct.taxonomy import BY_ID
from extractors.edits import change_intensity
from extractors.masks import mask_box
from extractors.volume import Volume
from records.sequences.common import Publisher, image_box, make_sequence, pixel_box
from records.sequences.radiograph import item_rng, provenance_of
from schemas.enums import MedSGTask
from schemas.records import SequenceRecord, Study

PER_TASK = 16  # structures per CT and task (chosen by the seed), to keep releases balanced
DIFF_PER_CT = 4  # organs whose intensity is changed, per CT
DIFF_MIN_AREA = 200  # pixels: an organ smaller than this is not edited
DIFF_MAX_SHARE = 0.15  # nor one that covers more than this share of the projection
MIN_PIXELS = 12  # a structure smaller than this on an image is not asked about


def _name(structure_id: str) -> str:
    s = BY_ID.get(structure_id)
    return s.name if s else structure_id.replace("_", " ")


def _window(structure_id: str) -> str:
    s = BY_ID.get(structure_id)
    return "lung" if s is not None and s.group in ("lung", "airway") else "soft_tissue"


def _choose(ids: list[str], rng: np.random.Generator, n: int = PER_TASK) -> list[str]:
    ids = sorted(ids)
    if len(ids) <= n:
        return ids
    return sorted(ids[i] for i in rng.choice(len(ids), size=n, replace=False))


class _Slices:
    """Axial and coronal slice images of one CT, published once each."""

    def __init__(self, volume: Volume, publish: Publisher):
        self.volume = volume
        self.publish = publish
        self._studies: dict[str, Study] = {}

    def axial(self, z: int, window_name: str) -> Study:
        key = f"axial-{z}-{window_name}"
        if key not in self._studies:
            pixels = axial_image(self.volume, z, window_name)
            self._studies[key] = self.publish(key, pixels, f"axial slice, {window_name} window")
        return self._studies[key]

    def coronal(self, y: int, window_name: str) -> Study:
        key = f"coronal-{y}-{window_name}"
        if key not in self._studies:
            pixels = coronal_image(self.volume, y, window_name)
            self._studies[key] = self.publish(key, pixels, f"coronal slice, {window_name} window")
        return self._studies[key]


def _box_on(volume: Volume, mask: SparseMask, plane: str, index: int, study: Study):
    px = mask_box_on(volume, mask, plane, index)
    if px is None or (px[2] - px[0]) * (px[3] - px[1]) < MIN_PIXELS:
        return None
    return pixel_box(px, study.width, study.height)


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
    slices = _Slices(volume, publish)
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
    for sid in _choose(both, item_rng(seed, frontal.study_id, "multi_view")):
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
                    slots={"target": _name(sid), "view0": v0, "view1": v1},
                    id_parts=(sid,),
                    seed=seed,
                    provenance=prov,
                )
            )

    # object_tracking: three consecutive axial slices through the structure
    rng = item_rng(seed, frontal.study_id, "object_tracking")
    tall = [
        s for s, m in structures.items() if (b := m.bounds()) is not None and b[1][2] - b[0][2] >= 5
    ]
    for sid in _choose(tall, rng):
        mask = structures[sid]
        lo, hi = mask.bounds()[0][2], mask.bounds()[1][2]  # type: ignore[index]
        z0 = int(rng.integers(lo + 1, hi - 3))
        zs = [z0, z0 + 1, z0 + 2]
        shown = [slices.axial(z, _window(sid)) for z in zs]
        boxes = [_box_on(volume, mask, "axial", z, st) for z, st in zip(zs, shown, strict=True)]
        if boxes[0] is None or boxes[2] is None:
            continue
        records.append(
            make_sequence(
                MedSGTask.OBJECT_TRACKING,
                shown,
                question=[image_box(0, boxes[0], sid)],
                answer=[image_box(2, boxes[2], sid)],
                slots={"target": _name(sid)},
                id_parts=(sid, z0),
                seed=seed,
                provenance=prov,
            )
        )

    # crossmodal: a coronal CT slice through the structure's middle <-> the frontal projection
    rng = item_rng(seed, frontal.study_id, "crossmodal")
    on_frontal = [s for s in structures if view_box("frontal", s, frontal)]
    for sid in _choose(on_frontal, rng):
        mask = structures[sid]
        (lo, hi) = mask.bounds()  # type: ignore[misc]
        y = (lo[1] + hi[1]) // 2
        coronal = slices.coronal(y, _window(sid))
        q_box = _box_on(volume, mask, "coronal", y, coronal)
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
                    slots={"target": _name(sid), "mod0": m0, "mod1": m1},
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
    for sid in _choose(organs, rng, DIFF_PER_CT):
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
    rng = item_rng(seed, frontal.study_id, "referring")
    nz = volume.shape[2]
    for sid in _choose(list(structures), rng):
        mask = structures[sid]
        (lo, hi) = mask.bounds()  # type: ignore[misc]
        outside = [z for z in range(nz) if z < lo[2] or z >= hi[2]]
        if len(outside) < 2:
            continue
        z_in = int((lo[2] + hi[2] - 1) // 2)
        others = [outside[i] for i in rng.choice(len(outside), size=2, replace=False)]
        order = rng.permutation(3)
        zs = [([z_in, *others])[i] for i in order]
        shown = [slices.axial(z, _window(sid)) for z in zs]
        target = zs.index(z_in)
        box = _box_on(volume, mask, "axial", z_in, shown[target])
        if box is None:
            continue
        records.append(
            make_sequence(
                MedSGTask.REFERRING,
                shown,
                answer=[image_box(target, box, sid)],
                slots={"target": _name(sid)},
                id_parts=(sid, *zs),
                seed=seed,
                provenance=prov,
            )
        )
    return records
