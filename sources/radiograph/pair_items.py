"""Prior / current pairs as engine items, for every kind that finds them
(``nih_cxr14_longitudinal``, ``chest_imagenome_longitudinal``): one item per patient with at
least one labelled change, publishing each image its changed pairs name once, and one
Non_Registered_Diff record per changed finding per pair (``records.sequences.longitudinal``).
The pairs and the rule for a change: ``sources.radiograph.longitudinal``.

Candidate pairs without a labelled change give no record: the plan's note counts them and
they count as label rows. A changed pair whose image is missing is a ``file_missing`` row per
missing image, naming the pair and the path."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from records.sequences.longitudinal import change_records
from schemas.enums import Reason, Stage
from schemas.errors import ItemError
from schemas.records import Provenance, Study
from sources.base import InputFile, Plan, PlanContext, SourceItem, quarantine_item
from sources.context import ItemContext, ItemOutput, read_error
from sources.imaging import LOADERS
from sources.radiograph.longitudinal import Pair, labelled_changes

IMAGE_ROLE = "image:"


@dataclass(frozen=True)
class PairChanges:
    """Per item: (prior image, current image, ((label, boxes xywh), ...)) for each pair, and
    the records' confidence."""

    pairs: tuple[tuple[str, str, tuple[tuple[str, tuple[tuple[float, ...], ...]], ...]], ...]
    confidence: float


@dataclass(frozen=True)
class PairKind:
    """What a kind's pair items carry: the SourceItem fields that are the kind's own."""

    kind: str
    reader: str  # a key of ``sources.imaging.LOADERS``
    extractor: str
    version: str
    licence: str
    labels_file: str  # the table the pairs come from (the item's labels file)
    confidence: float


def plan_pairs(
    pairs: Sequence[Pair],
    dataset: str,
    ctx: PlanContext,
    spec: PairKind,
    locate: Callable[[str], Path],
    *,
    steps: str,
    hint: str,
    label_inputs: Callable[[str], Iterable[InputFile]] = lambda _image: (),
    out: Plan | None = None,
) -> Plan:
    """Items for the pairs with a labelled change. ``locate`` gives an image id's path (where
    it is expected when absent; ``hint`` says which setting moves it), ``label_inputs`` the
    files besides the image that label it, ``steps`` what a pair is (for the note)."""
    out = Plan() if out is None else out
    out.n_label_rows += len(pairs)
    by_patient: dict[str, list] = defaultdict(list)
    changed = 0
    for pair in pairs:
        changes = labelled_changes(pair)
        if not changes:
            continue
        changed += 1
        names = (pair.prior.image_id, pair.current.image_id)
        missing = [n for n in names if not locate(n).is_file()]
        for name in missing:
            out.quarantine.append(
                quarantine_item(
                    dataset,
                    Reason.FILE_MISSING,
                    f"pair {names[0]} -> {names[1]} ({', '.join(c.label for c in changes)} "
                    f"new): {name} is not at {locate(name)} ({hint})",
                    str(locate(name)),
                    stage=Stage.PLAN,
                    item_id=ctx.ids.study(dataset, name),
                )
            )
        if not missing:
            by_patient[pair.current.patient].append(
                (*names, tuple((c.label, c.boxes) for c in changes))
            )
    out.notes.append(
        f"{dataset}: {len(pairs)} candidate pair(s) of {steps}, {changed} with a labelled "
        "change; the others give no record"
    )
    for patient, patient_pairs in sorted(by_patient.items()):
        names = sorted({n for p in patient_pairs for n in p[:2]})
        current = locate(patient_pairs[0][1])
        stat = current.stat()
        inputs = [InputFile.of(f"{IMAGE_ROLE}{n}", locate(n)) for n in names]
        inputs += [f for n in names for f in label_inputs(n)]
        out.items.append(
            SourceItem(
                dataset=dataset,
                kind=spec.kind,
                reader=spec.reader,
                item_id=f"patient-{patient}",
                patient_key=patient,
                path=str(current),
                labels_file=spec.labels_file,
                rows=(),
                licence=spec.licence,
                extractor=spec.extractor,
                extractor_version=spec.version,
                modality="XR",
                file_size=stat.st_size,
                file_mtime_ns=stat.st_mtime_ns,
                inputs=tuple(inputs),
                settings=PairChanges(tuple(patient_pairs), spec.confidence),
            )
        )
    return out


def process_pairs(item: SourceItem, ctx: ItemContext) -> ItemOutput:
    """Each image of the patient's changed pairs, once, and the pairs' change records."""
    studies: dict[str, Study] = {}
    for f in item.inputs:
        if not f.role.startswith(IMAGE_ROLE):
            continue
        name = f.role.removeprefix(IMAGE_ROLE)
        study_id = ctx.ids.study(item.dataset, name)
        try:
            loaded = LOADERS[item.reader](f.path, max_pixels=ctx.image_max_pixels)
        except ItemError as exc:
            return ItemOutput(quarantine=[read_error(item, study_id, exc)])
        h, w = loaded.pixels.shape
        studies[name], _ = ctx.publish_study(
            item, study_id, loaded.pixels, view=loaded.view, source_size=(w, h)
        )
    records: list = []
    confidence = item.settings.confidence
    for prior, current, changes in item.settings.pairs:
        prov = Provenance.of(studies[current], item.extractor, item.extractor_version, confidence)
        records += change_records(
            studies[prior], studies[current], changes, seed=ctx.records_seed, provenance=prov
        )
    return ItemOutput(list(studies.values()), [], records, [])
