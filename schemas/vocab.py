"""The finding vocabulary: canonical keys, the words records use for them, and the label
spellings of each source dataset that map onto them."""

from __future__ import annotations

import re
from dataclasses import dataclass


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
