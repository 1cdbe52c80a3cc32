"""2D images with mask files (Kvasir-SEG, ISIC, Montgomery / Shenzhen, SAM-Med2D, BUSI,
DRIVE...): ``images`` and ``masks`` are path patterns relative to ``root``.

Patterns: ``{id}`` is the part of the name an image shares with its masks (no ``/``); a mask
pattern may add ``{label}`` (the file names its label: SAM-Med2D's
``masks/{id}_{label}_{instance}.png``, Montgomery's ``ManualMask/{label}/{id}.png``) and
``{instance}`` (one object of that label per file: ``000``, ``001``). Everything else is
literal. ``masks`` is one pattern, or a list of them, one per observer (each observer's
masks of one image are combined: ``sources.segmentation.masks2d``).

Labels: without ``{label}``, a mask's pixel values name its labels (``labels: {255: polyp}``);
with it, the file's ``{label}`` text does (``labels`` renames it when given, else the text
itself, normalised, is the name). Names become canonical labels through
``schemas.vocab.label_of``: structures (lung, liver, aorta...) are anatomy
(``anatomy:`` labels, worded as structures), lesions are findings; ``label_kinds`` overrides.

Planning lists images and mask files (no pixel is read); processing decodes the image (in
colour for colour modalities, ``schemas.modality``), reads each mask, checks its size,
and boxes every label (``boxes: components``: one box per connected component;
``whole``: one box per label). With ``exhaustive`` (default: value masks), every named
label without pixels is stated absent and counting records are made.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator

from schemas.enums import Reason, Stage
from schemas.errors import ItemError
from schemas.modality import modality_code
from schemas.vocab import LabelKind, label_of
from shards.label_methods import LabelMethod
from sources.base import (
    InputFile,
    Plan,
    PlanContext,
    Source,
    SourceItem,
    SourceSettings,
    outside_root,
    quarantine_item,
)
from sources.context import ItemContext, ItemOutput, read_error
from sources.radiograph.process import Labels, image_records, load_item_image
from sources.segmentation.licences import KNOWN_LICENCES
from sources.segmentation.masks2d import (
    LabelMasks,
    check_size,
    findings_from_masks,
    foreground,
    mask_quarantine,
    read_mask,
    split_values,
    values_mode,
)

KIND = "image_masks"
EXTRACTOR = "sources.image_masks"
VERSION = "1"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
_FIELDS = {"id": r"[^/]+", "label": r"[^/]+", "instance": r"[^/_]+"}


class Settings(SourceSettings):
    """``{kind: image_masks, root, images, masks, labels, modality, licence}``."""

    kind: Literal["image_masks"]
    root: Path
    images: str  # pattern relative to root, with {id}
    masks: str | list[str]  # pattern(s) with {id} (+ {label}, {instance}); a list: observers
    labels: dict[int | str, str] | None = None  # mask value (or {label} text) -> name
    modality: str  # endoscopy, dermoscopy, xray, ct, ultrasound, fundus... (schemas.modality)
    boxes: Literal["components", "whole"] = "components"
    min_component_pixels: int = 10  # smaller components are not boxed (a counted row)
    mask_values: Literal["auto", "exact", "nearest"] = "auto"  # auto: nearest for JPEG
    exhaustive: bool | None = None  # default: true for value masks, false with {label}
    empty_masks: Literal["quarantine", "negative"] = "quarantine"
    label_kinds: dict[str, LabelKind] = Field(default_factory=dict)
    patient_regex: str | None = None  # its first group of the id is the patient (default id)
    licence: str  # licence id (declare it: sources.segmentation.licences or shards.licences)
    optional: bool = False

    @field_validator("masks")
    @classmethod
    def _masks(cls, v: str | list[str]) -> str | list[str]:
        for pattern in [v] if isinstance(v, str) else v:
            _check_pattern(pattern, "masks", ("id", "label", "instance"))
        if isinstance(v, list) and not v:
            raise ValueError("masks: give at least one pattern")
        return v

    @field_validator("images")
    @classmethod
    def _images(cls, v: str) -> str:
        _check_pattern(v, "images", ("id",))
        return v

    @model_validator(mode="after")
    def _labels(self) -> Settings:
        if not self.has_label_field and not self.labels:
            raise ValueError(
                "labels: name the mask values (e.g. {255: polyp}), or put {label} in masks"
            )
        if not self.has_label_field and any(not isinstance(k, int) for k in self.labels or {}):
            raise ValueError("labels: keys are mask values (integers) when masks has no {label}")
        return self

    @property
    def patterns(self) -> list[str]:
        return [self.masks] if isinstance(self.masks, str) else list(self.masks)

    @property
    def has_label_field(self) -> bool:
        return any("{label}" in p for p in self.patterns)


def _check_pattern(pattern: str, key: str, allowed: tuple[str, ...]) -> None:
    fields = re.findall(r"\{(\w*)\}", pattern)
    if fields.count("id") != 1:
        raise ValueError(f"{key}: {pattern!r} needs {{id}} exactly once")
    unknown = sorted(set(fields) - set(allowed))
    if unknown:
        raise ValueError(f"{key}: {pattern!r} has unknown field(s) {unknown}; known: {allowed}")
    if pattern.startswith("/") or ".." in Path(pattern).parts:
        raise ValueError(f"{key}: {pattern!r} must stay under root")


@dataclass(frozen=True)
class MaskRef:
    """One mask file of an item: its observer, and the label and instance its name says."""

    path: str
    observer: int
    label: str | None  # the {label} text (None: pixel values name the labels)
    instance: str


@dataclass(frozen=True)
class ItemSettings:
    """What processing needs (frozen: part of the cache key)."""

    masks: tuple[MaskRef, ...]
    n_observers: int
    values: tuple[tuple[int, str], ...]  # value -> canonical label (value masks)
    names: tuple[tuple[str, str], ...]  # {label} text -> canonical label (label masks)
    all_labels: tuple[str, ...]  # every label the source names (absences when exhaustive)
    boxes: str
    min_pixels: int
    mask_values: str
    empty_masks: str


def _regex(pattern: str, id_literal: str | None = None) -> re.Pattern[str]:
    out = []
    for part in re.split(r"(\{\w+\})", pattern):
        name = part[1:-1] if part.startswith("{") and part.endswith("}") else None
        if name == "id" and id_literal is not None:
            out.append(f"(?P<id>{re.escape(id_literal)})")
        elif name:
            out.append(f"(?P<{name}>{_FIELDS[name]})")
        else:
            out.append(re.escape(part))
    return re.compile("".join(out))


def _base(pattern: str) -> str:
    """The folder of a pattern before its first field ("" for root)."""
    head = pattern.split("{", 1)[0]
    return head.rsplit("/", 1)[0] if "/" in head else ""


def _files(root: Path, pattern: str) -> list[str]:
    """Every file under the pattern's fixed folder, as sorted paths relative to root."""
    base = root / _base(pattern)
    if not base.is_dir():
        return []
    return sorted(p.relative_to(root).as_posix() for p in base.rglob("*") if p.is_file())


