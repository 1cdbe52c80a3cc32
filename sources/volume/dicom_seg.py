"""DICOM-SEG objects with the image instances they reference (source kind ``dicom_seg``).

Planning reads headers only: every DICOM file under ``root`` (any name) is indexed by its
SOP Instance UID; each SEG (Modality ``SEG``) is one item, matched to its referenced
instances by the UIDs of its ReferencedSeriesSequence. A SEG with a referenced instance that
is not under root is a ``seg_reference_missing`` quarantine row.

Processing reads the SEG with ``highdicom`` (BINARY, FRACTIONAL: a voxel belongs to a
segment at 0.5 or more, LABELMAP), takes each segment's frames by the referenced instance
they lie on, and stacks the instances as a volume (``extractors.volume.dicom``, sorted along
the slice normal, the one canonical orientation); every segment is its own mask, so
overlapping segments keep their own boxes. A referenced image that is not a positioned
cross-section (slide microscopy, a radiograph without ImagePositionPatient) is
``seg_unsupported``. No header value but geometry and the segment labels is used; patient
ids are pseudonymised by the engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field

from extractors.volume import Volume
from extractors.volume.dicom import series_volume, slice_values, stack_series
from extractors.volume.reasons import SEG_SOURCE_INPUT
from extractors.volume.sparse import ClassMasks
from schemas.enums import Reason, Stage
from schemas.errors import ItemError
from schemas.vocab import label_key
from sources.base import InputFile, Plan, PlanContext, SourceItem, SourceSettings, quarantine_item
from sources.context import ItemContext, ItemOutput, read_error
from sources.volume.process import VolumeCase, process_case

READER = "dicom_seg"
VERSION = "1"
SEG_MODALITY = "SEG"
FRACTION_THRESHOLD = 0.5


class Settings(SourceSettings):
    kind: Literal["dicom_seg"]
    root: Path
    licence: str
    ct_window: Literal["lung", "soft_tissue", "bone"] | None = None  # CT sources only
    max_segs: int | None = Field(default=None, ge=1)  # the first N SEG files (sorted)
    optional: bool = False


def _header(path: Path) -> Any | None:
    import pydicom

    try:
        return pydicom.dcmread(str(path), stop_before_pixels=True)
    except Exception:  # not DICOM (notes, READMEs): passed over
        return None


def referenced_uids(ds: Any) -> list[str]:
    """The SOP Instance UIDs a SEG's ReferencedSeriesSequence names, in order."""
    out = []
    for series in ds.get("ReferencedSeriesSequence", []) or []:
        for inst in series.get("ReferencedInstanceSequence", []) or []:
            out.append(str(inst.ReferencedSOPInstanceUID))
    return list(dict.fromkeys(out))


def plan(settings: Settings, ctx: PlanContext) -> Plan:
    out = Plan()
    ds_name, root = settings.dataset, settings.root
    index: dict[str, Path] = {}
    segs: list[tuple[Path, Any]] = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        ds = _header(path)
        if ds is None or "SOPInstanceUID" not in ds:
            continue
        if str(ds.get("Modality", "")) == SEG_MODALITY:
            segs.append((path, ds))
        else:
            index[str(ds.SOPInstanceUID)] = path
    if settings.max_segs is not None and len(segs) > settings.max_segs:
        out.notes.append(f"max_segs: {settings.max_segs} of {len(segs)} SEG files used")
        segs = segs[: settings.max_segs]
    for path, ds in segs:
        rel = path.relative_to(root).as_posix()
        out.n_label_rows += 1
        uids = referenced_uids(ds)
        missing = [u for u in uids if u not in index]
        if not uids or missing:
            out.quarantine.append(
                quarantine_item(
                    ds_name,
                    Reason.SEG_REFERENCE_MISSING,
                    f"{rel}: {len(missing)} of {len(uids)} referenced image instance(s) not "
                    f"under the source root (ReferencedSeriesSequence (0008,1115))",
                    str(path),
                    stage=Stage.PLAN,
                    item_id=ctx.ids.study(ds_name, rel),
                )
            )
            continue
        files = [index[u] for u in uids]
        st = path.stat()
        out.items.append(
            SourceItem(
                dataset=ds_name,
                kind=settings.kind,
                reader=READER,
                item_id=rel,
                patient_key=str(ds.get("PatientID", "") or rel),
                path=str(path),
                labels_file=str(path),
                rows=(),
                licence=settings.licence,
                extractor="sources.dicom_seg",
                extractor_version=VERSION,
                modality="",
                file_size=st.st_size,
                file_mtime_ns=st.st_mtime_ns,
                exhaustive=True,
                inputs=tuple(InputFile.of(f"image:{k}", f) for k, f in enumerate(files)),
                settings=(tuple(str(f) for f in files), settings.ct_window),
            )
        )
    return out


def _segment_names(seg: Any) -> dict[int, str]:
    names: dict[int, str] = {}
    for item in seg.SegmentSequence:
        key = label_key(str(item.SegmentLabel)) or f"segment_{item.SegmentNumber}"
        if key in names.values():
            key = f"{key}_{item.SegmentNumber}"
        names[int(item.SegmentNumber)] = key
    return names


