"""The fast paths of ``extractors.volume.sparse`` equal the plain computations they replace:
class boxes found in the labelled voxels' box equal ``find_objects`` on the whole volume; a
union of tight masks, built when first read, equals the ORed crops; projections of unions
(from their parts') and of z-windows (from their source's) equal ``data.any(axis)``; the
middle-axis OR equals numpy's ``any``."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from extractors.ct.anatomy import _z_window, build_structures
from extractors.volume import to_canonical, totalseg_classes
from extractors.volume.sparse import ClassMasks, SparseMask, _any, union
from sources.ct.synthetic import make_phantom
from tests.extractors.test_compiled_kernels import label_boxes


def _blobs(shape, n, seed):
    rng = np.random.default_rng(seed)
    labels = np.zeros(shape, dtype=np.uint8)
    for k in range(1, n + 1):
        lo = [int(rng.integers(0, s - 2)) for s in shape]
        hi = [int(rng.integers(a + 1, s + 1)) for a, s in zip(lo, shape, strict=True)]
        labels[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]] = k
    return labels


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_label_boxes_equal_find_objects(seed) -> None:
    labels = _blobs((23, 31, 17), 9, seed)
    labels[:3] = 0  # an empty margin, so the labelled box is smaller than the volume
    assert label_boxes(labels) == ndimage.find_objects(labels)
    assert label_boxes(np.zeros((4, 5, 6), dtype=np.uint8)) == []


def test_class_masks_equal_a_plain_extraction() -> None:
    labels = _blobs((20, 18, 25), 7, 3)
    names = {k: f"c{k}" for k in range(1, 9)}  # class 8 has no voxel
    masks = ClassMasks.from_label_volume(labels, names)
    assert masks.empty == ["c8"]
    for k, name in names.items():
        if name in masks.masks:
            assert np.array_equal(masks.masks[name].dense(), labels == k), name


@pytest.mark.parametrize("shape", [(5, 1, 4), (6, 2, 3), (7, 9, 5), (4, 16, 1), (3, 11, 8)])
def test_middle_axis_or_equals_any(shape) -> None:
    data = np.random.default_rng(sum(shape)).random(shape) < 0.2
    for axis in range(3):
        assert np.array_equal(_any(data, axis), data.any(axis=axis))


def test_projections_and_lazy_unions_equal_the_3d_masks() -> None:
    phantom = make_phantom((64, 64, 60), (6.0, 6.0, 6.0), seed=0)  # all 79 structures
    volume = to_canonical(phantom.hu, phantom.affine, "phantom")
    classes = ClassMasks.from_label_volume(phantom.labels, totalseg_classes())
    structures = build_structures(classes, volume.spacing)
    some = list(classes.masks.values())[:5]
    lazy = union(some)
    assert lazy is not None and lazy.is_tight
    want = np.zeros(lazy.shape, dtype=bool)
    for m in some:
        want |= m.dense()
    assert lazy.bounds() == SparseMask.from_dense(want).bounds()
    assert np.array_equal(lazy.dense(), want)
    lung = structures["right_lung"]
    window = _z_window(lung, lung.offset[2] + 2, lung.hi[2] - 3)
    for axis in (0, 1):
        memo: dict = {}
        for sid, mask in [*structures.items(), ("window", window)]:
            offset, crop = mask.project(axis, memo)
            assert offset == tuple(o for i, o in enumerate(mask.offset) if i != axis), sid
            assert np.array_equal(crop, mask.data.any(axis=axis)), sid


def test_lazy_union_of_untight_masks_equals_the_ored_crops() -> None:
    rng = np.random.default_rng(7)
    shape = (30, 28, 26)
    a = SparseMask((2, 3, 4), rng.random((10, 9, 8)) < 0.3, shape)  # not tight
    b = SparseMask((12, 10, 9), rng.random((8, 12, 11)) < 0.3, shape)
    joined = union([a, b])
    assert joined is not None and not joined.is_tight
    want = a.dense() | b.dense()
    assert np.array_equal(joined.dense(), want)
    assert joined.bounds() == SparseMask.from_dense(want).bounds()
    for axis in range(3):
        assert np.array_equal(joined.project(axis)[1], joined.data.any(axis=axis))
    empty = SparseMask.in_box(shape, (0, 0, 0), (4, 4, 4))  # a box without voxels
    assert union([empty, SparseMask.in_box(shape, (5, 5, 5), (9, 9, 9))]) is None