def plan(settings: Settings, ctx: PlanContext) -> Plan:
    """An item per image the ``images`` pattern matches, with its mask files; quarantine rows
    for an image without any mask, an observer's missing mask and paths leaving root."""
    dataset, root, out = settings.dataset, settings.root, Plan()
    image_re = _regex(settings.images)
    images: dict[str, str] = {}
    for rel in _files(root, settings.images):
        m = image_re.fullmatch(rel)
        if m and Path(rel).suffix.lower() in IMAGE_SUFFIXES:
            if m["id"] in images:
                out.quarantine.append(
                    quarantine_item(
                        dataset,
                        Reason.DUPLICATE_IMAGE_ID,
                        f"image id {m['id']} is also {images[m['id']]}; using that file",
                        str(root / rel),
                        stage=Stage.PLAN,
                        item_id=ctx.ids.study(dataset, m["id"]),
                    )
                )
                continue
            images[m["id"]] = rel
    masks, orphans = _mask_index(settings, root, images)
    for orphan in orphans:
        out.quarantine.append(
            quarantine_item(
                dataset,
                Reason.FILE_MISSING,
                f"mask {Path(orphan).name} matches the masks pattern but no image of "
                f"{settings.images}: not used",
                orphan,
                stage=Stage.PLAN,
            )
        )
    named = sorted(
        (str(k), k, label_of(v, settings.label_kinds)) for k, v in (settings.labels or {}).items()
    )
    if settings.has_label_field:
        values, names = (), tuple((text, label) for text, _, label in named)
    else:
        values, names = tuple((int(k), label) for _, k, label in named), ()
    all_labels = tuple(sorted({label for _, label in (*values, *names)}))
    exhaustive = (
        settings.exhaustive if settings.exhaustive is not None else not settings.has_label_field
    )
    patient_re = re.compile(settings.patient_regex) if settings.patient_regex else None
    out.n_label_rows = sum(len(v) for v in masks.values()) + len(orphans)
    for image_id, rel in sorted(images.items()):
        study_id = ctx.ids.study(dataset, image_id)
        path = root / rel
        refs = masks.get(image_id, [])
        drawn = {r.observer for r in refs}
        missing = [k for k in range(len(settings.patterns)) if k not in drawn]
        if not refs:
            out.quarantine.append(
                quarantine_item(
                    dataset,
                    Reason.FILE_MISSING,
                    f"image {rel} has no mask file matching {settings.patterns}: not used",
                    str(path),
                    stage=Stage.PLAN,
                    item_id=study_id,
                )
            )
            continue
        if outside_root(path, root) or any(outside_root(Path(r.path), root) for r in refs):
            out.quarantine.append(
                quarantine_item(
                    dataset,
                    Reason.PATH_OUTSIDE_ROOT,
                    f"image {rel} or one of its masks resolves outside {root}: not read",
                    str(path),
                    stage=Stage.PLAN,
                    item_id=study_id,
                )
            )
            continue
        for k in missing:  # an observer who drew nothing for this image: noted, item kept
            out.quarantine.append(
                quarantine_item(
                    dataset,
                    Reason.FILE_MISSING,
                    f"image {rel}: no mask of observer {k + 1} ({settings.patterns[k]}); "
                    "the other observers' masks are used",
                    str(root / settings.patterns[k].replace("{id}", image_id)),
                    stage=Stage.PLAN,
                    item_id=study_id,
                )
            )
        patient = image_id
        if patient_re is not None and (pm := patient_re.search(image_id)) and pm.groups():
            patient = pm.group(1)
        stat = path.stat()
        out.items.append(
            SourceItem(
                dataset=dataset,
                kind=KIND,
                reader="image",
                item_id=image_id,
                patient_key=patient,
                path=str(path),
                labels_file=str(Path(refs[0].path)),
                rows=(),
                licence=settings.licence,
                extractor=EXTRACTOR,
                extractor_version=VERSION,
                modality=modality_code(settings.modality),
                file_size=stat.st_size,
                file_mtime_ns=stat.st_mtime_ns,
                exhaustive=exhaustive,
                inputs=tuple(InputFile.of(f"mask{i}", Path(r.path)) for i, r in enumerate(refs)),
                settings=ItemSettings(
                    masks=tuple(refs),
                    n_observers=len(settings.patterns),
                    values=values,
                    names=names,
                    all_labels=all_labels if exhaustive else (),
                    boxes=settings.boxes,
                    min_pixels=settings.min_component_pixels,
                    mask_values=settings.mask_values,
                    empty_masks=settings.empty_masks,
                ),
            )
        )
    unmatched = out.n_label_rows - len(orphans) - sum(len(i.settings.masks) for i in out.items)
    if unmatched > 0:
        out.notes.append(f"{dataset}: {unmatched} mask file(s) belong to images set aside")
    return out


