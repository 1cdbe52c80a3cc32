"""The compiled kernels (numba) equal the numpy / scipy computations they replaced, kept here
as references: label runs and their boxes, crops and projections; the body mask's largest
component and per-slice hole fill; in-slice components (numbering included); the
hemidiaphragm shell; mask resampling; ``minus``; the components of a threshold reaching
given slices and a seed's component (PET localisation), 6-neighbour dilation and erosion,
and the box of some labels. And ``extractors.jit.kernel`` still compiles,
with a warning, where numba finds nowhere to cache."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from extractors.ct.anatomy import BASE_SHARE, hemidiaphragm
from extractors.ct.mask_resample import resample_crop
from extractors.ct.projection import _Axis
from extractors.volume.components import fill_holes_per_slice, largest_component
from extractors.volume.label_kernels import label_runs, labels_box, run_boxes
from extractors.volume.morphology import dilate6, erode6
from extractors.volume.seeded_components import component_of, components_reaching_slices
from extractors.volume.slice_components import slice_components
from extractors.volume.sparse import ClassMasks, SparseMask


def _labels(shape, n, seed, dtype=np.uint8) -> np.ndarray:
    rng = np.random.default_rng(seed)
    labels = np.zeros(shape, dtype=dtype)
    for k in range(1, n + 1):
        lo = [int(rng.integers(0, s)) for s in shape]
        hi = [int(rng.integers(a + 1, s + 1)) for a, s in zip(lo, shape, strict=True)]
        labels[lo[0] : hi[0], lo[1] : hi[1], lo[2] : hi[2]] = k
    labels[rng.random(shape) < 0.05] = 0  # holes: runs end inside rows
    return labels


def label_boxes(labels: np.ndarray) -> list[tuple[slice, ...] | None]:
    """``ndimage.find_objects`` from the compiled label runs and their boxes."""
    where, value = label_runs(labels)
    n = int(value.max(initial=0)) + 1
    lo, hi = run_boxes(where, value, n)
    boxes: list[tuple[slice, ...] | None] = []
    for v in range(1, n):
        pairs = zip(lo[v], hi[v], strict=True)
        boxes.append(None if hi[v, 0] < 0 else tuple(slice(int(a), int(b)) for a, b in pairs))
    return boxes


def apply_crop(ax: _Axis, crop: np.ndarray, start: int, axis: int) -> tuple[int, np.ndarray]:
    """The numpy resampling of a crop at ``start`` along ``axis`` (zero elsewhere) that the
    compiled ``resample_crop`` replaced: the first output index and the output rows touched."""
    n = crop.shape[axis]
    touched = np.nonzero((ax.i1 >= start) & (ax.i0 <= start + n - 1))[0]
    if touched.size == 0:
        return 0, np.zeros((0,) * crop.ndim)
    j0, j1 = int(touched[0]), int(touched[-1]) + 1
    shape = list(crop.shape)
    shape[axis] = n + 2
    padded = np.zeros(shape)  # float64: the crop with a zero row on each side
    inner = [slice(None)] * crop.ndim
    inner[axis] = slice(1, n + 1)
    padded[tuple(inner)] = crop
    i0 = np.clip(ax.i0[j0:j1] - start + 1, 0, n + 1)
    i1 = np.clip(ax.i1[j0:j1] - start + 1, 0, n + 1)
    shape = [1] * crop.ndim
    shape[axis] = -1
    w1 = ax.w1[j0:j1].reshape(shape)
    out = np.take(padded, i0, axis=axis)  # in place, the same arithmetic as ``apply``
    out *= 1.0 - w1
    far = np.take(padded, i1, axis=axis)
    far *= w1
    out += far
    return j0, out


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.int32])
@pytest.mark.parametrize("shape", [(9, 7, 5), (6, 5, 16), (4, 3, 1)])
def test_label_runs_cover_the_volume(dtype, shape) -> None:
    labels = _labels(shape, 6, sum(shape), dtype)
    labels[1] = 3  # whole rows of one label: stream runs cross row ends
    where, value = label_runs(labels)
    rebuilt = np.zeros_like(labels)
    for (x, y, z0, z1), v in zip(where, value, strict=True):
        assert z0 < z1 and (z0 == 0 or labels[x, y, z0 - 1] != v)
        rebuilt[x, y, z0:z1] = v
    assert np.array_equal(rebuilt, labels)
    assert label_boxes(labels) == ndimage.find_objects(labels)


def test_run_held_classes_equal_plain_masks() -> None:
    labels = _labels((21, 17, 26), 7, 5)
    names = {k: f"c{k}" for k in range(1, 9)}
    masks = ClassMasks.from_label_volume(labels, names)
    for k, name in names.items():
        want = labels == k
        if not want.any():
            assert name in masks.empty
            continue
        m = masks.masks[name]
        plain = SparseMask.from_dense(want)
        assert (m.offset, m.hi, m.voxels) == (plain.offset, plain.hi, int(want.sum()))
        for axis in range(3):  # from the runs, before the crop is built
            assert np.array_equal(m.project(axis)[1], plain.data.any(axis=axis)), (name, axis)
        assert np.array_equal(m.data, plain.data)


_CROSS = np.zeros((3, 3, 3), dtype=bool)
_CROSS[:, :, 1] = [[False, True, False], [True, True, True], [False, True, False]]
_SQUARE = np.zeros((3, 3, 3), dtype=bool)
_SQUARE[:, :, 1] = True


@pytest.mark.parametrize("seed", range(4))
def test_body_components_equal_ndimage(seed) -> None:
    mask = np.random.default_rng(seed).random((19, 23, 11 + seed)) < 0.55
    labels, _ = ndimage.label(mask)
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    want = labels == sizes.argmax()
    got = largest_component(mask)
    assert np.array_equal(got, want)
    outside, _ = ndimage.label(~want, structure=_CROSS)
    edge = np.unique(np.concatenate([outside[e].ravel() for e in (0, -1)] + [
        outside[:, e].ravel() for e in (0, -1)
    ]))  # fmt: skip
    fill_holes_per_slice(got)
    assert np.array_equal(got, want | ~np.isin(outside, edge))
    assert not largest_component(np.zeros((3, 4, 5), dtype=bool)).any()


@pytest.mark.parametrize("seed", range(5))
def test_slice_components_equal_ndimage(seed) -> None:
    data = np.random.default_rng(seed).random((23, 19, 7 + seed)) < 0.4
    cuts = slice_components(data)
    labels, n = ndimage.label(data, structure=_SQUARE)
    assert cuts.n == n
    idx = np.flatnonzero(labels)
    lab = labels.ravel()[idx]
    assert np.array_equal(cuts.size, np.bincount(lab, minlength=n + 1)[1:])
    ys = (idx // data.shape[2]) % data.shape[1]
    assert np.array_equal(cuts.y_sum, np.bincount(lab, weights=ys, minlength=n + 1)[1:])
    z = np.zeros(n + 1, dtype=np.int64)
    z[lab] = idx % data.shape[2]
    assert np.array_equal(cuts.z, z[1:])
    flags = np.random.default_rng(seed).random(n + 1) < 0.5
    flags[0] = False
    (painted,) = cuts.masks(flags)
    assert np.array_equal(painted, flags[labels])


def _reference_hemidiaphragm(lung: SparseMask, thickness: int) -> SparseMask | None:
    """The numpy implementation the column kernels replaced."""
    lung = lung.tight()
    data = lung.data
    has = data.any(axis=2)
    lowest = lung.offset[2] + data.argmax(axis=2)
    z0 = lung.offset[2]
    half = z0 + data.shape[2] * BASE_SHARE
    valid = has & (lowest < half)
    if not valid.any():
        return None
    lo = (lung.offset[0], lung.offset[1], z0 - thickness)
    hi = (lung.hi[0], lung.hi[1], int(np.ceil(half)))
    out = SparseMask.in_box(lung.shape, lo, hi)
    zz = np.arange(out.offset[2], out.offset[2] + out.data.shape[2])[None, None, :]
    low = lowest[..., None]
    shell = valid[..., None] & (zz >= low - thickness) & (zz < low)
    out.data[...] = shell[: out.data.shape[0], : out.data.shape[1], :]
    return out.tight()


@pytest.mark.parametrize("seed", range(6))
def test_hemidiaphragm_equals_the_reference(seed) -> None:
    rng = np.random.default_rng(seed)
    dense = np.zeros((20, 18, 30), dtype=bool)
    z_floor = int(rng.integers(0, 6))  # 0: the lung base on the grid's first slice
    dense[3:15, 2:16, z_floor:25] = rng.random((12, 14, 25 - z_floor)) < 0.7
    lung = SparseMask.from_dense(dense)
    for thickness in (1, 3, 8):
        got, want = hemidiaphragm(lung, thickness), _reference_hemidiaphragm(lung, thickness)
        assert (got is None) == (want is None)
        if got is not None:
            assert (got.offset, got.hi) == (want.offset, want.hi)
            assert np.array_equal(got.data, want.data)


@pytest.mark.parametrize("seed", range(4))
def test_mask_resampling_equals_apply_crop(seed) -> None:
    rng = np.random.default_rng(seed)
    cols, rows = _Axis.of(60, 0.78, 1.0), _Axis.of(45, 1.3, 1.0)
    crop = rng.random((int(rng.integers(1, 20)), int(rng.integers(1, 15)))) < 0.5
    start = (int(rng.integers(0, 60 - crop.shape[0])), int(rng.integers(0, 45 - crop.shape[1])))
    c0, a = apply_crop(cols, crop, start[0], 0)
    z0, b = apply_crop(rows, a, start[1], 1)
    j0, k0, hit = resample_crop(crop, start, cols.maps, rows.maps, 0.5)
    assert (j0, k0) == (c0, z0)
    assert np.array_equal(hit, b >= 0.5)


def test_minus_equals_where_not() -> None:
    rng = np.random.default_rng(1)
    a = SparseMask((2, 3, 1), rng.random((8, 9, 7)) < 0.6, (20, 20, 20))
    for offset in ((0, 0, 0), (5, 6, 4), (15, 15, 15)):
        b = SparseMask(offset, rng.random((6, 6, 6)) < 0.5, (20, 20, 20))
        got = a.minus(b)
        want = a.where(~b.crop_to(a.offset, a.hi))
        assert got.offset == want.offset and np.array_equal(got.data, want.data)


def test_kernel_compiles_uncached_with_a_warning(monkeypatch) -> None:
    import numba

    from extractors import jit

    real = numba.njit

    def no_cache(*args, **kw):
        if kw.get("cache"):
            raise RuntimeError("cannot cache function 'f': no locator available")
        return real(*args, **kw)

    monkeypatch.setattr(jit.numba, "njit", no_cache)
    with pytest.warns(UserWarning, match="without a cache"):
        twice = jit.kernel(lambda v: 2 * v)
    assert twice(21) == 42


_SIX = ndimage.generate_binary_structure(3, 1)


def _reference_reach(values, t, z0, z1, box):
    """Label ``values[box] >= t`` (scipy), keep the components with a voxel on z0..z1: their
    box, maximum and first maximal voxel (np.argmax over the component in its box)."""
    sub = values[box] >= t
    labels, _ = ndimage.label(sub, structure=_SIX)
    za = box[2].start
    on = np.unique(labels[:, :, max(z0 - za, 0) : max(0, z1 - za + 1)])
    out = []
    for i, local in enumerate(ndimage.find_objects(labels), start=1):
        if i not in on:
            continue
        v = np.where(labels[local] == i, values[box][local], -np.inf)
        flat = int(np.argmax(v))
        at = [
            p + sl.start + b.start
            for p, sl, b in zip(np.unravel_index(flat, v.shape), local, box, strict=True)
        ]
        lo = [sl.start + b.start for sl, b in zip(local, box, strict=True)]
        hi = [sl.stop + b.start for sl, b in zip(local, box, strict=True)]
        out.append((tuple(lo), tuple(hi), float(v.flat[flat]), tuple(int(a) for a in at)))
    return sorted(out)


@pytest.mark.parametrize("seed", range(12))
def test_components_reaching_slices_equal_ndimage(seed) -> None:
    rng = np.random.default_rng(seed)
    shape = tuple(int(n) for n in rng.integers(5, 25, 3))
    values = rng.random(shape).astype(np.float32 if seed % 2 else np.float64)
    if seed % 3 == 0:
        values = np.round(values * 4) / 4  # equal maxima: the first in C order is the seed
    t = float(rng.uniform(0.3, 0.7))
    z0 = int(rng.integers(0, shape[2]))
    z1 = min(shape[2] - 1, z0 + int(rng.integers(0, 3)))
    if seed < 4:  # the whole volume
        box = tuple(slice(0, n) for n in shape)
        got = components_reaching_slices(values, t, z0, z1)
    else:  # a box holding slice z0 (small ones are filled in a compact copy)
        lo = [int(rng.integers(0, n // 2)) for n in shape[:2]] + [int(rng.integers(0, z0 + 1))]
        hi = [int(rng.integers(a + 1, n + 1)) for a, n in zip(lo, shape, strict=True)]
        box = tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))
        got = components_reaching_slices(values, t, z0, z1, box)
    found = sorted(
        (tuple(map(int, got.lo[k])), tuple(map(int, got.hi[k])), float(got.maximum[k]),
         tuple(map(int, got.argmax[k])))
        for k in range(got.n)
    )  # fmt: skip
    assert found == _reference_reach(values, t, z0, z1, box)
    assert got.n == 0 or got.box(0) == tuple(
        slice(int(a), int(b)) for a, b in zip(got.lo[0], got.hi[0], strict=True)
    )


def test_threshold_is_compared_as_numpy_compares_a_float32_array() -> None:
    values = np.zeros((3, 3, 3), dtype=np.float32)
    values[1, 1, 1] = 1.0
    t = 1.0 + 1e-8  # over 1.0 as a float64, equal to it as a float32
    assert bool((values >= t)[1, 1, 1]) and components_reaching_slices(values, t, 1, 1).n == 1


@pytest.mark.parametrize("seed", range(8))
def test_component_of_a_seed_equals_ndimage(seed) -> None:
    rng = np.random.default_rng(seed)
    mask = rng.random(tuple(int(n) for n in rng.integers(2, 20, 3))) < rng.uniform(0.1, 0.7)
    if seed % 2:
        mask = mask[::2, :, 1:]  # not contiguous
    labels, _ = ndimage.label(mask, structure=_SIX)
    for _ in range(6):
        p = tuple(int(rng.integers(0, n)) for n in mask.shape)
        got = component_of(mask, p)
        assert (got is None) if not mask[p] else np.array_equal(got, labels == labels[p])


@pytest.mark.parametrize("seed", range(8))
def test_dilate6_and_erode6_equal_ndimage(seed) -> None:
    rng = np.random.default_rng(seed)
    shape = tuple(int(n) for n in rng.integers(1, 20, 3))
    sparse = rng.random(shape) < rng.uniform(0.05, 0.5)
    dense = ndimage.binary_closing(rng.random(shape) < rng.uniform(0.5, 0.97))
    for it in range(1, 5):
        assert np.array_equal(dilate6(sparse, it), ndimage.binary_dilation(sparse, iterations=it))
        assert np.array_equal(
            dilate6(sparse, it), ndimage.binary_dilation(sparse, structure=_SIX, iterations=it)
        )
        assert np.array_equal(erode6(dense, it), ndimage.binary_erosion(dense, iterations=it))
    with pytest.raises(ValueError):
        dilate6(sparse, 0)


@pytest.mark.parametrize("ids", [[3], [1, 4], [9]])
def test_labels_box_equals_the_mask_box(ids) -> None:
    labels = _labels((17, 13, 21), 5, 7, dtype=np.int16)
    box, count = labels_box(labels, ids)
    mask = np.isin(labels, ids)
    assert count == int(mask.sum())
    if not count:
        assert box is None
        return
    want = tuple(
        slice(int(h[0]), int(h[-1]) + 1)
        for k in range(3)
        for h in [np.flatnonzero(mask.any(axis=tuple(a for a in range(3) if a != k)))]
    )
    assert box == want
