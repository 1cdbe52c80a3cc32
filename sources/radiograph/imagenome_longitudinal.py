"""MIMIC-CXR prior / current pairs labelled by Chest ImaGenome (Wu et al. 2021) as MedSG
Non_Registered_Diff records: a subject's consecutive studies where the current study's scene
graph states a finding present (``|yes|``) in a boxed region and the prior study's graph
states it absent (``|no|``, never ``|yes|``); the answer is that region's box on the current
image (the rule: ``sources.radiograph.longitudinal``; the items: ``pair_items``).

Read as published: Chest ImaGenome's ``silver_dataset/scene_graph/<dicom_id>_SceneGraph.json``
under ``root``, and from the MIMIC-CXR-JPG download (``images_root``, default ``root``) the
metadata CSV ``mimic-cxr-2.0.0-metadata.csv(.gz)`` (``dicom_id, subject_id, study_id,
ViewPosition, StudyDate, StudyTime``) and the JPGs ``files/pXX/p<subject>/s<study>/
<dicom_id>.jpg``. A subject's studies are ordered by StudyDate, StudyTime (MIMIC's study
ids are not chronological: two studies at one date and time are a tie, no pair, and a study
without a StudyDate is left out of the timeline, counted in a note); each study is its
frontal image (PA before AP), when that image has a scene graph. No date reaches a published file.

Every candidate pair is a label row: records, or a count in the plan's note (no labelled
change), or a ``file_missing`` row per missing image of a changed pair. A scene graph that is
not one is a ``scene_graph_unreadable`` row and its study is left out; metadata rows without
ids are ``bad_csv_row``. The graphs' other problems (unmapped names, bad boxes) are the
``chest_imagenome`` kind's rows: here only their readable statements are used.

Not read: the graphs' ``relationships`` (ImaGenome's own comparisons with the prior study:
improved / worsened / no change for a region). They state a change of degree between two
images, not a finding's appearance, and carry no box of their own; reading them would need
their prior-image linkage matched against this timeline, which is not simple enough to be
sure of. The split CSVs are not needed (a graph is found by its dicom_id)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Literal

from schemas.enums import Stage
from schemas.errors import ItemError
from shards.label_methods import LabelMethod
from sources.base import InputFile, Plan, PlanContext, Source, SourceSettings, quarantine_item
from sources.radiograph.chest_imagenome import (
    CONFIDENCE_STATEMENT,
    LICENCE,
    SceneGraph,
    parse_scene_graph,
    read_scene_graph,
    scene_graph_path,
)
from sources.radiograph.longitudinal import candidate_pairs, mimic_exams
from sources.radiograph.mimic import MimicImage, frontal_image, image_path
from sources.radiograph.mimic_cxr import metadata_images
from sources.radiograph.pair_items import PairKind, plan_pairs, process_pairs

KIND = "chest_imagenome_longitudinal"
EXTRACTOR = "sources.chest_imagenome_longitudinal"
VERSION = "1"


class Settings(SourceSettings):
    """``{kind: chest_imagenome_longitudinal, root: <chest-imagenome/1.0.0>, images_root:
    <mimic-cxr-jpg/2.1.0>}``: scene graphs under root; metadata CSV and JPGs under
    images_root (default root)."""

    kind: Literal["chest_imagenome_longitudinal"]
    root: Path
    scene_graph_dir: str = "silver_dataset/scene_graph"  # relative to root
    images_root: Path | None = None  # the MIMIC-CXR-JPG folder holding files/; default root
    metadata_csv: str | None = None  # relative to images_root; default the published name
    licence: str | None = None
    optional: bool = False


def plan(settings: Settings, ctx: PlanContext) -> Plan:
    dataset = settings.dataset
    images_root = settings.images_root or settings.root
    out = Plan()
    meta, rows, bad = metadata_images(images_root, settings.metadata_csv, dataset)
    out.quarantine += bad
    undated = {(r.subject_id, r.study_id) for r in rows if not r.study_date}
    images = [r for r in rows if (r.subject_id, r.study_id) not in undated]
    by_dicom = {r.dicom_id: r for r in images}
    graphs, no_graph = _graphs(settings, images, out)
    pairs = candidate_pairs(mimic_exams(images, graphs))

    def locate(dicom: str) -> Path:
        r = by_dicom[dicom]
        return image_path(images_root, r.subject_id, r.study_id, dicom)

    def graph_input(dicom: str) -> list[InputFile]:
        path = scene_graph_path(settings.root, settings.scene_graph_dir, dicom)
        return [InputFile.of(f"scene_graph:{dicom}", path)]

    spec = PairKind(
        KIND,
        "jpeg",
        EXTRACTOR,
        VERSION,
        settings.licence or LICENCE.id,
        str(meta),
        CONFIDENCE_STATEMENT,
    )
    plan_pairs(
        pairs,
        dataset,
        ctx,
        spec,
        locate,
        steps="consecutive studies",
        hint="set images_root to the MIMIC-CXR-JPG folder",
        label_inputs=graph_input,
        out=out,
    )
    out.notes.append(
        f"{dataset}: {len(undated)} study(ies) without a StudyDate and {no_graph} whose "
        "frontal image has no scene graph are in no timeline"
    )
    return out


def _graphs(settings: Settings, images: list[MimicImage], out: Plan) -> tuple[dict, int]:
    """The parsed graphs of the frontal images of subjects with two studies or more (the
    only ones a pair can use), and how many such frontal images have none."""
    studies: dict[str, dict[str, list[MimicImage]]] = defaultdict(lambda: defaultdict(list))
    for r in images:
        studies[r.subject_id][r.study_id].append(r)
    graphs: dict[str, SceneGraph] = {}
    no_graph = 0
    for subject in sorted(studies):
        if len(studies[subject]) < 2:
            continue
        for study in sorted(studies[subject]):
            frontal = frontal_image(studies[subject][study])
            if frontal is None:
                continue
            path = scene_graph_path(settings.root, settings.scene_graph_dir, frontal.dicom_id)
            if not path.is_file():
                no_graph += 1
                continue
            try:
                graphs[frontal.dicom_id] = parse_scene_graph(read_scene_graph(path))
            except ItemError as exc:
                out.quarantine.append(
                    quarantine_item(
                        settings.dataset,
                        exc.reason,
                        f"{exc}; study {study} is left out of the subject's timeline",
                        str(path),
                        stage=Stage.PLAN,
                    )
                )
    return graphs, no_graph


LABEL_METHOD = LabelMethod(
    EXTRACTOR,
    "weak",
    "MIMIC-CXR consecutive studies of a subject: a finding the prior study's Chest ImaGenome "
    "silver scene graph states absent and the current one states present in a region, that "
    "region's atlas-based box on the current image as the answer",
    "statements and boxes as the silver graphs give them (no re-measure); the pair rule is "
    "exact by construction (tests check pairs, changes and boxes within 1 px)",
)

SOURCE = Source(
    settings=Settings,
    plan=plan,
    process=process_pairs,
    layout="silver_dataset/scene_graph/<dicom_id>_SceneGraph.json under root + "
    "mimic-cxr-2.0.0-metadata.csv(.gz) (dicom_id, subject_id, study_id, ViewPosition, "
    "StudyDate, StudyTime) and files/pXX/p<subject>/s<study>/<dicom_id>.jpg under images_root: "
    "consecutive studies with a labelled new finding",
    licences=(LICENCE,),
    label_methods=(LABEL_METHOD,),
)