def framed_uids(seg: Any) -> set[str]:
    """The source instances the SEG's frames lie on (DerivationImageSequence)."""
    out = set()
    for frame in seg.get("PerFrameFunctionalGroupsSequence", []) or []:
        for der in frame.get("DerivationImageSequence", []) or []:
            for src in der.get("SourceImageSequence", []) or []:
                out.add(str(src.ReferencedSOPInstanceUID))
    return out


def _depth(ds: Any, normal: np.ndarray) -> float:
    return float(np.asarray(ds.ImagePositionPatient, dtype=float) @ normal)


def contiguous_run(images: list[Any], framed: set[str]) -> list[Any]:
    """The referenced images that carry frames (all when the SEG does not say), and of those
    the longest contiguous run along the slice normal: a SEG may reference a scout or
    distant slices that are no part of one regular grid (their frames are not used)."""
    keep = [ds for ds in images if str(ds.SOPInstanceUID) in framed] or images
    if len(keep) < 3:
        return keep
    iop = np.asarray(keep[0].ImageOrientationPatient, dtype=float)
    normal = np.cross(iop[:3], iop[3:])
    keep = sorted(keep, key=lambda ds: _depth(ds, normal))
    steps = np.diff([_depth(ds, normal) for ds in keep])
    typical = float(np.min(steps[steps > 1e-3])) if np.any(steps > 1e-3) else 1.0
    runs, start = [], 0
    for i, step in enumerate(steps):
        if step > 1.5 * typical:
            runs.append(keep[start : i + 1])
            start = i + 1
    runs.append(keep[start:])
    return max(runs, key=len)


def load_seg(item: SourceItem) -> VolumeCase:
    import highdicom as hd
    import pydicom

    files, ct_window = item.settings
    what = Path(item.path).name
    try:
        seg = hd.seg.segread(item.path)
    except Exception as exc:  # highdicom / pydicom raise many types for broken files
        raise ItemError(
            Reason.DICOM_READ_ERROR, f"{what}: not a readable DICOM-SEG: {exc}"
        ) from None
    images = [pydicom.dcmread(f) for f in files]
    modality = str(images[0].get("Modality", "OT"))
    if "ImagePositionPatient" not in images[0] or int(images[0].get("NumberOfFrames", 1)) > 1:
        raise ItemError(
            Reason.SEG_UNSUPPORTED,
            f"{what}: the referenced {modality} image is not a positioned cross-section "
            "(no ImagePositionPatient, or multi-frame): only slice series are read",
        )
    images = contiguous_run(images, framed_uids(seg))
    stack = stack_series(
        images,
        lambda ds: slice_values(ds, SEG_SOURCE_INPUT, what),
        rules=SEG_SOURCE_INPUT,
        what=what,
    )
    volume: Volume = series_volume(stack, SEG_SOURCE_INPUT, what)
    # the stack's order: positions along the slice normal, ascending (as stack_series sorts)
    iop = np.asarray(images[0].ImageOrientationPatient, dtype=float)
    normal = np.cross(iop[:3], iop[3:])
    order = sorted(
        range(len(images)),
        key=lambda k: float(np.asarray(images[k].ImagePositionPatient, float) @ normal),
    )
    uids = [str(images[k].SOPInstanceUID) for k in order]
    try:
        frames = seg.get_pixels_by_source_instance(uids, combine_segments=False)
    except Exception as exc:
        raise ItemError(
            Reason.SEG_UNSUPPORTED, f"{what}: segments not readable per source instance: {exc}"
        ) from None
    frames = np.asarray(frames)
    if frames.shape[1:3] != stack.data.shape[:2]:
        raise ItemError(
            Reason.MASK_MISMATCH,
            f"{what}: segment frames of {frames.shape[1]}x{frames.shape[2]} pixels on images "
            f"of {stack.data.shape[0]}x{stack.data.shape[1]}",
        )
    names = _segment_names(seg)
    numbers = list(seg.segment_numbers)
    dense = {}
    for j, number in enumerate(numbers):
        plane_stack = np.moveaxis(frames[..., j], 0, 2)  # (rows, cols, slices)
        values = plane_stack.astype(np.float32)
        if values.max() > 1.0:  # FRACTIONAL without rescaling
            values = values / float(seg.get("MaximumFractionalValue", 255) or 255)
        dense[names[number]] = volume.reorientation.apply(values >= FRACTION_THRESHOLD)
    masks = ClassMasks.from_dense(volume.shape, dense)
    if not masks.masks:
        raise ItemError(Reason.MASK_EMPTY, f"{what}: every segment is empty on its images")
    return VolumeCase([(modality, volume)], masks, modality, tuple(sorted(dense)), ct_window)


def process(item: SourceItem, ctx: ItemContext) -> ItemOutput:
    try:
        case = load_seg(item)
    except ItemError as exc:
        return ItemOutput(
            quarantine=[read_error(item, ctx.ids.study(item.dataset, item.item_id), exc)]
        )
    return process_case(item, ctx, case)
