"""Organs: which TotalSegmentator classes a report's organ words mean, which organ hosts a
lesion mask (the largest overlap), and how records name an organ."""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np

from extractors.pet.volume import OrganMasks
from extractors.volume.morphology import dilate6

_BONE_PREFIXES = (
    "vertebrae_", "rib_", "sacrum", "hip_", "femur_", "humerus_", "scapula_", "clavicula_",
    "sternum", "skull", "costal_cartilages",
)  # fmt: skip

# Coarse anatomy keys of ``extractors.pet.report`` -> TotalSegmentator "total" class names.
ANATOMY_CLASSES: dict[str, Callable[[str], bool]] = {
    "lung": lambda n: n.startswith("lung_"),
    "liver": lambda n: n == "liver",
    "spleen": lambda n: n == "spleen",
    "kidney": lambda n: n.startswith("kidney_"),
    "adrenal": lambda n: n.startswith("adrenal_gland"),
    "pancreas": lambda n: n == "pancreas",
    "bone": lambda n: n.startswith(_BONE_PREFIXES),
    "vertebra": lambda n: n.startswith("vertebrae_"),
    "rib": lambda n: n.startswith(("rib_", "costal_cartilages")),
    "pelvic_bone": lambda n: n.startswith(("hip_", "sacrum")),
    "femur": lambda n: n.startswith("femur_"),
    "sternum": lambda n: n == "sternum",
    "scapula": lambda n: n.startswith("scapula_"),
    "humerus": lambda n: n.startswith("humerus_"),
    "bladder": lambda n: n == "urinary_bladder",
    "stomach": lambda n: n == "stomach",
    "colon": lambda n: n == "colon",
    "thyroid": lambda n: n == "thyroid_gland",
    "brain": lambda n: n == "brain",
    "heart": lambda n: n in ("heart", "atrial_appendage_left") or n.startswith("heart_"),
    "esophagus": lambda n: n == "esophagus",
    "prostate": lambda n: n == "prostate",
    # structures lymph node stations are named after (a node lies next to them)
    "aorta": lambda n: n == "aorta",
    "vena_cava": lambda n: n in ("inferior_vena_cava", "superior_vena_cava"),
    "portal_vein": lambda n: n.startswith("portal_vein"),
    "iliac_vessels": lambda n: n.startswith(("iliac_artery", "iliac_vena", "iliopsoas")),
}


# Organs with high physiological uptake: a hot spot there is not a lesion unless the
# sentence names the organ (urine in the kidneys and bladder, brain, myocardium).
PHYSIOLOGIC_HOT = ("kidney", "bladder", "brain", "heart")


def physiologic_hot(organ: str | None) -> bool:
    return organ is not None and any(ANATOMY_CLASSES[k](organ) for k in PHYSIOLOGIC_HOT)


def anatomy_matches(organ: str | None, keys: tuple[str, ...]) -> bool:
    """Whether a TotalSegmentator class is one of the organs a sentence names."""
    return organ is not None and any(
        key in ANATOMY_CLASSES and ANATOMY_CLASSES[key](organ) for key in keys
    )


def host_organ(
    organs: OrganMasks | None, mask: np.ndarray, offset: tuple[int, int, int]
) -> tuple[str | None, str]:
    """The organ with the largest overlap with a lesion mask (given as a crop at ``offset``),
    and "in" or "next to" (no overlap, but the mask grown by 2 voxels touches the organ:
    a lymph node beside a vessel). (None, "") when no organ is near."""
    if organs is None or not mask.any():
        return None, ""
    x0, y0, z0 = offset
    pad = 2
    lo = [max(0, o - pad) for o in (x0, y0, z0)]
    hi = [
        min(s, o + n + pad)
        for s, o, n in zip(organs.labels.shape, (x0, y0, z0), mask.shape, strict=True)
    ]
    labels = organs.labels[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]]
    local = np.zeros(labels.shape, dtype=bool)
    sx, sy, sz = (x0 - lo[0], y0 - lo[1], z0 - lo[2])
    local[sx : sx + mask.shape[0], sy : sy + mask.shape[1], sz : sz + mask.shape[2]] = mask
    for relation, region in (
        ("in", local),
        ("next to", dilate6(local, pad)),
    ):
        ids, counts = np.unique(labels[region], return_counts=True)
        keep = ids != 0
        if keep.any():
            ids, counts = ids[keep], counts[keep]
            best = int(ids[np.lexsort((ids, -counts))[0]])
            return organs.names.get(best), relation
    return None, ""


_SIDE_RE = re.compile(r"^(?P<rest>.+)_(?P<side>left|right)$")
_SPECIAL = {
    "urinary_bladder": "urinary bladder",
    "thyroid_gland": "thyroid gland",
    "small_bowel": "small bowel",
    "costal_cartilages": "costal cartilages",
    "portal_vein_and_splenic_vein": "portal and splenic veins",
    "inferior_vena_cava": "inferior vena cava",
    "superior_vena_cava": "superior vena cava",
    "clavicula": "clavicle",
    "hip": "hip bone",
    "lung_upper_lobe": "upper lobe of the lung",
    "lung_middle_lobe": "middle lobe of the lung",
    "lung_lower_lobe": "lower lobe of the lung",
    "adrenal_gland": "adrenal gland",
    "iliac_artery": "iliac artery",
    "iliac_vena": "iliac vein",
    "atrial_appendage": "atrial appendage",
    "gluteus_maximus": "gluteus maximus",
}


def organ_phrase(name: str) -> str:
    """Words for a TotalSegmentator class: "lung_upper_lobe_left" -> "left upper lobe of the
    lung", "vertebrae_L3" -> "L3 vertebra", "liver" -> "liver"."""
    if name.startswith("vertebrae_"):
        return f"{name.split('_', 1)[1]} vertebra"
    if name.startswith("rib_"):
        _, side, number = name.split("_")
        return f"{side} rib {number}"
    m = _SIDE_RE.match(name)
    side, rest = (m.group("side"), m.group("rest")) if m else ("", name)
    words = _SPECIAL.get(rest, rest.replace("_", " "))
    return f"{side} {words}".strip()