def _mask_index(
    settings: Settings, root: Path, images: dict[str, str]
) -> tuple[dict[str, list], list[str]]:
    """Mask files by image id. Each pattern's files are matched with each image's id as a
    literal (so ids and labels may both contain ``_``); a file two ids could claim goes to
    the longer id (``a_b_liver`` is ``a_b``'s, not ``a``'s ``b_liver``)."""
    found: dict[str, list[MaskRef]] = {}
    orphans: list[str] = []  # mask files of no image
    for observer, pattern in enumerate(settings.patterns):
        files = _files(root, pattern)
        head, _, tail = pattern.partition("{id}")
        literal = re.split(r"\{\w+\}", tail, maxsplit=1)[0]
        claims: dict[str, tuple[str, re.Match[str]]] = {}
        if "{" in head:  # a field before {id} (``{label}/{id}.png``): match each file once
            generic = _regex(pattern)
            for rel in files:
                m = generic.fullmatch(rel)
                if m and m["id"] in images:
                    claims[rel] = (m["id"], m)
        for image_id in images if "{" not in head else ():
            prefix = head + image_id + literal
            start = bisect.bisect_left(files, prefix)
            regex = _regex(pattern, image_id)
            for rel in files[start:]:
                if not rel.startswith(prefix):
                    break
                m = regex.fullmatch(rel)
                if m and (rel not in claims or len(image_id) > len(claims[rel][0])):
                    claims[rel] = (image_id, m)
        generic = _regex(pattern)
        orphans.extend(
            str(root / rel) for rel in files if rel not in claims and generic.fullmatch(rel)
        )
        for rel, (image_id, m) in sorted(claims.items()):
            groups = m.groupdict()
            found.setdefault(image_id, []).append(
                MaskRef(
                    str(root / rel), observer, groups.get("label"), groups.get("instance") or ""
                )
            )
    return found, orphans


