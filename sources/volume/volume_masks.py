"""Image volumes with one label-map file each, found by name patterns (source kind
``volume_masks``): e.g. the pyradiomics / 3D Slicer ``<case>_image.nrrd`` +
``<case>_label.nrrd`` pairs, or any NIfTI / NRRD / MHA pairs that are not an nnU-Net folder.

``images`` and ``masks`` are patterns relative to ``root`` in which ``{id}`` is the part of
the name the image and its label map share (defaults: the pyradiomics names; a file that
matches the ``masks`` pattern is never an image, so ``{id}.mha`` + ``{id}_seg.mha`` works);
``labels`` names the label values (required: a bare pair says nothing about them). Every
image found is a case; an image without its label map is a ``file_missing`` quarantine row.
Processing is shared with the other volume kinds (``sources.volume.process``)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator

from schemas.enums import Reason, Stage
from schemas.vocab import LabelKind
from sources.base import Plan, PlanContext, SourceSettings, quarantine_item
from sources.volume.files import case_item, label_names
from sources.volume.process import modality_code


class Settings(SourceSettings):
    kind: Literal["volume_masks"]
    root: Path
    images: str = "{id}_image.nrrd"
    masks: str = "{id}_label.nrrd"
    labels: dict[int, str]  # label value -> name, e.g. {1: lesion}
    label_kinds: dict[str, LabelKind] = Field(default_factory=dict)  # name -> anatomy/finding
    modality: str  # mri, ct, ...
    licence: str
    ct_window: Literal["lung", "soft_tissue", "bone"] | None = None  # CT only
    max_cases: int | None = Field(default=None, ge=1)
    optional: bool = False

    @field_validator("images", "masks")
    @classmethod
    def _one_id(cls, v: str) -> str:
        if v.count("{id}") != 1:
            raise ValueError(f"{v!r}: a pattern must hold {{id}} exactly once")
        return v


def _ids(root: Path, pattern: str) -> dict[str, Path]:
    head, tail = pattern.split("{id}")
    rx = re.compile(re.escape(head) + r"(?P<id>[^/]+?)" + re.escape(tail) + "$")
    base = root / Path(head).parent if "/" in head else root
    out = {}
    for f in sorted(base.rglob("*")) if base.is_dir() else []:
        m = rx.match(f.relative_to(root).as_posix())
        if m and f.is_file():
            out[m.group("id")] = f
    return out


def plan(settings: Settings, ctx: PlanContext) -> Plan:
    out = Plan()
    ds, root = settings.dataset, settings.root
    labels = label_names(settings.labels, settings.label_kinds)
    code = modality_code(settings.modality)
    masks = set(_ids(root, settings.masks).values())
    found = {k: p for k, p in _ids(root, settings.images).items() if p not in masks}
    ordered = sorted(found)
    if settings.max_cases is not None and len(ordered) > settings.max_cases:
        out.notes.append(f"max_cases: {settings.max_cases} of {len(ordered)} cases used")
        ordered = ordered[: settings.max_cases]
    for case in ordered:
        out.n_label_rows += 1
        mask = root / settings.masks.replace("{id}", case)
        if not mask.is_file():
            out.quarantine.append(
                quarantine_item(
                    ds,
                    Reason.FILE_MISSING,
                    f"{found[case].name}: its label map {settings.masks.replace('{id}', case)} "
                    "not found",
                    str(mask),
                    stage=Stage.PLAN,
                    item_id=ctx.ids.study(ds, case),
                )
            )
            continue
        out.items.append(
            case_item(
                dataset=ds,
                kind=settings.kind,
                case_id=case,
                channels=[(settings.modality, found[case])],
                label_file=mask,
                labels=labels,
                modality=code,
                licence=settings.licence,
                ct_window=settings.ct_window,
            )
        )
    return out
