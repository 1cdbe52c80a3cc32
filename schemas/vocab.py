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
        FindingTerm("other_disease", "other disease"),  # VinDr-CXR's global "Other disease(s)"
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

# RSNA Pneumonia Detection: Target 1 boxes mark lung opacities suggestive of pneumonia.
RSNA_PNEUMONIA_LABEL = "pneumonia"


def phrase(label: str) -> str:
    """The words for a canonical finding key (the key itself, spaced, when unknown)."""
    term = FINDINGS.get(label)
    return term.phrase if term else label.replace("_", " ")
