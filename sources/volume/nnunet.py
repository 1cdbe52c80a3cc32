"""nnU-Net v2 raw and Medical Segmentation Decathlon folders (source kind ``nnunet``):
``imagesTr/`` (+ ``imagesTs/``), ``labelsTr/``, ``dataset.json``.

``dataset.json`` is read in both spellings: MSD (``"labels": {"0": "background", ...}``,
``"modality": {"0": "MRI"}``, ``"training": [{"image": ..., "label": ...}]``, one file per
case, a 4D NIfTI when there are several channels) and nnU-Net v2 (``"labels":
{"background": 0, ...}``, ``"channel_names"``, ``"file_ending"``, one file per channel,
``<case>_0000<ending>``, ``<case>_0001<ending>``...). Without ``dataset.json`` the config's
``labels`` and ``modality`` say what it would (the MSD Hippocampus copy in realdata ships
none); given both, the config wins. nnU-Net v2 region labels (a list of values) are not
single structures and are left out with a note.

Every case is one item; a case the json names whose files are absent, an image without its
label and a label without its image are ``file_missing`` quarantine rows. ``imagesTs/`` has
no labels: its cases are counted in a note, not used. Processing is shared with the other
volume kinds (``sources.volume.process``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import Field

from extractors.volume.image import VOLUME_SUFFIXES
from schemas.enums import Reason, Stage
from schemas.vocab import LabelKind
from sources.base import Plan, PlanContext, SourceSettings, quarantine_item
from sources.radiograph.csv_labels import SourceError
from sources.volume.files import case_item, label_names
from sources.volume.process import modality_code


class Settings(SourceSettings):
    kind: Literal["nnunet"]
    root: Path
    modality: str | None = None  # default: dataset.json's channel_names / modality
    labels: dict[int, str] | None = None  # value -> name; only needed without dataset.json
    label_kinds: dict[str, LabelKind] = Field(default_factory=dict)  # name -> anatomy/finding
    dataset_json: str = "dataset.json"
    images_dir: str = "imagesTr"
    labels_dir: str = "labelsTr"
    test_images_dir: str = "imagesTs"
    licence: str = "CC-BY-SA-4.0"  # the Medical Segmentation Decathlon's
    ct_window: Literal["lung", "soft_tissue", "bone"] | None = None  # CT only
    max_cases: int | None = Field(default=None, ge=1)  # the first N cases (sorted), e.g. demos
    optional: bool = False


def _labels_of(meta: dict, what: str, plan: Plan) -> dict[int, str]:
    raw = meta.get("labels") or {}
    out: dict[int, str] = {}
    for k, v in raw.items():
        if isinstance(v, str) and str(k).lstrip("-").isdigit():  # MSD: "1": "Anterior"
            out[int(k)] = v
        elif isinstance(v, int) and not isinstance(v, bool):  # v2: "Anterior": 1
            out[v] = str(k)
        elif isinstance(v, list):
            plan.notes.append(f"{what}: region label {k!r} = {v} left out (not one structure)")
        else:
            raise SourceError(f"{what}: labels entry {k!r}: {v!r} is neither spelling")
    return {v: n for v, n in out.items() if v != 0}


def _channels_of(meta: dict) -> list[str]:
    names = meta.get("channel_names") or meta.get("modality") or {}
    return [str(names[k]) for k in sorted(names, key=lambda k: int(k))]


def _stem(name: str, ending: str) -> str | None:
    return name[: -len(ending)] if name.endswith(ending) else None


def _ending(folder: Path) -> str:
    for f in sorted(folder.iterdir()) if folder.is_dir() else []:
        for suffix in sorted(VOLUME_SUFFIXES, key=len, reverse=True):
            if f.name.lower().endswith(suffix):
                return suffix
    return ".nii.gz"


def plan(settings: Settings, ctx: PlanContext) -> Plan:
    root = settings.root
    out = Plan()
    ds = settings.dataset
    meta_path = root / settings.dataset_json
    meta: dict = {}
    if meta_path.is_file():
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SourceError(f"{meta_path}: not a readable dataset.json: {exc}") from None
    names = settings.labels or _labels_of(meta, str(meta_path), out)
    if not names:
        raise SourceError(
            f"source {ds!r}: no labels: {meta_path.name} is missing or names none; give "
            "labels: {1: <name>, ...} in the config"
        )
    channels = _channels_of(meta)
    word = settings.modality or (channels[0] if channels else None)
    if not word:
        raise SourceError(
            f"source {ds!r}: no modality: {meta_path.name} has no channel_names / modality; "
            "give modality: (mri, ct, ...) in the config"
        )
    labels = label_names(names, settings.label_kinds)
    images, labels_dir = root / settings.images_dir, root / settings.labels_dir
    ending = meta.get("file_ending") or _ending(labels_dir)
    cases: dict[str, tuple[list[Path], Path]] = {}
    if meta.get("training"):  # MSD: the list of pairs
        for entry in meta["training"]:
            image, label = root / entry["image"], root / entry["label"]
            case = _stem(label.name, ending) or label.name
            cases[case] = ([image], label)
    else:
        found = sorted(f.name for f in labels_dir.iterdir()) if labels_dir.is_dir() else []
        for name in found:
            case = _stem(name, ending)
            if case is None:
                continue
            if (images / f"{case}_0000{ending}").exists() or not (images / name).exists():
                files = [images / f"{case}_{k:04d}{ending}" for k in range(max(1, len(channels)))]
            else:
                files = [images / name]
            cases[case] = (files, labels_dir / name)
        labelled = set(cases)
        for f in sorted(images.iterdir()) if images.is_dir() else []:
            case = _stem(f.name, ending)
            if case is None:
                continue
            base = case[:-5] if len(case) > 5 and case[-5] == "_" and case[-4:].isdigit() else case
            if base not in labelled and case not in labelled:
                out.quarantine.append(
                    quarantine_item(
                        ds,
                        Reason.FILE_MISSING,
                        f"{settings.images_dir}/{f.name}: no label file in {settings.labels_dir}/",
                        str(f),
                        stage=Stage.PLAN,
                        item_id=ctx.ids.study(ds, base),
                    )
                )
                labelled.add(base)
    tests = root / settings.test_images_dir
    if tests.is_dir():
        n = sum(1 for f in tests.iterdir() if _stem(f.name, ending))
        out.notes.append(f"{settings.test_images_dir}/: {n} unlabelled file(s), not used")
    ordered = sorted(cases)
    if settings.max_cases is not None and len(ordered) > settings.max_cases:
        out.notes.append(f"max_cases: {settings.max_cases} of {len(ordered)} cases used")
        ordered = ordered[: settings.max_cases]
    code = modality_code(word)
    for case in ordered:
        files, label = cases[case]
        out.n_label_rows += 1
        missing = [p for p in [*files, label] if not p.is_file()]
        if missing:
            out.quarantine.append(
                quarantine_item(
                    ds,
                    Reason.FILE_MISSING,
                    f"case {case}: {', '.join(str(p.relative_to(root)) for p in missing)} "
                    f"named by {meta_path.name if meta.get('training') else 'the layout'} "
                    "not found",
                    str(missing[0]),
                    stage=Stage.PLAN,
                    item_id=ctx.ids.study(ds, case),
                )
            )
            continue
        if len(files) == 1 and len(channels) > 1:  # MSD: a 4D file, its channels in order
            named = [(c, files[0]) for c in channels]
        else:
            chan_names = channels if len(channels) == len(files) else [word] * len(files)
            if len(files) > 1 and len(set(chan_names)) < len(files):
                chan_names = [f"channel {k}" for k in range(len(files))]
            named = list(zip(chan_names, files, strict=True))
        out.items.append(
            case_item(
                dataset=ds,
                kind=settings.kind,
                case_id=case,
                channels=named,
                label_file=label,
                labels=labels,
                modality=code,
                licence=settings.licence,
                ct_window=settings.ct_window,
                labels_ref=str(meta_path if meta else label),
            )
        )
    return out
