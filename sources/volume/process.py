"""The processor every segmentation volume shares (nnU-Net / MSD folders, image + label
pairs, DICOM-SEG with its series): a case is one or more channels on one canonical grid and
the masks of its labelled structures (``extractors.volume.sparse.ClassMasks``).

Per structure, the axial, coronal and sagittal slice through its largest cross-section are
published (``extractors.volume.slices``, grey levels by ``extractors.display``: CT windows,
MR percentiles per volume), with ``view`` the plane (and the channel when there are several).
Every published slice gets a Finding per structure: its box on that slice, or absent when the
slice misses it (the labels of a segmentation are exhaustive), hence grounding, presence
negatives and counting (``records.grounding``). Sequences: multi_view across the three planes,
object_tracking and referring along the axial slices, crossmodal between channels
(``records.sequences.volume``), patch and both difference tasks on the axial slice of the
largest structure (``records.sequences.radiograph``); concept and the cross-patient referring
come from the engine's pass over all Findings (``records.sequences.across``).

Chains of thought (``records.cot``) where a case has both structures (``anatomy:`` labels,
e.g. the liver) and lesions (any other label, e.g. a tumour): on every published slice, a
lesion's host organ is the structure whose mask on that slice holds most of the lesion's
mask grown by one pixel (a label map cuts the lesion out of its organ, so the organ only
borders it; overlapping masks, as in DICOM-SEG, hold it too); organ and lesion boxes are those
of the masks on the slice."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from extractors.display import DisplayRange, display_range, to_uint8
from extractors.volume import Volume
from extractors.volume.grid import require_same_grid
from extractors.volume.slices import FIXED_AXIS, PLANES, SHOWN_AXES, mask_image, slice_values
from extractors.volume.sparse import ClassMasks, SparseMask
from records.cot import EXTRACTOR as COT_EXTRACTOR
from records.cot import VERSION as COT_VERSION
from records.cot import Organ, lesion_cot_records
from records.grounding import build_grounding_records
from records.sequences.common import kind_word
from records.sequences.radiograph import item_rng, provenance_of, radiograph_sequences
from records.sequences.volume import (
    SliceImages,
    box_on,
    channel_crossmodal,
    object_tracking,
    plane_views,
    slice_referring,
)
from schemas.enums import Reason
from schemas.errors import ItemError
from schemas.identity import stable_id
from schemas.records import CotRecord, Finding, NamedBox, Provenance, Study
from schemas.vocab import is_anatomy, phrase
from sources.base import SourceItem
from sources.context import ItemContext, ItemOutput
from sources.imaging import resize_max_side

# DICOM modality codes of the config's modality words
MODALITY_CODES = {
    "mri": "MR",
    "mr": "MR",
    "ct": "CT",
    "pet": "PT",
    "pt": "PT",
    "us": "US",
    "ultrasound": "US",
}
SCAN_WORDS = {"MR": "MRI", "CT": "CT", "PT": "PET", "US": "ultrasound"}


def modality_code(word: str) -> str:
    """A config's or dataset.json's modality word as the DICOM code records carry."""
    w = word.strip().lower()
    if w in MODALITY_CODES:
        return MODALITY_CODES[w]
    if any(t in w for t in ("t1", "t2", "flair", "adc", "dwi", "mri", "mr ")):
        return "MR"
    return word.strip().upper()


@dataclass
class VolumeCase:
    """A loaded case: its channels (name, volume) on one grid and its structure masks
    (label key -> mask); ``labels`` lists every label the source names, drawn or not."""

    channels: list[tuple[str, Volume]]
    masks: ClassMasks
    modality: str  # DICOM code
    labels: tuple[str, ...] = ()
    ct_window: str | None = None


def masks_from_label_map(labels: np.ndarray, names: dict[int, str], what: str) -> ClassMasks:
    """Structure masks of a label map; a value ``names`` does not name is
    ``mask_value_unknown`` and a map without any named value is ``mask_empty``."""
    values = np.unique(labels)
    unknown = sorted(int(v) for v in values if v != 0 and int(v) not in names)
    if unknown:
        raise ItemError(
            Reason.MASK_VALUE_UNKNOWN,
            f"{what}: label values {unknown[:8]} are not named by the labels "
            f"{dict(sorted(names.items()))}",
        )
    masks = ClassMasks.from_label_volume(labels, names)
    if not masks.masks:
        raise ItemError(Reason.MASK_EMPTY, f"{what}: no labelled voxel (every label is empty)")
    return masks


def check_channels(channels: Sequence[tuple[str, Volume]], what: str) -> None:
    """Every channel on the first one's grid (``grid_mismatch`` otherwise)."""
    name0, ref = channels[0]
    for name, vol in channels[1:]:
        require_same_grid(
            what,
            f"channel {name!r}",
            (vol.shape, vol.affine),
            f"channel {name0!r}",
            (ref.shape, ref.affine),
            Reason.GRID_MISMATCH,
        )


