"""The optimised projection (one pass over the volume, block-level body mask) equals the
plain implementation it replaced, kept here as the reference: the line integrals within
float tolerance, the images and the projected masks exactly, on small phantoms whose sizes
are not multiples of the coarse body-mask grid."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from extractors.ct.anatomy import build_structures
from extractors.ct.projection import (
    AIR_HU,
    RAY_AXIS,
    VIEWS,
    ProjectionSettings,
    line_integrals,
    project,
)
from extractors.volume import to_canonical, totalseg_classes
from extractors.volume.sparse import ClassMasks
from sources.ct.synthetic import make_phantom

# ---- the reference: the straightforward implementation --------------------------------------

_IN_PLANE = np.zeros((3, 3, 3), dtype=bool)
_IN_PLANE[:, :, 1] = [[False, True, False], [True, True, True], [False, True, False]]


def reference_body(hu, spacing, threshold_hu=-200, coarse_mm=2.5) -> np.ndarray:
    """The full-resolution body mask (largest component, holes filled per slice, grown)."""
    steps = tuple(max(1, int(coarse_mm // s)) for s in spacing)
    coarse = hu[:: steps[0], :: steps[1], :: steps[2]] > threshold_hu
    labels, n = ndimage.label(coarse)
    if n == 0:
        body = np.zeros(coarse.shape, dtype=bool)
    else:
        sizes = np.bincount(labels.ravel())
        sizes[0] = 0
        body = labels == int(sizes.argmax())
        outside, _ = ndimage.label(~body, structure=_IN_PLANE)
        edge = np.unique(
            np.concatenate(
                [
                    outside[0].ravel(),
                    outside[-1].ravel(),
                    outside[:, 0].ravel(),
                    outside[:, -1].ravel(),
                ]
            )
        )
        body |= ~np.isin(outside, edge)
        body = ndimage.binary_dilation(body, structure=np.ones((3, 3, 1), dtype=bool))
    for axis, step in enumerate(steps):
        body = np.repeat(body, step, axis=axis)
    return body[: hu.shape[0], : hu.shape[1], : hu.shape[2]]


def reference_integrals(volume, settings: ProjectionSettings) -> dict[str, np.ndarray]:
    hu = np.asarray(volume.data)
    if hu.dtype != np.int16:
        hu = np.clip(np.rint(hu), -32768, 32767).astype(np.int16)
    buf = np.maximum(hu, np.int16(AIR_HU)).astype(np.int64)
    if settings.remove_table:
        buf[~reference_body(hu, volume.spacing, settings.body_threshold_hu)] = AIR_HU
    bone = np.maximum(buf - settings.bone_threshold_hu, 0)
    out = {}
    for view in VIEWS:
        axis = RAY_AXIS[view]
        n, step = hu.shape[axis], volume.spacing[axis]
        total = buf.sum(axis=axis).astype(np.float64)
        b = bone.sum(axis=axis).astype(np.float64)
        integral = (
            settings.mu_water_per_mm
            * step
            * (n + total / 1000.0 + settings.bone_boost * b / 1000.0)
        )
        out[view] = np.maximum(integral, 0.0)
    return out


def reference_mask(geom, plane: np.ndarray, threshold: float):
    """A projected mask by the plain route: the whole (column axis, z) plane resampled like
    the image (``_Axis.apply`` along both axes), thresholded, flipped head-up, cropped tight;
    ``(offset, crop)`` or None."""
    hit = geom.rows.apply(geom.cols.apply(plane.astype(np.float64), 0), 1) >= threshold
    image = hit.T[::-1]
    if not image.any():
        return None
    rows, cols = np.flatnonzero(image.any(axis=1)), np.flatnonzero(image.any(axis=0))
    crop = image[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    return (int(rows[0]), int(cols[0])), crop


# ---- the comparison --------------------------------------------------------------------------

CASES = [
    ((64, 56, 47), (6.0, 6.0, 6.0)),  # coarse step 1: every voxel its own block
    ((101, 97, 61), (0.8, 0.9, 1.1)),  # steps (3, 2, 2), sizes not multiples of them
    ((70, 64, 50), (1.2, 1.0, 2.5)),  # steps (2, 2, 1)
]


def _volume(shape, spacing, seed=0, **kw):
    phantom = make_phantom(shape, spacing, seed=seed, noise_hu=8.0, **kw)
    return phantom, to_canonical(phantom.hu, phantom.affine, "phantom")


@pytest.mark.parametrize("shape,spacing", CASES)
@pytest.mark.parametrize("remove_table", [True, False])
def test_line_integrals_equal_the_reference(shape, spacing, remove_table) -> None:
    _, volume = _volume(shape, spacing)
    settings = ProjectionSettings(remove_table=remove_table)
    got, want = line_integrals(volume, settings), reference_integrals(volume, settings)
    for view in VIEWS:
        assert got[view].shape == want[view].shape
        np.testing.assert_allclose(got[view], want[view], rtol=1e-6, atol=1e-9)


def test_line_integrals_of_float_hu_and_bone_settings() -> None:
    _, volume = _volume((61, 53, 45), (0.8, 0.8, 1.3), seed=3)
    hu = volume.data.astype(np.float32) + 0.3
    volume = type(volume)(hu, volume.affine)
    settings = ProjectionSettings(bone_threshold_hu=150, bone_boost=2.25)
    got, want = line_integrals(volume, settings), reference_integrals(volume, settings)
    for view in VIEWS:
        np.testing.assert_allclose(got[view], want[view], rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("shape,spacing", CASES[1:])
def test_projection_equals_the_reference_images_and_masks(shape, spacing) -> None:
    """The images are the reference integrals through the unchanged contrast processing."""
    from extractors.ct.projection import radiograph, view_geometry

    phantom, volume = _volume(shape, spacing, finding="pleural_effusion")
    classes = ClassMasks.from_label_volume(phantom.labels, totalseg_classes())
    structures = build_structures(classes, volume.spacing)
    settings = ProjectionSettings()
    got = project(volume, structures, settings)
    want = reference_integrals(volume, settings)
    for view in VIEWS:
        geom = view_geometry(volume.shape, volume.spacing, view, settings.pixel_mm)
        image = radiograph(1.0 - np.exp(-geom.image(want[view])), settings)
        assert np.array_equal(got.views[view].pixels, image)
        for sid, mask in structures.items():
            dense = mask.dense().any(axis=RAY_AXIS[view])
            got_mask = got.masks[view].get(sid)
            ref = geom.mask((0, 0), dense, settings.mask_threshold)
            plain = reference_mask(geom, dense, settings.mask_threshold)
            if ref is None:
                assert got_mask is None and plain is None, sid
            else:
                assert got_mask is not None and plain is not None, sid
                assert got_mask.offset == ref.offset and np.array_equal(got_mask.data, ref.data)
                assert got_mask.offset == plain[0] and np.array_equal(got_mask.data, plain[1])
