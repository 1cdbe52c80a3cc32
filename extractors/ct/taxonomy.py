"""The chest X-ray anatomy taxonomy: versioned data mapping TotalSegmentator "total" classes
(and structures derived from them) to chest radiograph anatomy, named as PAX-Ray++ names its
classes where one matches (../shared/realdata/labels/paxray_labels_cxas.json).

A structure is one of: a union of TotalSegmentator classes (``sources``), a union of other
structures (``parts``), or a derivation (``derive``, implemented in ``extractors.ct.anatomy``):
lung zones (thirds of each lung's height, the apical zone its top sixth), hemidiaphragms
(a shell under each lung base), the mediastinum (between the lungs, plus heart and great
vessels), its upper and lower parts (split at the top of the heart), and the aorta's parts
(ascending and descending where an axial slice cuts the aorta twice, the arch above).
Masks overlap: a pixel can be both "left lung" and "heart". Change anything here: bump
``TAXONOMY_VERSION`` (records carry it in their provenance)."""

from __future__ import annotations

from dataclasses import dataclass

TAXONOMY_VERSION = "cxr-anatomy-1"


@dataclass(frozen=True)
class Structure:
    id: str  # stable key: record labels, anatomy.json, mask file names
    name: str  # how record text says it
    paxray: str | None  # the PAX-Ray++ class name when one matches
    group: str  # lung, mediastinum, airway, vessel, bone, diaphragm, abdomen
    side: str | None = None  # patient side: "right", "left" or None
    sources: tuple[str, ...] = ()  # TotalSegmentator classes, united
    parts: tuple[str, ...] = ()  # other structures, united
    derive: str | None = None  # a rule of extractors.ct.anatomy
    core: bool = True  # gets anatomy grounding records by default (individual ribs do not)


_ORD = {1: "1st", 2: "2nd", 3: "3rd"}


def _ordinal(n: int) -> str:
    return _ORD.get(n, f"{n}th")


def _lobes() -> list[Structure]:
    return [
        Structure(
            f"lung_{lobe}_lobe_{side}",
            f"{side} {lobe} lobe",
            f"lung {lobe} lobe {side}",
            "lung",
            side,
            sources=(f"lung_{lobe}_lobe_{side}",),
        )
        for side, lobes in (("right", ("upper", "middle", "lower")), ("left", ("upper", "lower")))
        for lobe in lobes
    ]


def _zones() -> list[Structure]:
    names = {
        "apical": ("apical zone", "{side} apical zone lung"),
        "upper": ("upper zone", "{side} upper zone lung"),
        "mid": ("mid zone", "{side} mid zone lung"),
        "base": ("lung base", "{side} lung base"),
    }
    return [
        Structure(
            f"{side}_lung_{zone}" if zone == "base" else f"{side}_{zone}_zone",
            f"{side} {words}",
            pax.format(side=side),
            "lung",
            side,
            derive=f"zone:{side}_lung:{zone}",
        )
        for side in ("right", "left")
        for zone, (words, pax) in names.items()
    ]


def _ribs() -> list[Structure]:
    return [
        Structure(
            f"rib_{side}_{n}",
            f"{side} {_ordinal(n)} rib",
            None,
            "bone",
            side,
            sources=(f"rib_{side}_{n}",),
            core=False,
        )
        for side in ("right", "left")
        for n in range(1, 13)
    ]


_VERTEBRAE = {
    "cervical": tuple(f"vertebrae_C{i}" for i in range(1, 8)),
    "thoracic": tuple(f"vertebrae_T{i}" for i in range(1, 13)),
    "lumbar": tuple(f"vertebrae_L{i}" for i in range(1, 6)),
}

