"""The finding vocabulary: canonical keys, the words records use for them, and the label
spellings of each source dataset that map onto them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class FindingTerm:
    key: str  # canonical name stored in Finding.label and record.label
    phrase: str  # how questions and answers say it


FINDINGS: dict[str, FindingTerm] = {
    t.key: t
    for t in (
        FindingTerm("atelectasis", "atelectasis"),
        FindingTerm("cardiomegaly", "cardiomegaly"),
        FindingTerm("pleural_effusion", "pleural effusion"),
        FindingTerm("infiltration", "infiltrate"),
        FindingTerm("mass", "mass"),
        FindingTerm("nodule", "nodule"),
        FindingTerm("pneumonia", "pneumonia"),
        FindingTerm("pneumothorax", "pneumothorax"),
        FindingTerm("calcification", "calcification"),
        FindingTerm("consolidation", "consolidation"),
        FindingTerm("diffuse_nodules", "diffuse nodules"),
        FindingTerm("emphysema", "emphysema"),
        FindingTerm("fibrosis", "fibrosis"),
        FindingTerm("fracture", "fracture"),
        FindingTerm("pleural_thickening", "pleural thickening"),
        FindingTerm("fdg_avid_lesion", "FDG-avid lesion"),  # PET/CT weak labels
        # Chest X-ray grounding sets beyond NIH (VinDr-CXR, CheXlocalize, MS-CXR, SIIM,
        # PadChest-GR, Chest ImaGenome): each dataset's map below says which spellings land here.
        FindingTerm("lung_opacity", "lung opacity"),
        FindingTerm("edema", "pulmonary edema"),
        FindingTerm("aortic_enlargement", "aortic enlargement"),
        FindingTerm("interstitial_lung_disease", "interstitial lung disease"),
        FindingTerm("enlarged_cardiomediastinum", "enlarged cardiomediastinum"),
        FindingTerm("lung_lesion", "lung lesion"),
        FindingTerm("nodule_or_mass", "nodule or mass"),
        FindingTerm("support_device", "support device"),
        FindingTerm("rib_fracture", "rib fracture"),
        FindingTerm("clavicle_fracture", "clavicle fracture"),
        FindingTerm("lung_cavity", "lung cavity"),
        FindingTerm("lung_cyst", "lung cyst"),
        FindingTerm("mediastinal_shift", "mediastinal shift"),
        FindingTerm("enlarged_pulmonary_artery", "enlarged pulmonary artery"),
        FindingTerm("other_lesion", "other lesion"),
        FindingTerm("tuberculosis", "tuberculosis"),
        FindingTerm("copd", "chronic obstructive pulmonary disease"),
        FindingTerm("lung_tumor", "lung tumor"),
        FindingTerm("other_disease", "other disease"),  # VinDr-CXR's global "Other disease(s)"
        # CheXpert's image-level "Pleural Other", PadChest-GR's sentences of a normal study
        # (stated absent: no abnormality).
        FindingTerm("pleural_other", "other pleural abnormality"),
        FindingTerm("abnormality", "abnormality"),
        # Segmentation sets of other modalities (sources.segmentation): lesions they outline.
        FindingTerm("polyp", "polyp"),
        FindingTerm("skin_lesion", "skin lesion"),
    )
}

# NIH ChestX-ray14 "Finding Label" spellings (BBox_List_2017.csv uses "Infiltrate").
NIH_CXR14_LABELS: dict[str, str] = {
    "Atelectasis": "atelectasis",
    "Cardiomegaly": "cardiomegaly",
    "Effusion": "pleural_effusion",
    "Infiltrate": "infiltration",
    "Infiltration": "infiltration",
    "Mass": "mass",
    "Nodule": "nodule",
    "Pneumonia": "pneumonia",
    "Pneumothorax": "pneumothorax",
}

# NIH ChestX-ray14 ``Data_Entry_2017`` "Finding Labels" (all 14, "|"-separated): the box list's
# spellings plus the findings it never boxes. "Hernia" has no canonical term (unmapped).
NIH_DATA_ENTRY_LABELS: dict[str, str] = {
    **NIH_CXR14_LABELS,
    "Consolidation": "consolidation",
    "Edema": "edema",
    "Emphysema": "emphysema",
    "Fibrosis": "fibrosis",
    "Pleural_Thickening": "pleural_thickening",
}

# ChestX-Det / ChestX-Det10 "syms" spellings (Det10 has the first 10 minus Cardiomegaly,
# Diffuse Nodule and Pleural Thickening). "Diffuse Nodule" boxes one region of many small
# nodules, so it is its own finding: a nodule count would be wrong.
CHESTX_DET_LABELS: dict[str, str] = {
    "Atelectasis": "atelectasis",
    "Calcification": "calcification",
    "Cardiomegaly": "cardiomegaly",
    "Consolidation": "consolidation",
    "Diffuse Nodule": "diffuse_nodules",
    "Effusion": "pleural_effusion",
    "Emphysema": "emphysema",
    "Fibrosis": "fibrosis",
    "Fracture": "fracture",
    "Mass": "mass",
    "Nodule": "nodule",
    "Pleural Thickening": "pleural_thickening",
    "Pneumothorax": "pneumothorax",
}

# Chest ImaGenome silver scene-graph attribute names (``<category>|yes|<name>``) of the
# finding categories (anatomicalfinding, disease, tubesandlines, devices) a canonical term covers.
# The nlp (normal / abnormal) and technicalassessment categories are not findings and are not
# mapped; any other name is a label_unmapped quarantine row naming it.
CHEST_IMAGENOME_LABELS: dict[str, str] = {
    "lung opacity": "lung_opacity",
    "airspace opacity": "lung_opacity",
    "consolidation": "consolidation",
    "infiltration": "infiltration",
    "pleural effusion": "pleural_effusion",
    "atelectasis": "atelectasis",
    "linear/patchy atelectasis": "atelectasis",
    "lobar/segmental collapse": "atelectasis",
    "pneumothorax": "pneumothorax",
    "enlarged cardiac silhouette": "cardiomegaly",
    "pulmonary edema/hazy opacity": "edema",
    "mass/nodule (not otherwise specified)": "nodule_or_mass",
    "lung lesion": "lung_lesion",
    "pneumonia": "pneumonia",
    "copd/emphysema": "emphysema",
    "rib fracture": "rib_fracture",
    "lung cancer": "lung_tumor",
    "interstitial lung disease": "interstitial_lung_disease",
    "increased reticular markings/ild pattern": "interstitial_lung_disease",
    "endotracheal tube": "support_device",
    "enteric tube": "support_device",
    "chest tube": "support_device",
    "picc": "support_device",
    "ij line": "support_device",
    "subclavian line": "support_device",
    "swan-ganz catheter": "support_device",
    "tracheostomy tube": "support_device",
    "cardiac pacer and wires": "support_device",
    "mediastinal drain": "support_device",
    "pigtail catheter": "support_device",
    "chest port": "support_device",
    "intra-aortic balloon pump": "support_device",
}
# VinDr-CXR class names. Kaggle (VinBigData) train.csv: the first 14 (class_id 0..13) plus
# "No finding" (class_id 14, no box, handled by the connector, not mapped). PhysioNet adds 8
# local labels (22 in all) and the 6 global, image-level ones (image_labels_*.csv; "Other
# disease" is spelled "Other diseases" in some releases). Looked up case-insensitively.
VINDR_CXR_LABELS: dict[str, str] = {
    "Aortic enlargement": "aortic_enlargement",
    "Atelectasis": "atelectasis",
    "Calcification": "calcification",
    "Cardiomegaly": "cardiomegaly",
    "Consolidation": "consolidation",
    "ILD": "interstitial_lung_disease",
    "Infiltration": "infiltration",
    "Lung Opacity": "lung_opacity",
    "Nodule/Mass": "nodule_or_mass",
    "Other lesion": "other_lesion",
    "Pleural effusion": "pleural_effusion",
    "Pleural thickening": "pleural_thickening",
    "Pneumothorax": "pneumothorax",
    "Pulmonary fibrosis": "fibrosis",
    # PhysioNet's further local labels
    "Clavicle fracture": "clavicle_fracture",
    "Edema": "edema",
    "Emphysema": "emphysema",
    "Enlarged PA": "enlarged_pulmonary_artery",
    "Lung cavity": "lung_cavity",
    "Lung cyst": "lung_cyst",
    "Mediastinal shift": "mediastinal_shift",
    "Rib fracture": "rib_fracture",
    # PhysioNet's global (image-level) labels, besides "No finding"
    "COPD": "copd",
    "Lung tumor": "lung_tumor",
    "Pneumonia": "pneumonia",
    "Tuberculosis": "tuberculosis",
    "Other disease": "other_disease",
    "Other diseases": "other_disease",
}
VINDR_NO_FINDING = "No finding"

# SIIM-ACR Pneumothorax Segmentation: every mask component is a pneumothorax.
SIIM_PNEUMOTHORAX_LABEL = "pneumothorax"
# CheXpert label columns (valid.csv / test_labels.csv; "No Finding" is no finding, read apart).
CHEXPERT_LABELS: dict[str, str] = {
    "Enlarged Cardiomediastinum": "enlarged_cardiomediastinum",
    "Cardiomegaly": "cardiomegaly",
    "Lung Opacity": "lung_opacity",
    "Lung Lesion": "lung_lesion",
    "Edema": "edema",
    "Consolidation": "consolidation",
    "Pneumonia": "pneumonia",
    "Atelectasis": "atelectasis",
    "Pneumothorax": "pneumothorax",
    "Pleural Effusion": "pleural_effusion",
    "Pleural Other": "pleural_other",
    "Fracture": "fracture",
    "Support Devices": "support_device",
}

# CheXlocalize's 10 segmented pathologies (gt_annotations / gt_segmentations JSON keys): the
# CheXpert names, but "Lung Opacity" is "Airspace Opacity" there.
CHEXLOCALIZE_LABELS: dict[str, str] = {
    "Enlarged Cardiomediastinum": "enlarged_cardiomediastinum",
    "Cardiomegaly": "cardiomegaly",
    "Lung Lesion": "lung_lesion",
    "Airspace Opacity": "lung_opacity",
    "Edema": "edema",
    "Consolidation": "consolidation",
    "Atelectasis": "atelectasis",
    "Pneumothorax": "pneumothorax",
    "Pleural Effusion": "pleural_effusion",
    "Support Devices": "support_device",
}

# MS-CXR "category_name" values (its eight findings).
MS_CXR_LABELS: dict[str, str] = {
    "Atelectasis": "atelectasis",
    "Cardiomegaly": "cardiomegaly",
    "Consolidation": "consolidation",
    "Edema": "edema",
    "Lung Opacity": "lung_opacity",
    "Pleural Effusion": "pleural_effusion",
    "Pneumonia": "pneumonia",
    "Pneumothorax": "pneumothorax",
}

# PadChest(-GR) finding labels (lower case, as in the PadChest label table and the grounded
# reports' "labels"): the ones with a canonical key. "normal" is read apart (a sentence of a
# normal study: no abnormality). Labels not listed are quarantined (label_unmapped), named.
PADCHEST_LABELS: dict[str, str] = {
    "atelectasis": "atelectasis",
    "laminar atelectasis": "atelectasis",
    "cardiomegaly": "cardiomegaly",
    "pleural effusion": "pleural_effusion",
    "infiltrates": "infiltration",
    "interstitial pattern": "interstitial_lung_disease",
    "alveolar pattern": "lung_opacity",
    "ground glass pattern": "lung_opacity",
    "consolidation": "consolidation",
    "pneumonia": "pneumonia",
    "pneumothorax": "pneumothorax",
    "nodule": "nodule",
    "multiple nodules": "diffuse_nodules",
    "mass": "mass",
    "pulmonary mass": "mass",
    "emphysema": "emphysema",
    "pulmonary fibrosis": "fibrosis",
    "calcified granuloma": "calcification",
    "calcified densities": "calcification",
    "fracture": "fracture",
    "rib fracture": "rib_fracture",
    "clavicle fracture": "clavicle_fracture",
    "pleural thickening": "pleural_thickening",
    "apical pleural thickening": "pleural_thickening",
    "pulmonary edema": "edema",
    "mediastinal shift": "mediastinal_shift",
    "cavitation": "lung_cavity",
    "tuberculosis": "tuberculosis",
    "copd signs": "copd",
    "pacemaker": "support_device",
    "endotracheal tube": "support_device",
    "nsg tube": "support_device",
    "chest drain tube": "support_device",
    "central venous catheter": "support_device",
}
PADCHEST_NORMAL = "normal"

# RSNA Pneumonia Detection: Target 1 boxes mark lung opacities suggestive of pneumonia.
RSNA_PNEUMONIA_LABEL = "pneumonia"


# Labels that name an anatomical structure, not a finding, carry this prefix
# (``anatomy:right_lung``); records word them as structures ("where is the liver?").
ANATOMY_PREFIX = "anatomy:"


def is_anatomy(label: str) -> bool:
    return label.startswith(ANATOMY_PREFIX)


def phrase(label: str) -> str:
    """The words for a canonical finding key (the key itself, spaced, when unknown); an
    ``anatomy:`` label's words are its structure's."""
    if is_anatomy(label):
        label = label[len(ANATOMY_PREFIX) :]
    term = FINDINGS.get(label)
    return term.phrase if term else label.replace("_", " ")


# Segmentation and detection sets (sources.segmentation): a dataset's own label names,
# normalised (``normalise_name``), that map onto a finding above. A name not here and not a
# finding's key or phrase becomes its own key (its words joined by ``_``).
SEGMENTATION_LABELS: dict[str, str] = {
    "polyp": "polyp",
    "polyps": "polyp",
    "skin lesion": "skin_lesion",
    "melanoma": "skin_lesion",
    "effusion": "pleural_effusion",
    "active tuberculosis": "tuberculosis",  # TBX11K's categories
    "pulmonary tuberculosis": "tuberculosis",
    # MSD, nnU-Net and DICOM-SEG label names
    "tumor": "mass",
    "tumour": "mass",
    "lung nodule": "nodule",
    "nodules": "nodule",
    "pleural effusion": "pleural_effusion",
}

# Words that make a name an anatomical structure (an organ, a vessel, a bone, a muscle)
# unless a lesion word is also in it ("lung nodule", "liver tumour" are findings).
ANATOMY_WORDS = frozenset(
    [
        "lung",
        "lungs",
        "lobe",
        "heart",
        "atrium",
        "ventricle",
        "myocardium",
        "liver",
        "spleen",
        "kidney",
        "kidneys",
        "pancreas",
        "stomach",
        "gallbladder",
        "bladder",
        "colon",
        "duodenum",
        "esophagus",
        "oesophagus",
        "bowel",
        "intestine",
        "rectum",
        "aorta",
        "artery",
        "vein",
        "cava",
        "trachea",
        "bronchus",
        "rib",
        "ribs",
        "vertebra",
        "vertebrae",
        "spine",
        "sacrum",
        "hip",
        "femur",
        "humerus",
        "scapula",
        "clavicle",
        "sternum",
        "skull",
        "pelvis",
        "gluteus",
        "muscle",
        "autochthon",
        "iliopsoas",
        "brain",
        "hippocampus",
        "prostate",
        "uterus",
        "thyroid",
        "adrenal",
        "breast",
        "optic",
        "disc",
        "disk",
        "cup",
        "macula",
        "vessel",
        "vessels",
        "retina",
    ]
)
LESION_WORDS = frozenset(
    [
        "lesion",
        "lesions",
        "tumor",
        "tumour",
        "tumors",
        "tumours",
        "nodule",
        "nodules",
        "mass",
        "masses",
        "cyst",
        "cysts",
        "polyp",
        "polyps",
        "cancer",
        "carcinoma",
        "metastasis",
        "metastases",
        "effusion",
        "fracture",
        "pneumothorax",
        "haemorrhage",
        "hemorrhage",
        "infarct",
        "edema",
        "oedema",
        "opacity",
        "tuberculosis",
        "melanoma",
        "naevus",
        "nevus",
        "exudate",
        "exudates",
        "microaneurysm",
        "microaneurysms",
    ]
)

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def normalise_name(name: str) -> str:
    """A dataset's label name in lower case with single spaces: ``Lung_Lower-Lobe`` and
    ``lungLowerLobe`` both give ``lung lower lobe``."""
    spaced = _CAMEL.sub(" ", name.strip())
    return " ".join(re.split(r"[\s_\-]+", spaced.lower())).strip()


def name_is_anatomy(name: str) -> bool:
    """The default rule: a normalised name with an anatomy word and no lesion word."""
    words = set(name.split())
    return bool(words & ANATOMY_WORDS) and not words & LESION_WORDS


def segmentation_label(name: str, anatomy: bool | None = None) -> str:
    """The canonical label of a dataset's own label name: its ``SEGMENTATION_LABELS`` entry,
    a finding whose key or phrase it is, else the name's words joined by ``_``; anatomy
    (``anatomy`` True, or by ``name_is_anatomy`` when None) gets the ``anatomy:`` prefix."""
    norm = normalise_name(name)
    key = SEGMENTATION_LABELS.get(norm)
    if key is None:
        by_phrase = {t.phrase.lower(): t.key for t in FINDINGS.values()}
        key = by_phrase.get(norm) or (norm.replace(" ", "_") if norm else "unnamed")
    structure = name_is_anatomy(norm) if anatomy is None else anatomy
    return f"{ANATOMY_PREFIX}{key}" if structure else key


# A config's ``label_kinds`` value: what a named label is, overriding ``name_is_anatomy``.
LabelKind = Literal["anatomy", "finding"]


def label_of(name: str, kinds: Mapping[str, str] | None = None) -> str:
    """A dataset's label name as its canonical label, ``kinds`` (a source's ``label_kinds``:
    name -> ``anatomy`` / ``finding``) deciding anatomy for the names it lists, else
    ``name_is_anatomy``: "Anterior Hippocampus" -> ``anatomy:anterior_hippocampus``,
    "Tumor" -> ``mass``."""
    kind = {normalise_name(k): v for k, v in (kinds or {}).items()}.get(normalise_name(name))
    return segmentation_label(name, None if kind is None else kind == "anatomy")
