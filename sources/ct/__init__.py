"""CT volumes projected to chest radiographs with dense anatomy (PAXRay): the ``ct_projection``
source (cases on disk) and ``synthetic_ct`` (generated phantoms). Planning and reading are in
``projection``, the processor in ``process``."""

from shards.label_methods import LabelMethod
from shards.licences import APACHE_2, CC0
from sources.base import Source
from sources.ct import projection, synthetic
from sources.ct.process import process_ct

CT_PROJECTION = Source(
    settings=projection.Settings,
    plan=projection.plan,
    process=process_ct,
    layout="cases_csv (case_id, patient_id, ct, masks, report) or inline cases: a NIfTI or "
    "DICOM series folder per case, TotalSegmentator masks (multilabel or per-class folder)",
    licences=(APACHE_2,),
)
SYNTHETIC_CT_METHOD = LabelMethod(
    "sources.synthetic_ct",
    "generated",
    "organ masks of generated chest CT phantoms, projected with the CT",
    "exact by construction",
)
SYNTHETIC_CT = Source(
    settings=synthetic.Settings,
    plan=synthetic.plan,
    process=process_ct,
    layout="generated: n_cases chest CT phantoms with masks and reports",
    licences=(CC0,),
    label_methods=(SYNTHETIC_CT_METHOD,),
)
