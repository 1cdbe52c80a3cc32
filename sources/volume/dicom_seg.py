"""DICOM-SEG objects with the image instances they reference (source kind ``dicom_seg``).

Planning reads headers only: every DICOM file under ``root`` (any name) is indexed by its
SOP Instance UID; the SEGs (Modality ``SEG``) are matched to their referenced instances by
the UIDs of their ReferencedSeriesSequence. The SEGs of one referenced series are one item
(several readers or encodings of one series share its slices, which are published once); a
SEG with a referenced instance that is not under root is a ``seg_reference_missing``
quarantine row (the series' other SEGs go on).

Processing reads each SEG with ``highdicom`` (BINARY, FRACTIONAL: a voxel belongs to a
segment at 0.5 or more, LABELMAP) and takes each segment's frames by the referenced instance
they lie on. The instances that carry frames are stacked (``extractors.volume.dicom``, sorted
along the slice normal, the one canonical orientation); instances far apart (a SEG on a few
distant slices) form several runs, each its own regular volume. Every segment is its own
mask, so overlapping segments keep their own boxes; segments of one label in several SEGs
of the series are united. A referenced image that is not a positioned cross-section (slide
microscopy, a radiograph without ImagePositionPatient) is ``seg_unsupported``. No header
value but geometry and the segment labels is used; patient ids are pseudonymised."""

from __future__ import annotations

from dataclasses import dataclass
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
from schemas.vocab import LabelKind, label_of, normalise_name
from sources.base import InputFile, Plan, PlanContext, SourceItem, SourceSettings, quarantine_item
from sources.context import ItemContext, ItemOutput, read_error
from sources.volume.process import VolumeCase, process_case

READER = "dicom_seg"
VERSION = "1"
SEG_MODALITY = "SEG"
FRACTION_THRESHOLD = 0.5
RUN_GAP = 1.5  # a step over this many times the smallest one starts a new run of slices


class Settings(SourceSettings):
    kind: Literal["dicom_seg"]
    root: Path
    licence: str
    ct_window: Literal["lung", "soft_tissue", "bone"] | None = None  # CT sources only
    label_kinds: dict[str, LabelKind] = Field(default_factory=dict)  # name -> anatomy/finding
    max_segs: int | None = Field(default=None, ge=1)  # the first N SEG files (sorted)
    optional: bool = False


@dataclass(frozen=True)
class SegGroup:
    """Per-item settings: the SEG files of one referenced series and its image files, the CT
    window and the source's ``label_kinds`` (name, kind) pairs."""

    segs: tuple[str, ...]
    images: tuple[str, ...]
    ct_window: str | None = None
    label_kinds: tuple[tuple[str, str], ...] = ()


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
    groups: dict[tuple[str, ...], list[tuple[str, Path, Any]]] = {}
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
        series = tuple(
            sorted(str(r.SeriesInstanceUID) for r in ds.get("ReferencedSeriesSequence", []))
        )
        groups.setdefault(series, []).append((rel, path, ds))
    for members in sorted(groups.values(), key=lambda m: m[0][0]):
        rel, path, ds = members[0]
        files = sorted({index[u] for _, _, d in members for u in referenced_uids(d)})
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
                inputs=tuple(
                    [InputFile.of(f"seg:{k}", p) for k, (_, p, _) in enumerate(members[1:])]
                    + [InputFile.of(f"image:{k}", f) for k, f in enumerate(files)]
                ),
                settings=SegGroup(
                    tuple(str(p) for _, p, _ in members),
                    tuple(str(f) for f in files),
                    settings.ct_window,
                    tuple(sorted(settings.label_kinds.items())),
                ),
            )
        )
    return out


def _segment_names(seg: Any, kinds: dict[str, str]) -> dict[int, str]:
    """Segment number -> canonical label (``schemas.vocab.label_of``); an unnamed segment is
    ``segment_<number>``, a label two segments share gets the second one's number."""
    names: dict[int, str] = {}
    for item in seg.SegmentSequence:
        text = str(item.SegmentLabel)
        key = label_of(text, kinds) if normalise_name(text) else f"segment_{item.SegmentNumber}"
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


def runs_of(images: list[Any]) -> list[list[Any]]:
    """Images sorted along the slice normal, split where a step is over ``RUN_GAP`` times
    the smallest one: each run is one regular grid."""
    iop = np.asarray(images[0].ImageOrientationPatient, dtype=float)
    normal = np.cross(iop[:3], iop[3:])
    ordered = sorted(images, key=lambda ds: _depth(ds, normal))
    if len(ordered) < 3:
        return [ordered]
    steps = np.diff([_depth(ds, normal) for ds in ordered])
    typical = float(np.min(steps[steps > 1e-3])) if np.any(steps > 1e-3) else 1.0
    runs, start = [], 0
    for i, step in enumerate(steps):
        if step > RUN_GAP * typical:
            runs.append(ordered[start : i + 1])
            start = i + 1
    runs.append(ordered[start:])
    return runs


