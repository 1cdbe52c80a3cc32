"""Prior / current image pairs of one patient, and the changes between them that the labels
state (for MedSG ``Non_Registered_Diff``-style records: ``records.sequences.longitudinal``).

Where the order comes from: NIH ChestX-ray14 ``Data_Entry_2017`` (``Follow-up #`` within a
``Patient ID``), MIMIC-CXR (``StudyDate``, ``StudyTime`` within a ``subject_id``; a tie is
no order: ``sources.radiograph.mimic.MimicImage.when``) with each study's frontal image
labelled by its Chest ImaGenome scene graph (``mimic_exams``), or any other ordered list of
``Exam``. Candidate pairs are each patient's consecutive exams (prior, current).
ImaGenome's own comparison ``relationships`` (improved / worsened between two images) are
not read: they name a change of degree, not a finding's appearance, and carry no new box.

The rule for a labelled change (conservative; nothing is inferred from missing labels):
a finding is *new* in the current exam when
- the current exam's labels state it present, **and**
- the current image has at least one box for it (the answer must be a drawn region), **and**
- the prior exam's labels state it absent: the prior exam lists it as absent, or its labels
  are exhaustive over a vocabulary that contains the finding and do not list it (NIH's
  ``Finding Labels`` name every one of its 14 findings the report mentions; "No Finding"
  names none; an ImaGenome graph states a finding absent with ``|no|`` and never ``|yes|``).
Everything else is no change: a finding in both, a finding the prior does not state either
way, a new finding without a box. A finding that *resolved* (present before, absent now) has
no region on the current image to point at, so it is not a change record either. A pair
without a labelled change gives no record.

Built by the kinds ``nih_cxr14_longitudinal`` (``sources.radiograph.nih_longitudinal``) and
``chest_imagenome_longitudinal`` (``sources.radiograph.imagenome_longitudinal``), both through
``sources.radiograph.pair_items`` (one item per patient)."""

from __future__ import annotations

import csv
import itertools
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from schemas.vocab import NIH_DATA_ENTRY_LABELS
from sources.radiograph.chest_imagenome import SceneGraph
from sources.radiograph.mimic import MimicImage, frontal_image, open_text

Xywh = tuple[float, float, float, float]


@dataclass(frozen=True)
class Exam:
    """One image of a patient's timeline with what its labels state."""

    patient: str
    order: tuple  # sort key within the patient
    image_id: str
    present: frozenset[str]  # canonical labels stated present
    absent: frozenset[str] = frozenset()  # canonical labels stated absent
    exhaustive_over: frozenset[str] = frozenset()  # labels not in ``present`` are absent
    boxes: Mapping[str, tuple[Xywh, ...]] = field(default_factory=dict)  # label -> boxes

    def states_absent(self, label: str) -> bool:
        if label in self.present:
            return False
        return label in self.absent or label in self.exhaustive_over


@dataclass(frozen=True)
class Change:
    """A finding that appeared between the prior and the current exam, with its boxes on the
    current image (source pixels, top-left corner plus size)."""

    label: str
    boxes: tuple[Xywh, ...]


@dataclass(frozen=True)
class Pair:
    prior: Exam
    current: Exam


def candidate_pairs(exams: Iterable[Exam]) -> list[Pair]:
    """Each patient's consecutive exams as (prior, current), patients in id order. Exams of
    one patient that share an order key are not ordered: a step into or out of such a tie
    is no pair."""
    by_patient: dict[str, dict[tuple, list[Exam]]] = defaultdict(lambda: defaultdict(list))
    for e in exams:
        by_patient[e.patient][e.order].append(e)
    pairs = []
    for patient in sorted(by_patient):
        steps = [group for _order, group in sorted(by_patient[patient].items())]
        for prior, current in itertools.pairwise(steps):
            if len(prior) == 1 and len(current) == 1:
                pairs.append(Pair(prior[0], current[0]))
    return pairs


def labelled_changes(pair: Pair) -> list[Change]:
    """The findings new in ``pair.current`` by the rule of this module, in label order."""
    out = []
    for label in sorted(pair.current.present):
        boxes = tuple(pair.current.boxes.get(label, ()))
        if boxes and pair.prior.states_absent(label):
            out.append(Change(label, boxes))
    return out


# ---- NIH ChestX-ray14 -----------------------------------------------------------------------

NIH_COLUMNS = ("Image Index", "Finding Labels", "Follow-up #", "Patient ID")
NO_FINDING = "No Finding"


