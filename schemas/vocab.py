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


def phrase(label: str) -> str:
    """The words for a canonical finding key (the key itself, spaced, when unknown)."""
    term = FINDINGS.get(label)
    return term.phrase if term else label.replace("_", " ")


def label_key(name: str) -> str:
    """A dataset's own label name as a finding key: lower case, words joined by ``_``
    ("Anterior Hippocampus" -> ``anterior_hippocampus``), the canonical key when the
    normalised name is one (``FINDINGS``) or a spelling a map below covers."""
    words = "".join(c if c.isalnum() else " " for c in name.strip().lower()).split()
    key = "_".join(words)
    return SEGMENTATION_LABELS.get(key, key)


# Label names of segmentation datasets (normalised by ``label_key``) that mean a canonical
# finding: MSD, nnU-Net and DICOM-SEG label names.
SEGMENTATION_LABELS: dict[str, str] = {
    "tumor": "mass",
    "tumour": "mass",
    "lung_nodule": "nodule",
    "nodules": "nodule",
    "pneumothorax": "pneumothorax",
    "pleural_effusion": "pleural_effusion",
    "effusion": "pleural_effusion",
}