def _read_segs(paths: tuple[str, ...]) -> list[Any]:
    import highdicom as hd

    segs = []
    for path in paths:
        try:
            segs.append(hd.seg.segread(path))
        except Exception as exc:  # highdicom / pydicom raise many types for broken files
            raise ItemError(
                Reason.DICOM_READ_ERROR, f"{Path(path).name}: not a readable DICOM-SEG: {exc}"
            ) from None
    return segs


def _run_case(run: list[Any], segs: list[Any], what: str, group: SegGroup) -> VolumeCase:
    """One run of slices as a volume with every segment of the SEGs on it."""
    modality = str(run[0].get("Modality", "OT"))
    stack = stack_series(
        run, lambda ds: slice_values(ds, SEG_SOURCE_INPUT, what), rules=SEG_SOURCE_INPUT, what=what
    )
    volume: Volume = series_volume(stack, SEG_SOURCE_INPUT, what)
    uids = [str(ds.SOPInstanceUID) for ds in run]  # the stack's order (sorted the same way)
    dense: dict[str, np.ndarray] = {}
    for seg in segs:
        name = Path(str(seg.filename)).name if getattr(seg, "filename", None) else what
        framed = [u for u in uids if u in framed_uids(seg)]
        if not framed:
            continue
        try:
            frames = np.asarray(
                seg.get_pixels_by_source_instance(
                    uids, combine_segments=False, assert_missing_frames_are_empty=True
                )
            )
        except Exception as exc:  # highdicom raises ValueError / RuntimeError variants
            raise ItemError(
                Reason.SEG_UNSUPPORTED, f"{name}: segments not readable per source image: {exc}"
            ) from None
        if frames.shape[1:3] != stack.data.shape[:2]:
            raise ItemError(
                Reason.MASK_MISMATCH,
                f"{name}: segment frames of {frames.shape[1]}x{frames.shape[2]} pixels on "
                f"images of {stack.data.shape[0]}x{stack.data.shape[1]}",
            )
        names = _segment_names(seg, dict(group.label_kinds))
        scale = float(seg.get("MaximumFractionalValue", 255) or 255)
        for j, number in enumerate(seg.segment_numbers):
            values = np.moveaxis(frames[..., j], 0, 2).astype(np.float32)  # rows, cols, slices
            if values.max() > 1.0:  # FRACTIONAL values not rescaled to [0, 1]
                values = values / scale
            mask = volume.reorientation.apply(values >= FRACTION_THRESHOLD)
            key = names[number]
            dense[key] = dense[key] | mask if key in dense else mask
    masks = ClassMasks.from_dense(volume.shape, dense)
    return VolumeCase([(modality, volume)], masks, modality, tuple(sorted(dense)), group.ct_window)


def load_seg(item: SourceItem) -> list[VolumeCase]:
    """One case per run of slices that carries segment voxels (``ItemError`` for bad input;
    ``mask_empty`` when no segment has a voxel)."""
    import pydicom

    group: SegGroup = item.settings
    what = ", ".join(Path(p).name for p in group.segs)
    segs = _read_segs(group.segs)
    framed = set().union(*(framed_uids(seg) for seg in segs))
    images = [pydicom.dcmread(f) for f in group.images]
    images = [ds for ds in images if str(ds.SOPInstanceUID) in framed] or images
    for ds in images:
        if "ImagePositionPatient" not in ds or int(ds.get("NumberOfFrames", 1) or 1) > 1:
            raise ItemError(
                Reason.SEG_UNSUPPORTED,
                f"{what}: the referenced {ds.get('Modality', '?')} image is not a positioned "
                "cross-section (no ImagePositionPatient, or multi-frame): only slice series "
                "are read",
            )
    cases = [_run_case(run, segs, what, group) for run in runs_of(images)]
    cases = [c for c in cases if c.masks.masks]
    if not cases:
        raise ItemError(Reason.MASK_EMPTY, f"{what}: every segment is empty on its images")
    return cases


def process(item: SourceItem, ctx: ItemContext) -> ItemOutput:
    try:
        cases = load_seg(item)
    except ItemError as exc:
        return ItemOutput(
            quarantine=[read_error(item, ctx.ids.study(item.dataset, item.item_id), exc)]
        )
    out = ItemOutput()
    for k, case in enumerate(cases):
        part = process_case(item, ctx, case, key_prefix=f"run{k}-" if len(cases) > 1 else "")
        out.studies += part.studies
        out.findings += part.findings
        out.records += part.records
        out.quarantine += part.quarantine
    return out
