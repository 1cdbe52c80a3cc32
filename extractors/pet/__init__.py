"""PET/CT weak labels (Huemann et al., DOMAIN.md section 1), deterministic and pure:

- ``suv``: body-weight SUV factor of a DICOM PET series (QIBA vendor-neutral pseudo-code);
- ``volume``: a PET/CT exam on one canonical grid (``extractors.volume``), slice numbering;
- ``report``: SUV mentions of report text (value, slice, role, side, offsets), compiled by
  mypyc where built (``compiled``);
- ``localise``: the lesion a mention means (threshold, components, iterative segmentation);
- ``label``: one exam end to end; ``anatomy``: organs; ``render``: images and boxes;
- ``phantom``: exams with known truth; ``bench``: the benchmark behind ``medsg bench pet``.
"""

from extractors.pet.compiled import compiled_folder

# (the mypyc build of ``report`` and ``sentences``, when it is one of these sources: issue 11)
if (_compiled := compiled_folder()) is not None:
    __path__.insert(0, str(_compiled))

from extractors.pet.report import SuvMention, extract_suv_mentions
from extractors.pet.suv import suv_bw_scale_factor
from schemas.errors import ItemError

__all__ = ["ItemError", "SuvMention", "extract_suv_mentions", "suv_bw_scale_factor"]
