"""Segmentation volumes as grounding data: nnU-Net / MSD folders (``nnunet``), image +
label-map pairs by name pattern (``volume_masks``) and DICOM-SEG with its image series
(``dicom_seg``). One processor (``process``) turns any of them into slices in three planes,
grounding records and the MedSG volume tasks."""

from shards.label_methods import LabelMethod
from shards.licences import Licence
from sources.base import Source
from sources.volume import dicom_seg, nnunet, volume_masks
from sources.volume.files import process_files

MSD = Licence(
    "CC-BY-SA-4.0",
    "Creative Commons Attribution-ShareAlike 4.0 (Medical Segmentation Decathlon)",
    "https://creativecommons.org/licenses/by-sa/4.0/",
    "Antonelli M, Reinke A, Bakas S, et al. The Medical Segmentation Decathlon. Nature "
    "Communications 2022; 13:4128. Simpson AL, Antonelli M, Bakas S, et al. A large annotated "
    "medical image dataset for the development and evaluation of segmentation algorithms. "
    "arXiv:1902.09063 (2019).",
)
PYRADIOMICS = Licence(
    "BSD-3-Clause",
    "BSD 3-Clause licence (pyradiomics test data, Copyright 2017 Harvard Medical School; "
    "TCGA-GBM images under TCIA terms)",
    "https://github.com/AIM-Harvard/pyradiomics/blob/master/LICENSE.txt",
    "van Griethuysen JJM, Fedorov A, Parmar C, et al. Computational Radiomics System to Decode "
    "the Radiographic Phenotype. Cancer Research 2017; 77(21):e104-e107. Clark K, et al. The "
    "Cancer Imaging Archive (TCIA). J Digit Imaging 2013; 26(6):1045-1057.",
)
HIGHDICOM = Licence(
    "MIT",
    "MIT licence (highdicom test files, Copyright 2020 MGH Computational Pathology; pydicom "
    "test files)",
    "https://github.com/ImagingDataCommons/highdicom/blob/master/LICENSE",
    "Herrmann MD, Bridge CP, Fedorov AY, et al. Highdicom: a Python Library for Standardized "
    "Encoding of Image Annotations and Machine Learning Model Outputs in Pathology and "
    "Radiology. J Digit Imaging 2022; 35:1719-1737.",
)


def _method(kind: str) -> tuple[LabelMethod, ...]:
    return (
        LabelMethod(
            f"sources.{kind}",
            "expert",
            "boxes of the dataset's own segmentation masks, slice by slice",
            "as good as the masks: each box is exact to its mask's pixels (tested)",
        ),
    )


NNUNET = Source(
    settings=nnunet.Settings,
    plan=nnunet.plan,
    process=process_files,
    layout="imagesTr/ (+imagesTs/), labelsTr/, dataset.json (MSD or nnU-Net v2 spelling); "
    "NIfTI / NRRD / MHA, channels as _0000.. files or a 4D NIfTI",
    licences=(MSD,),
    label_methods=_method("nnunet"),
)
VOLUME_MASKS = Source(
    settings=volume_masks.Settings,
    plan=volume_masks.plan,
    process=process_files,
    layout="image and label-map volume pairs by pattern, default {id}_image.nrrd + {id}_label.nrrd",
    licences=(PYRADIOMICS,),
    label_methods=_method("volume_masks"),
)
DICOM_SEG = Source(
    settings=dicom_seg.Settings,
    plan=dicom_seg.plan,
    process=dicom_seg.process,
    layout="DICOM-SEG objects (BINARY, FRACTIONAL, LABELMAP) and the image instances they "
    "reference, anywhere under root",
    licences=(HIGHDICOM,),
    label_methods=_method("dicom_seg"),
)
