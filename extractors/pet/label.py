"""One exam, end to end and pure: report text + SUV volume -> every SUV mention with either a
lesion label or the reason it has none. The liver reference for records comes from the
liver mask when the exam has one, else from a liver value the report gives."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from extractors.pet.localise import (
    SUV_FLOOR,
    ExamGeometry,
    Lesion,
    LesionQuery,
    Rejection,
    localise,
)
from extractors.pet.report import (
    PHYSIOLOGIC,
    PRIOR,
    REFERENCE,
    SuvMention,
    extract_suv_mentions,
)
from extractors.pet.volume import PetVolume
from extractors.volume.morphology import erode6
from schemas.enums import Reason

EXTRACTOR = "extractors.pet"
EXTRACTOR_VERSION = "1"


@dataclass
class MentionResult:
    """A mention and what became of it: a lesion, or a rejection with its reason code."""

    mention: SuvMention
    lesion: Lesion | None = None
    rejection: Rejection | None = None
    z: tuple[int, ...] = ()  # canonical z of the reported slice(s)


@dataclass
class ExamLabels:
    results: list[MentionResult] = field(default_factory=list)
    liver_reference: float | None = None  # mean SUV of normal liver
    liver_source: str = ""  # "liver mask" or "report"

    @property
    def assigned(self) -> list[MentionResult]:
        return [r for r in self.results if r.lesion is not None]

    @property
    def rejected(self) -> list[MentionResult]:
        return [r for r in self.results if r.lesion is None]


def query_for(mention: SuvMention, volume: PetVolume) -> LesionQuery | Rejection:
    """What to look for in the volume, or why a mention cannot be localised at all."""
    if mention.role == PRIOR:
        return Rejection(
            Reason.MENTION_PRIOR,
            f"SUV {mention.suv:g} is a prior exam's value ({mention.cue!r})",
        )
    if mention.role == REFERENCE:
        return Rejection(
            Reason.MENTION_REFERENCE,
            f"SUV {mention.suv:g} is a reference value ({mention.cue!r})",
        )
    if mention.role == PHYSIOLOGIC:
        return Rejection(
            Reason.MENTION_PHYSIOLOGIC,
            f"SUV {mention.suv:g}: the report calls the uptake benign ({mention.cue!r})",
        )
    if mention.metric != "max":
        return Rejection(
            Reason.MENTION_NOT_SUVMAX,
            f"SUV{mention.metric} {mention.suv:g}: only SUVmax values are matched to hot spots",
        )
    if mention.slice is None:
        if mention.non_axial:
            return Rejection(
                Reason.MENTION_NOT_AXIAL,
                f"SUV {mention.suv:g} comes with a {mention.non_axial} image number only",
            )
        return Rejection(Reason.MENTION_NO_SLICE, f"SUV {mention.suv:g} comes without a slice")
    numbers = (
        list(range(mention.slice_range[0], mention.slice_range[1] + 1))
        if mention.slice_range
        else [mention.slice]
    )
    zs = tuple(z for z in (volume.numbering.index_of(n) for n in numbers) if z is not None)
    if not zs:
        lo, hi = volume.numbering.span
        shown = f"{numbers[0]}-{numbers[-1]}" if len(numbers) > 1 else str(numbers[0])
        return Rejection(
            Reason.MENTION_SLICE_OUTSIDE,
            f"slice {shown} is not in the volume (slices {lo}-{hi}, {volume.numbering.convention})",
        )
    if mention.suv < SUV_FLOOR:
        return Rejection(
            Reason.MENTION_SUV_LOW,
            f"SUV {mention.suv:g} is below the labelling floor {SUV_FLOOR:g}",
        )
    return LesionQuery(mention.suv, zs, mention.laterality, mention.anatomy)


def label_mentions(volume: PetVolume, mentions: list[SuvMention]) -> ExamLabels:
    geometry = ExamGeometry(volume)
    labels = ExamLabels()
    for mention in mentions:
        query = query_for(mention, volume)
        if isinstance(query, Rejection):
            labels.results.append(MentionResult(mention, rejection=query))
            continue
        found = localise(volume, query, geometry)
        if isinstance(found, Lesion):
            labels.results.append(MentionResult(mention, lesion=found, z=query.z))
        else:
            labels.results.append(MentionResult(mention, rejection=found, z=query.z))
    labels.liver_reference, labels.liver_source = liver_reference(volume, labels, mentions)
    return labels


def label_exam(volume: PetVolume, report: str) -> ExamLabels:
    """Read the report's SUV mentions and localise each lesion mention in the volume."""
    return label_mentions(volume, extract_suv_mentions(report))


def _clear_lesion(core: np.ndarray, box: tuple[slice, slice, slice], lesion) -> None:
    """``core`` (the crop ``box`` of the volume) without the lesion's voxels."""
    lo = [max(b.start, o) for b, o in zip(box, lesion.offset, strict=True)]
    hi = [min(b.stop, o + n) for b, o, n in zip(box, lesion.offset, lesion.mask.shape, strict=True)]
    if any(a >= b for a, b in zip(lo, hi, strict=True)):
        return
    dst = tuple(slice(a - b.start, c - b.start) for a, c, b in zip(lo, hi, box, strict=True))
    src = tuple(slice(a - o, c - o) for a, c, o in zip(lo, hi, lesion.offset, strict=True))
    core[dst] &= ~lesion.mask[src]


def liver_reference(
    volume: PetVolume, labels: ExamLabels, mentions: list[SuvMention]
) -> tuple[float | None, str]:
    """Mean SUV of normal liver: the liver mask eroded by two voxels, lesions left out; else
    a liver value the report states as reference."""
    liver = volume.organs.crop("liver") if volume.organs is not None else None
    if liver is not None:
        box, local, count = liver
        if count > 100:
            core = erode6(local, 2)
            core = core if core.sum() > 50 else local
            for r in labels.assigned:
                _clear_lesion(core, box, r.lesion)  # type: ignore[arg-type]
            if core.any():
                return round(float(np.mean(volume.suv[box][core])), 2), "liver mask"
    for m in mentions:
        if (m.role == REFERENCE and m.cue and "liver" in m.cue.lower()) or (
            m.role == REFERENCE and "liver" in m.anatomy and m.metric == "mean"
        ):
            return m.suv, "report"
    return None, ""
