"""Licences and citations of the public segmentation samples the demo reads (each
PROVENANCE.md of ../shared/realdata says where the files come from). A generic source kind
(``image_masks``, ``coco``) names its dataset's licence id in its ``licence`` setting; the
ids below are declared, so LICENSES.md gives their terms and citations."""

from __future__ import annotations

from shards.licences import Licence

KVASIR_SEG = Licence(
    "Kvasir-SEG",
    "Kvasir-SEG (Simula): research and education use only; cite the paper",
    "https://datasets.simula.no/kvasir-seg/",
    "Jha D, Smedsrud PH, Riegler MA, et al. Kvasir-SEG: A Segmented Polyp Dataset. "
    "MultiMedia Modeling (MMM) 2020, LNCS 11962:451-462.",
)
ISIC_2017 = Licence(
    "ISIC-2017",
    "ISIC 2017 challenge data: CC BY-NC 4.0 (ISIC Archive)",
    "https://challenge.isic-archive.com/data/#2017",
    "Codella NCF, Gutman D, Celebi ME, et al. Skin Lesion Analysis Toward Melanoma "
    "Detection: A Challenge at the 2017 ISBI, Hosted by the ISIC. ISBI 2018:168-172.",
)
MONTGOMERY_SHENZHEN = Licence(
    "Montgomery-Shenzhen",
    "Montgomery County and Shenzhen chest X-ray sets (U.S. National Library of Medicine): "
    "public for research; cite them (512 x 512 copies and masks: MIT, "
    "rochadiego/MultiResUNet-lung-segmentation)",
    "https://lhncbc.nlm.nih.gov/LHC-downloads/downloads.html#tuberculosis-image-data-sets",
    "Jaeger S, Candemir S, Antani S, et al. Two public chest X-ray datasets for "
    "computer-aided screening of pulmonary diseases. Quant Imaging Med Surg 2014;4(6):475-7.",
)
V7_COVID_LUNGS = Licence(
    "V7-COVID-lungs",
    "V7 Labs COVID-19 chest X-ray lung masks (released publicly; shipped by torchxrayvision, "
    "Apache-2.0); image licences of the covid-chestxray-dataset vary per image",
    "https://github.com/v7labs/covid-19-xray-dataset",
    "Cohen JP, Morrison P, Dao L, et al. COVID-19 Image Data Collection: Prospective "
    "Predictions Are the Future. MELBA 2020. Masks: V7 Labs.",
)
SAM_MED2D = Licence(
    "SAM-Med2D-demo",
    "SAM-Med2D demo data (Apache-2.0, OpenGVLab/SAM-Med2D); slices from AMOS 2022 and "
    "TotalSegmentator (CC BY 4.0)",
    "https://github.com/OpenGVLab/SAM-Med2D",
    "Cheng J, Ye J, Deng Z, et al. SAM-Med2D. arXiv:2308.16184, 2023. Ji Y, et al. AMOS. "
    "NeurIPS 2022. Wasserthal J, et al. TotalSegmentator. Radiol Artif Intell 2023.",
)
KNOWN_LICENCES = (KVASIR_SEG, ISIC_2017, MONTGOMERY_SHENZHEN, V7_COVID_LUNGS, SAM_MED2D)
