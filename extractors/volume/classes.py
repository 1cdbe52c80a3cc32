"""TotalSegmentator's "total" classes (id -> name), looked up once from the installed
package: the ids of multilabel organ masks, the names of per-class mask files, and what the
CT anatomy taxonomy and the PET organ words refer to."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from types import MappingProxyType

TOTALSEGMENTATOR_TASK = "total"  # class ids / names of TotalSegmentator 2.x task "total"


@cache
def totalseg_classes() -> Mapping[int, str]:
    """Class id -> class name of the "total" task (read-only; the same object every call)."""
    from totalsegmentator.map_to_binary import class_map

    return MappingProxyType(dict(class_map[TOTALSEGMENTATOR_TASK]))


@cache
def totalseg_ids() -> Mapping[str, int]:
    """Class name -> class id of the "total" task."""
    return MappingProxyType({name: cid for cid, name in totalseg_classes().items()})