MIN_SIDE = 4  # a plane whose image would be thinner than this many voxels is not shown


def shown_planes(volume: Volume) -> tuple[str, ...]:
    """The planes worth showing: all three for a volume, the axial one for a single slice."""
    return tuple(p for p in PLANES if min(volume.shape[a] for a in SHOWN_AXES[p]) >= MIN_SIDE)


def largest_section(mask: SparseMask, plane: str) -> int:
    """The index along the plane's fixed axis where the structure's cross-section is
    largest (the lowest such index on ties)."""
    axis = FIXED_AXIS[plane]
    other = tuple(i for i in range(3) if i != axis)
    areas = mask.data.sum(axis=other)
    return int(mask.offset[axis] + int(np.argmax(areas)))


def process_case(
    item: SourceItem, ctx: ItemContext, case: VolumeCase, *, key_prefix: str = ""
) -> ItemOutput:
    """Studies, Findings and records of one loaded case (``key_prefix`` tells the images of
    several volumes of one item apart)."""
    modality = case.modality
    names = [n for n, _ in case.channels]
    ranges: dict[str, DisplayRange] = {
        n: display_range(modality, v.data, case.ct_window) for n, v in case.channels
    }
    by_name = dict(case.channels)
    volume = case.channels[0][1]
    structures = dict(case.masks.masks)
    published: list[Study] = []

    def render(plane: str, index: int, channel: str) -> np.ndarray:
        return to_uint8(slice_values(by_name[channel], plane, index), ranges[channel])

    def view(plane: str, channel: str) -> str:
        return plane if len(names) == 1 else f"{plane}, {channel}"

    def publish(key: str, pixels: np.ndarray, view_: str) -> Study:
        study = ctx.derived_study(item, key_prefix + key, pixels, view_, modality)
        published.append(study)
        return study

    slices = SliceImages(volume, render, view, publish)
    centres = {(sid, p): largest_section(m, p) for sid, m in structures.items() for p in PLANES}

    def centre(sid: str, plane: str) -> int:
        return centres[(sid, plane)]

    planes = shown_planes(volume)
    for sid in sorted(structures):
        for plane in planes:
            slices.get(plane, centre(sid, plane), names[0])
    base_sid = max(sorted(structures), key=lambda s: structures[s].voxels)
    base = slices.axial(centre(base_sid, "axial"), names[0])
    prov = provenance_of(base, 1.0)
    scan = SCAN_WORDS.get(modality, modality)
    name = phrase
    records: list = []
    if ctx.sequences:
        common = {"name": name, "kind": kind_word, "seed": ctx.records_seed, "provenance": prov}
        if planes == PLANES:
            records += plane_views(
                structures,
                slices,
                centre,
                style=lambda s: names[0],
                rng=item_rng(ctx.records_seed, base.study_id, "multi_view"),
                scan=scan,
                **common,
            )
        records += object_tracking(
            structures,
            slices,
            style=lambda s: names[0],
            rng=item_rng(ctx.records_seed, base.study_id, "object_tracking"),
            scan=scan,
            **common,
        )
        records += slice_referring(
            structures,
            slices,
            style=lambda s: names[0],
            rng=item_rng(ctx.records_seed, base.study_id, "referring"),
            **common,
        )
        records += channel_crossmodal(
            structures,
            slices,
            names,
            centre,
            words=lambda c: f"axial {c} slice",
            rng=item_rng(ctx.records_seed, base.study_id, "crossmodal"),
            **common,
        )

    findings: list[Finding] = []
    by_study: dict[str, list[Finding]] = {}
    for key, study in sorted(slices.items()):
        plane, index, _channel = key
        fs = slice_findings(item, volume, structures, case.labels, study, plane, index)
        by_study[study.study_id] = fs
        findings += fs
        records += build_grounding_records(study, fs, seed=ctx.records_seed, exhaustive=True)
        if ctx.chains:
            records += slice_chains(item, volume, structures, study, plane, index, fs, ctx)

    if ctx.sequences:
        pixels = resize_max_side(
            render("axial", centre(base_sid, "axial"), names[0]), ctx.image_max_side
        )

        def publish_edit(key: str, px: np.ndarray, view_: str) -> Study:
            return publish(key, px, view_)

        records += radiograph_sequences(
            base, pixels, by_study[base.study_id], publish_edit, seed=ctx.records_seed
        )
    return ItemOutput(published, findings, records, [])