STRUCTURES: tuple[Structure, ...] = (
    # ---- lungs -------------------------------------------------------------------------
    *_lobes(),
    Structure(
        "right_lung",
        "right lung",
        "right lung",
        "lung",
        "right",
        parts=("lung_upper_lobe_right", "lung_middle_lobe_right", "lung_lower_lobe_right"),
    ),
    Structure(
        "left_lung",
        "left lung",
        "left lung",
        "lung",
        "left",
        parts=("lung_upper_lobe_left", "lung_lower_lobe_left"),
    ),
    Structure("lungs", "lungs", "lung", "lung", parts=("right_lung", "left_lung")),
    *_zones(),
    Structure(
        "lung_bases", "lung bases", "lung base", "lung", parts=("right_lung_base", "left_lung_base")
    ),
    Structure(
        "upper_zones",
        "upper lung zones",
        "upper zone lung",
        "lung",
        parts=("right_upper_zone", "left_upper_zone"),
    ),
    Structure(
        "mid_zones",
        "mid lung zones",
        "mid zone lung",
        "lung",
        parts=("right_mid_zone", "left_mid_zone"),
    ),
    Structure(
        "apical_zones",
        "lung apices",
        "apical zone lung",
        "lung",
        parts=("right_apical_zone", "left_apical_zone"),
    ),
    Structure(
        "upper_lobes",
        "upper lobes",
        None,
        "lung",
        parts=("lung_upper_lobe_right", "lung_upper_lobe_left"),
        core=False,
    ),
    Structure(
        "lower_lobes",
        "lower lobes",
        None,
        "lung",
        parts=("lung_lower_lobe_right", "lung_lower_lobe_left"),
        core=False,
    ),
    # ---- mediastinum, heart, vessels, airway -------------------------------------------
    Structure("heart", "heart", "heart", "mediastinum", sources=("heart",)),
    Structure(
        "mediastinum", "mediastinum", "cardiomediastinum", "mediastinum", derive="mediastinum"
    ),
    Structure(
        "upper_mediastinum",
        "upper mediastinum",
        "upper mediastinum",
        "mediastinum",
        derive="mediastinum_part:upper",
    ),
    Structure(
        "lower_mediastinum",
        "lower mediastinum",
        "lower mediastinum",
        "mediastinum",
        derive="mediastinum_part:lower",
    ),
    Structure("aorta", "aorta", "aorta", "vessel", sources=("aorta",)),
    Structure(
        "ascending_aorta",
        "ascending aorta",
        "ascending aorta",
        "vessel",
        derive="aorta_part:ascending",
    ),
    Structure("aortic_arch", "aortic arch", "aortic arch", "vessel", derive="aorta_part:arch"),
    Structure(
        "descending_aorta",
        "descending aorta",
        "descending aorta",
        "vessel",
        derive="aorta_part:descending",
    ),
    Structure(
        "superior_vena_cava", "superior vena cava", None, "vessel", sources=("superior_vena_cava",)
    ),
    Structure(
        "inferior_vena_cava",
        "inferior vena cava",
        "inferior vena cava",
        "vessel",
        sources=("inferior_vena_cava",),
    ),
    Structure("pulmonary_veins", "pulmonary veins", None, "vessel", sources=("pulmonary_vein",)),
    Structure("trachea", "trachea", "trachea", "airway", sources=("trachea",)),
    Structure("esophagus", "esophagus", "esophagus", "mediastinum", sources=("esophagus",)),
    # ---- bones -------------------------------------------------------------------------
    Structure(
        "spine",
        "spine",
        "spine",
        "bone",
        sources=tuple(v for group in _VERTEBRAE.values() for v in group),
    ),
    Structure(
        "cervical_spine", "cervical spine", "cervical spine", "bone", sources=_VERTEBRAE["cervical"]
    ),
    Structure(
        "thoracic_spine", "thoracic spine", "thoracic spine", "bone", sources=_VERTEBRAE["thoracic"]
    ),
    Structure("lumbar_spine", "lumbar spine", "lumbar spine", "bone", sources=_VERTEBRAE["lumbar"]),
    *_ribs(),
    Structure(
        "ribs_right",
        "right ribs",
        None,
        "bone",
        "right",
        sources=tuple(f"rib_right_{n}" for n in range(1, 13)),
    ),
    Structure(
        "ribs_left",
        "left ribs",
        None,
        "bone",
        "left",
        sources=tuple(f"rib_left_{n}" for n in range(1, 13)),
    ),
    Structure("ribs", "ribs", None, "bone", parts=("ribs_right", "ribs_left"), core=False),
    Structure(
        "rib_cartilage",
        "costal cartilages",
        "rib_cartilage",
        "bone",
        sources=("costal_cartilages",),
    ),
    Structure("sternum", "sternum", "sternum", "bone", sources=("sternum",)),
    Structure(
        "clavicle_right",
        "right clavicle",
        "clavicle right",
        "bone",
        "right",
        sources=("clavicula_right",),
    ),
    Structure(
        "clavicle_left",
        "left clavicle",
        "clavicle left",
        "bone",
        "left",
        sources=("clavicula_left",),
    ),
    Structure(
        "clavicles", "clavicles", "clavicles", "bone", parts=("clavicle_right", "clavicle_left")
    ),
    Structure(
        "scapula_right",
        "right scapula",
        "scapula right",
        "bone",
        "right",
        sources=("scapula_right",),
    ),
    Structure(
        "scapula_left", "left scapula", "scapula left", "bone", "left", sources=("scapula_left",)
    ),
    Structure("scapulas", "scapulae", "scapulas", "bone", parts=("scapula_right", "scapula_left")),
    Structure("humerus_right", "right humerus", None, "bone", "right", sources=("humerus_right",)),
    Structure("humerus_left", "left humerus", None, "bone", "left", sources=("humerus_left",)),
    # ---- diaphragm ---------------------------------------------------------------------
    Structure(
        "right_hemidiaphragm",
        "right hemidiaphragm",
        "right hemidiaphragm",
        "diaphragm",
        "right",
        derive="hemidiaphragm:right_lung",
    ),
    Structure(
        "left_hemidiaphragm",
        "left hemidiaphragm",
        "left hemidiaphragm",
        "diaphragm",
        "left",
        derive="hemidiaphragm:left_lung",
    ),
    Structure(
        "diaphragm",
        "diaphragm",
        "diaphragm",
        "diaphragm",
        parts=("right_hemidiaphragm", "left_hemidiaphragm"),
    ),
    # ---- neck and upper abdomen (seen on chest radiographs) -----------------------------
    Structure("thyroid_gland", "thyroid gland", None, "neck", sources=("thyroid_gland",)),
    Structure("liver", "liver", "liver", "abdomen", sources=("liver",)),
    Structure("stomach", "stomach", "stomach", "abdomen", sources=("stomach",)),
    Structure("spleen", "spleen", None, "abdomen", sources=("spleen",)),
    Structure(
        "kidney_right",
        "right kidney",
        "kidney right",
        "abdomen",
        "right",
        sources=("kidney_right",),
    ),
    Structure(
        "kidney_left", "left kidney", "kidney left", "abdomen", "left", sources=("kidney_left",)
    ),
    Structure("small_bowel", "small bowel", "small bowel", "abdomen", sources=("small_bowel",)),
    Structure("duodenum", "duodenum", "duodenum", "abdomen", sources=("duodenum",)),
    Structure("pancreas", "pancreas", "pancreas", "abdomen", sources=("pancreas",)),
)

