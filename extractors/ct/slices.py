"""CT slices for people: axial and coronal planes (``extractors.volume.slices``) through a CT
window (``extractors.display``: soft tissue, lung or bone). Masks and their boxes lie on the
same pixel grid (``mask_box_on``)."""

from __future__ import annotations

import numpy as np

from extractors.display import CT_WINDOWS as WINDOWS
from extractors.display import window
from extractors.volume import Volume
from extractors.volume.slices import SliceGrid, mask_box_on, mask_plane, slice_values

__all__ = [
    "WINDOWS",
    "SliceGrid",
    "axial_image",
    "coronal_image",
    "mask_box_on",
    "mask_plane",
    "window",
]


def axial_image(volume: Volume, z: int, window_name: str) -> np.ndarray:
    return window(slice_values(volume, "axial", z), window_name)


def coronal_image(volume: Volume, y: int, window_name: str) -> np.ndarray:
    return window(slice_values(volume, "coronal", y), window_name)
