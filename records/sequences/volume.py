"""Sequence records from slices of one volume with structure masks, for every modality (the
CT source and the segmentation volumes share them):

- object_tracking: a structure across three consecutive axial slices;
- referring: axial slices of one volume, the named structure on exactly one of them;
- multi_view: a structure on its axial, coronal and sagittal slices (each to the next);
- crossmodal: a structure on the same slice of two channels of one case (FLAIR <-> T1).

``name`` words a structure id for ``{target}``, ``kind`` says what it is for ``{kind}``
("structure" or "finding", ``records.sequences.common.kind_word`` for canonical labels).
Slices are published once each through ``SliceImages``; every box is the box of the
structure's mask on that slice image (``extractors.volume.slices.mask_box_on``), so each
answer can be checked against the masks."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from extractors.masks import mask_box
from extractors.volume.orientation import OnGrid
from extractors.volume.slices import mask_image
from extractors.volume.sparse import SparseMask
from records.sequences.common import Publisher, image_box, make_sequence, pixel_box
from schemas.boxes import Box
from schemas.enums import MedSGTask
from schemas.records import Provenance, SequenceRecord, Study

PER_TASK = 16  # structures per volume and task (chosen by the seed), to keep releases balanced
MIN_PIXELS = 12  # a structure smaller than this on an image is not asked about

# render(plane, index, style) -> pixels; view(plane, style) -> the Study's view
Render = Callable[[str, int, str], np.ndarray]
ViewName = Callable[[str, str], str]


def choose(ids: Sequence[str], rng: np.random.Generator, n: int = PER_TASK) -> list[str]:
    """Up to ``n`` of ``ids``, in sorted order, picked by the seeded generator."""
    ids = sorted(ids)
    if len(ids) <= n:
        return ids
    return sorted(ids[i] for i in rng.choice(len(ids), size=n, replace=False))


class SliceImages:
    """Slice images of one volume, each published once (key ``<plane>-<index>-<style>``)."""

    def __init__(self, volume: OnGrid, render: Render, view: ViewName, publish: Publisher):
        self.volume = volume
        self.render = render
        self.view = view
        self.publish = publish
        self._studies: dict[str, Study] = {}

    def get(self, plane: str, index: int, style: str) -> Study:
        key = f"{plane}-{index}-{style}"
        if key not in self._studies:
            pixels = self.render(plane, index, style)
            self._studies[key] = self.publish(key, pixels, self.view(plane, style))
        return self._studies[key]

    def axial(self, z: int, style: str) -> Study:
        return self.get("axial", z, style)

    def items(self) -> list[tuple[tuple[str, int, str], Study]]:
        """Every slice published so far: ((plane, index, style), Study)."""
        out = []
        for key, study in self._studies.items():
            plane, index, style = key.split("-", 2)
            out.append(((plane, int(index), style), study))
        return out


def box_on(
    volume: OnGrid,
    mask: SparseMask,
    plane: str,
    index: int,
    study: Study,
    min_pixels: int = MIN_PIXELS,
) -> Box | None:
    """The mask's box on that slice image (canonical, relative to the rendered slice, so a
    downscaled publication keeps it), or None when its area is under ``min_pixels``."""
    del study  # the box is relative to the slice as rendered, whatever size was published
    shown = mask_image(volume, mask, plane, index)
    px = None if shown is None else mask_box(shown)
    if shown is None or px is None or (px[2] - px[0]) * (px[3] - px[1]) < min_pixels:
        return None
    return pixel_box(px, shown.shape[1], shown.shape[0])


def object_tracking(
    structures: Mapping[str, SparseMask],
    slices: SliceImages,
    *,
    name: Callable[[str], str],
    kind: Callable[[str], str],
    style: Callable[[str], str],
    rng: np.random.Generator,
    seed: int,
    provenance: Provenance,
    scan: str,
) -> list[SequenceRecord]:
    """Three consecutive axial slices through a structure (at least 5 slices tall): its box
    on the first, found on the last."""
    records = []
    tall = [
        s for s, m in structures.items() if (b := m.bounds()) is not None and b[1][2] - b[0][2] >= 5
    ]
    for sid in choose(tall, rng):
        mask = structures[sid]
        lo, hi = mask.bounds()[0][2], mask.bounds()[1][2]  # type: ignore[index]
        z0 = int(rng.integers(lo + 1, hi - 3))
        zs = [z0, z0 + 1, z0 + 2]
        shown = [slices.axial(z, style(sid)) for z in zs]
        boxes = [
            box_on(slices.volume, mask, "axial", z, st) for z, st in zip(zs, shown, strict=True)
        ]
        if boxes[0] is None or boxes[2] is None:
            continue
        records.append(
            make_sequence(
                MedSGTask.OBJECT_TRACKING,
                shown,
                question=[image_box(0, boxes[0], sid)],
                answer=[image_box(2, boxes[2], sid)],
                slots={"target": name(sid), "kind": kind(sid), "scan": scan},
                id_parts=(sid, z0),
                seed=seed,
                provenance=provenance,
            )
        )
    return records


def slice_referring(
    structures: Mapping[str, SparseMask],
    slices: SliceImages,
    *,
    name: Callable[[str], str],
    kind: Callable[[str], str],
    style: Callable[[str], str],
    rng: np.random.Generator,
    seed: int,
    provenance: Provenance,
) -> list[SequenceRecord]:
    """Three axial slices of one volume, the structure on exactly one (its middle slice):
    which, and where."""
    records = []
    nz = slices.volume.shape[2]
    for sid in choose(list(structures), rng):
        mask = structures[sid]
        (lo, hi) = mask.bounds()  # type: ignore[misc]
        outside = [z for z in range(nz) if z < lo[2] or z >= hi[2]]
        if len(outside) < 2:
            continue
        z_in = int((lo[2] + hi[2] - 1) // 2)
        others = [outside[i] for i in rng.choice(len(outside), size=2, replace=False)]
        order = rng.permutation(3)
        zs = [([z_in, *others])[i] for i in order]
        shown = [slices.axial(z, style(sid)) for z in zs]
        target = zs.index(z_in)
        box = box_on(slices.volume, mask, "axial", z_in, shown[target])
        if box is None:
            continue
        records.append(
            make_sequence(
                MedSGTask.REFERRING,
                shown,
                answer=[image_box(target, box, sid)],
                slots={"target": name(sid), "kind": kind(sid)},
                id_parts=(sid, *zs),
                seed=seed,
                provenance=provenance,
            )
        )
    return records


def plane_views(
    structures: Mapping[str, SparseMask],
    slices: SliceImages,
    centre: Callable[[str, str], int],
    *,
    name: Callable[[str], str],
    kind: Callable[[str], str],
    style: Callable[[str], str],
    rng: np.random.Generator,
    seed: int,
    provenance: Provenance,
    scan: str,
) -> list[SequenceRecord]:
    """multi_view within one volume: a structure boxed on one plane's slice through it
    (``centre(sid, plane)``), found on the next plane's (axial -> coronal -> sagittal ->
    axial)."""
    records = []
    planes = ("axial", "coronal", "sagittal")
    for sid in choose(list(structures), rng):
        mask = structures[sid]
        shown, boxes = {}, {}
        for plane in planes:
            index = centre(sid, plane)
            shown[plane] = slices.get(plane, index, style(sid))
            boxes[plane] = box_on(slices.volume, mask, plane, index, shown[plane])
        for first, second in zip(planes, planes[1:] + planes[:1], strict=True):
            if boxes[first] is None or boxes[second] is None:
                continue
            records.append(
                make_sequence(
                    MedSGTask.MULTI_VIEW,
                    [shown[first], shown[second]],
                    question=[image_box(0, boxes[first], sid)],  # type: ignore[arg-type]
                    answer=[image_box(1, boxes[second], sid)],  # type: ignore[arg-type]
                    slots={
                        "target": name(sid),
                        "kind": kind(sid),
                        "view0": first,
                        "view1": second,
                        "scan": scan,
                    },
                    id_parts=(sid, first, second),
                    seed=seed,
                    provenance=provenance,
                )
            )
    return records


def channel_crossmodal(
    structures: Mapping[str, SparseMask],
    slices: SliceImages,
    channels: Sequence[str],
    centre: Callable[[str, str], int],
    *,
    name: Callable[[str], str],
    kind: Callable[[str], str],
    words: Callable[[str], str],
    rng: np.random.Generator,
    seed: int,
    provenance: Provenance,
) -> list[SequenceRecord]:
    """crossmodal between channels of one case (same grid, so the same box): a structure on
    the axial slice through it in one channel, found on the same slice of another, for each
    ordered pair of channels. Single-channel cases have none."""
    records: list[SequenceRecord] = []
    if len(channels) < 2:
        return records
    for sid in choose(list(structures), rng):
        z = centre(sid, "axial")
        for a in channels:
            for b in channels:
                if a == b:
                    continue
                first, second = slices.axial(z, a), slices.axial(z, b)
                qa = box_on(slices.volume, structures[sid], "axial", z, first)
                qb = box_on(slices.volume, structures[sid], "axial", z, second)
                if qa is None or qb is None:
                    continue
                records.append(
                    make_sequence(
                        MedSGTask.CROSSMODAL,
                        [first, second],
                        question=[image_box(0, qa, sid)],
                        answer=[image_box(1, qb, sid)],
                        slots={
                            "target": name(sid),
                            "kind": kind(sid),
                            "mod0": words(a),
                            "mod1": words(b),
                        },
                        id_parts=(sid, z, a, b),
                        seed=seed,
                        provenance=provenance,
                    )
                )
    return records