BY_ID: dict[str, Structure] = {s.id: s for s in STRUCTURES}


def structure(structure_id: str) -> Structure:
    return BY_ID[structure_id]


def source_classes() -> frozenset[str]:
    """Every TotalSegmentator class the taxonomy reads."""
    return frozenset(c for s in STRUCTURES for c in s.sources)


_SIDED = {
    "lung": "{side}_lung",
    "lung_base": "{side}_lung_base",
    "upper_zone": "{side}_upper_zone",
    "mid_zone": "{side}_mid_zone",
    "apical_zone": "{side}_apical_zone",
    "hemidiaphragm": "{side}_hemidiaphragm",
    "clavicle": "clavicle_{side}",
    "scapula": "scapula_{side}",
    "ribs": "ribs_{side}",
    "humerus": "humerus_{side}",
    "kidney": "kidney_{side}",
    "upper_lobe": "lung_upper_lobe_{side}",
    "lower_lobe": "lung_lower_lobe_{side}",
}
# both sides (or no side given) of a sided region, as one structure
_BOTH = {
    "lung": "lungs",
    "lung_base": "lung_bases",
    "upper_zone": "upper_zones",
    "mid_zone": "mid_zones",
    "apical_zone": "apical_zones",
    "upper_lobe": "upper_lobes",
    "lower_lobe": "lower_lobes",
    "hemidiaphragm": "diaphragm",
    "clavicle": "clavicles",
    "scapula": "scapulas",
    "ribs": "ribs",
}
# regions a side cannot be taken from: the words "no side" mean this structure
_UNSIDED_OK = {"lung", "hemidiaphragm", "clavicle", "scapula", "ribs"}
_REGION_IDS = {
    "middle_lobe": "lung_middle_lobe_right",
    "heart": "heart",
    "mediastinum": "mediastinum",
    "lower_mediastinum": "lower_mediastinum",
    "aorta": "aorta",
    "aortic_arch": "aortic_arch",
    "ascending_aorta": "ascending_aorta",
    "descending_aorta": "descending_aorta",
    "trachea": "trachea",
    "spine": "spine",
    "sternum": "sternum",
}


def region_structure(region: str, side: str | None) -> str | None:
    """The structure a report's anatomy words name: a region ("lung_base", "upper_lobe",
    "heart"...) on a side ("left", "right", "bilateral" or None). Bilateral gives the group
    of both sides ("lung_bases"); no side gives the group only where that reads naturally
    ("the lungs", "the diaphragm"), else None (a "basilar" opacity of unknown side)."""
    if region in _REGION_IDS:
        return _REGION_IDS[region]
    if region not in _SIDED:
        return None  # hilum, chest: no structure
    if side in ("left", "right"):
        sid = _SIDED[region].format(side=side)
        return sid if sid in BY_ID else None
    if side == "bilateral" or region in _UNSIDED_OK:
        return _BOTH.get(region)
    return None


def sided_parts(structure_id: str) -> tuple[str, ...]:
    """The one-side structures a bilateral group is made of (the structure itself when it
    is not such a group): records ground "both lung bases" with one box per side."""
    s = BY_ID[structure_id]
    if s.parts and all(BY_ID[p].side for p in s.parts):
        return s.parts
    return (structure_id,)
