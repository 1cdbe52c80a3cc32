"""The finding vocabulary: canonical keys, the words records use for them, and the label
spellings of each source dataset that map onto them."""

from __future__ import annotations

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
        # CheXpert's image-level "Pleural Other", PadChest-GR's sentences of a normal study
        # (stated absent: no abnormality).
        FindingTerm("pleural_other", "other pleural abnormality"),
        FindingTerm("abnormality", "abnormality"),
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


def phrase(label: str) -> str:
    """The words for a canonical finding key (the key itself, spaced, when unknown)."""
    term = FINDINGS.get(label)
    return term.phrase if term else label.replace("_", " ")