def slice_chains(
    item: SourceItem,
    volume: Volume,
    structures: dict[str, SparseMask],
    study: Study,
    plane: str,
    index: int,
    findings: Sequence[Finding],
    ctx: ItemContext,
) -> list[CotRecord]:
    """Chains of thought for the lesions on one slice that lie in one of its structures
    (none without both kinds of label)."""
    lesions = [f for f in findings if f.present and f.box is not None and not is_anatomy(f.label)]
    organ_ids = sorted(s for s in structures if is_anatomy(s))
    if not lesions or not organ_ids:
        return []
    organs = []
    for sid in organ_ids:
        shown = mask_image(volume, structures[sid], plane, index)
        if shown is not None and shown.any():
            organs.append(Organ(sid, phrase(sid), shown))
    if not organs:
        return []
    masks = {}
    for f in lesions:
        shown = mask_image(volume, structures[f.label], plane, index)
        if shown is not None:  # the lesion and the pixels bordering it (8-connected)
            masks[f.finding_id] = ndimage.binary_dilation(shown, structure=np.ones((3, 3)))
    provenance = Provenance.of(
        study,
        f"{item.extractor}+{COT_EXTRACTOR}",
        f"{item.extractor_version}+{COT_VERSION}",
        min(f.confidence for f in lesions),
    )
    return lesion_cot_records(
        study, lesions, organs, seed=ctx.records_seed, provenance=provenance, lesion_masks=masks
    )


def slice_findings(
    item: SourceItem,
    volume: Volume,
    structures: dict[str, SparseMask],
    labels: Sequence[str],
    study: Study,
    plane: str,
    index: int,
) -> list[Finding]:
    """Per label of the source: its box on the slice (present, however small: the mask says
    it is there), or absent when no voxel of it lies on the slice."""
    out = []
    for label in sorted(set(labels) | set(structures)):
        mask = structures.get(label)
        box = None
        if mask is not None:
            box = box_on(volume, mask, plane, index, study, min_pixels=1)
        out.append(
            Finding(
                finding_id=stable_id("finding", study.study_id, label),
                study_id=study.study_id,
                patient_id=study.patient_id,
                label=label,
                present=box is not None,
                box=NamedBox.of(box, phrase(label)) if box is not None else None,
                source_row=None,
                extractor=item.extractor,
                extractor_version=item.extractor_version,
                confidence=1.0,
            )
        )
    return out