@dataclass
class NihTimeline:
    """The exams of ``Data_Entry_2017`` and the label spellings no map covers (counted)."""

    exams: list[Exam]
    unmapped: dict[str, int]


def read_nih_data_entry(
    path: Path, boxes: Mapping[str, Mapping[str, tuple[Xywh, ...]]] | None = None
) -> NihTimeline:
    """``Data_Entry_2017*.csv(.gz)`` as exams ordered by ``Follow-up #``: labels mapped by
    ``schemas.vocab.NIH_DATA_ENTRY_LABELS`` (exhaustive over the mapped findings), boxes from
    ``boxes`` (image name -> label -> xywh boxes, e.g. ``BBox_List_2017.csv``)."""
    vocabulary = frozenset(NIH_DATA_ENTRY_LABELS.values())
    unmapped: dict[str, int] = defaultdict(int)
    exams = []
    with open_text(path) as f:
        reader = csv.DictReader(f)
        missing = [c for c in NIH_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: column(s) {missing} missing")
        for row in reader:
            present = set()
            for raw in (row["Finding Labels"] or "").split("|"):
                raw = raw.strip()
                if not raw or raw == NO_FINDING:
                    continue
                label = NIH_DATA_ENTRY_LABELS.get(raw)
                if label is None:
                    unmapped[raw] += 1
                else:
                    present.add(label)
            image = row["Image Index"]
            exams.append(
                Exam(
                    patient=row["Patient ID"],
                    order=(int(row["Follow-up #"]),),
                    image_id=image,
                    present=frozenset(present),
                    exhaustive_over=vocabulary,
                    boxes=dict((boxes or {}).get(image, {})),
                )
            )
    return NihTimeline(exams, dict(unmapped))


def read_nih_boxes(path: Path) -> dict[str, dict[str, tuple[Xywh, ...]]]:
    """``BBox_List_2017.csv``: image name -> canonical label -> xywh boxes (the file's
    header spells the box columns ``Bbox [x, y, w, h]``: read by position)."""
    out: dict[str, dict[str, list[Xywh]]] = defaultdict(lambda: defaultdict(list))
    with open_text(path) as f:
        rows = csv.reader(f)
        next(rows, None)
        for row in rows:
            if len(row) < 6:
                continue
            label = NIH_DATA_ENTRY_LABELS.get(row[1].strip())
            if label is None:
                continue
            x, y, w, h = (float(v) for v in row[2:6])
            out[row[0].strip()][label].append((x, y, w, h))
    return {img: {lab: tuple(b) for lab, b in labels.items()} for img, labels in out.items()}


# ---- MIMIC-CXR studies with Chest ImaGenome statements ---------------------------------------


def imagenome_exam(image: MimicImage, graph: SceneGraph) -> Exam:
    """A MIMIC-CXR image as an exam, ordered by its study's date and time: findings a region
    of its scene graph states present (with those regions' boxes, xywh in original pixels),
    and findings stated absent and nowhere present. Not exhaustive: a finding the graph does
    not mention is not absent."""
    boxes: dict[str, list[Xywh]] = defaultdict(list)
    said_no: set[str] = set()
    for s in graph.statements:
        if not s.present:
            said_no.add(s.label)
            continue
        region = graph.regions.get(s.region)
        if region is not None:
            x1, y1, x2, y2 = region
            box = (x1, y1, x2 - x1, y2 - y1)
            if box not in boxes[s.label]:
                boxes[s.label].append(box)
    present = frozenset(boxes)
    return Exam(
        patient=image.subject_id,
        order=image.when,
        image_id=image.dicom_id,
        present=present,
        absent=frozenset(said_no - present),
        boxes={label: tuple(b) for label, b in boxes.items()},
    )


def mimic_exams(images: Iterable[MimicImage], graphs: Mapping[str, SceneGraph]) -> list[Exam]:
    """One exam per study: its frontal image (``sources.radiograph.mimic.frontal_image``)
    when that image has a scene graph (dicom_id -> parsed graph)."""
    studies: dict[tuple[str, str], list[MimicImage]] = defaultdict(list)
    for image in images:
        studies[(image.subject_id, image.study_id)].append(image)
    out = []
    for key in sorted(studies):
        frontal = frontal_image(studies[key])
        if frontal is not None and frontal.dicom_id in graphs:
            out.append(imagenome_exam(frontal, graphs[frontal.dicom_id]))
    return out