def process(item: SourceItem, ctx: ItemContext) -> ItemOutput:
    """Decode the image, read and check its masks, box each label, build the records."""
    study_id = ctx.ids.study(item.dataset, item.item_id)
    s: ItemSettings = item.settings
    try:
        loaded = load_item_image(item, ctx)
        shape = loaded.pixels.shape[:2]
        labels, rejected = _label_masks(item, study_id, s, shape)
    except ItemError as exc:
        return ItemOutput(quarantine=[read_error(item, study_id, exc)])
    if not labels and s.empty_masks == "quarantine":  # nothing marked: no record to trust
        return ItemOutput(quarantine=rejected)
    present = {lm.label for lm in labels if lm.consensus().any()}
    absent = [label for label in s.all_labels if label not in present]
    out = image_records(
        item,
        ctx,
        study_id,
        loaded,
        lambda item, study: Labels(
            *findings_from_masks(
                item, study, labels, boxes=s.boxes, min_pixels=s.min_pixels, absent=absent
            )
        ),
    )
    out.quarantine = rejected + out.quarantine
    return out


def _label_masks(
    item: SourceItem, study_id: str, s: ItemSettings, shape: tuple[int, int]
) -> tuple[list[LabelMasks], list]:
    """Every (label, instance) of the item with each observer's mask; rows for unnamed
    values, unnamed {label} texts and empty masks."""
    values = dict(s.values)
    names = dict(s.names)
    rejected = []
    by_key: dict[tuple[str, str], LabelMasks] = {}

    def add(label: str, instance: str, observer: int, mask, ref: str) -> None:
        key = (label, instance)
        if key not in by_key:
            by_key[key] = LabelMasks(label, instance, [None] * s.n_observers, [])
        lm = by_key[key]
        lm.masks[observer] = mask if lm.masks[observer] is None else lm.masks[observer] | mask
        lm.refs.append(ref)

    for ref in s.masks:
        arr = read_mask(ref.path)
        check_size(arr, shape, ref.path, item.path)
        mode = values_mode(s.mask_values, ref.path)
        name = Path(ref.path).name
        if ref.label is None:
            split, unnamed = split_values(arr, values, mode)
            for value, count in sorted(unnamed.items()):
                rejected.append(
                    mask_quarantine(
                        item,
                        study_id,
                        Reason.LABEL_UNMAPPED,
                        f"mask {name}: value {value} ({count} pixels) is not named by labels "
                        f"{sorted(values)}: those pixels are not used",
                        ref.path,
                    )
                )
            marked = {label: m for label, m in split.items() if m.any()}
        else:
            if names and ref.label not in names:
                rejected.append(
                    mask_quarantine(
                        item,
                        study_id,
                        Reason.LABEL_UNMAPPED,
                        f"mask {name}: label {ref.label!r} is not named by labels "
                        f"{sorted(names)}: not used",
                        ref.path,
                    )
                )
                continue
            label = names.get(ref.label) or label_of(ref.label)
            fg = foreground(arr, mode)
            marked = {label: fg} if fg.any() else {}
        if not marked:
            if s.empty_masks == "quarantine":
                rejected.append(
                    mask_quarantine(
                        item,
                        study_id,
                        Reason.MASK_EMPTY,
                        f"mask {name} marks no pixel of any label (set empty_masks: negative "
                        "if empty masks mean the labels are absent)",
                        ref.path,
                    )
                )
            continue
        for label, mask in marked.items():
            add(label, ref.instance, ref.observer, mask, ref.path)
    return sorted(by_key.values(), key=lambda lm: (lm.label, lm.instance)), rejected


LABEL_METHOD = LabelMethod(
    EXTRACTOR,
    "expert",
    "boxes from the dataset's own segmentation masks (one per connected component, or one "
    "per label), several observers combined by majority with their mask IoU as confidence",
    "boxes recomputed from the masks within 1 px in tests (scipy.ndimage.label)",
)

SOURCE = Source(
    settings=Settings,
    plan=plan,
    process=process,
    layout="images pattern ({id}) + masks pattern(s) ({id}, {label}, {instance}) under root",
    licences=KNOWN_LICENCES,
    label_methods=(LABEL_METHOD,),
)
