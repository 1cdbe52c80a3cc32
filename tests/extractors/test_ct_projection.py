"""CT to radiographs: anatomical facts on the projected masks of the real CT and of a chest
phantom, the same images and boxes whatever the orientation the files are stored in, and
projection geometry (masks and image share one grid)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from extractors.ct.anatomy import build_structures
from extractors.ct.projection import VIEWS, _Axis, project
from extractors.ct.taxonomy import BY_ID, STRUCTURES, region_structure, sided_parts
from extractors.volume import read_ct, to_canonical, totalseg_classes
from extractors.volume.sparse import ClassMasks, SparseMask, union
from sources.ct.masks import load_masks
from tests.ct_helpers import ALL_FACTS, chest_facts, phantom_case, write_reoriented
from tests.extractors.test_compiled_kernels import apply_crop

EXAMPLE = Path("ct") / "totalsegmentator_example"


def run(ct_path: Path, masks_path: Path):
    ct = read_ct(ct_path)
    masks = load_masks(masks_path, ct)
    return ct, project(ct, build_structures(masks, ct.spacing))


# ---- the real CT ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real(realdata: Path):
    d = realdata / EXAMPLE
    return run(d / "example_ct_sm.nii.gz", d / "example_ct_organ_masks")


@pytest.mark.realdata
def test_real_ct_anatomical_facts(real) -> None:
    ct, proj = real
    assert ct.reorientation.source_axcodes == ("R", "A", "S")
    boxes = proj.boxes()
    facts = chest_facts(boxes, proj.views["frontal"].width)
    assert facts == {
        "right lung left of left lung (frontal)": True,
        "liver below right lung": True,
        "liver on the image's left half": True,
    }
    # the example is an upper-abdominal CT: its masks of the heart, trachea and clavicles are
    # empty, so those facts are checked on the chest phantom below
    for absent in ("heart", "trachea", "clavicles", "mediastinum"):
        assert absent not in boxes["frontal"]
    f, lat = boxes["frontal"], boxes["lateral"]
    # lateral view: the spine is posterior to (right of) the liver and the stomach
    for organ in ("liver", "stomach"):
        assert (lat["spine"]["box"][0] + lat["spine"]["box"][2]) > (
            lat[organ]["box"][0] + lat[organ]["box"][2]
        )
    # the stomach and spleen are on the patient's left: the image's right half
    w = proj.views["frontal"].width
    for organ in ("stomach", "spleen"):
        assert (f[organ]["box"][0] + f[organ]["box"][2]) / 2 > w / 2
    # 3 mm voxels, 1 mm pixels: 122 x 3 mm wide, 30 x 3 mm high
    assert (proj.views["frontal"].width, proj.views["frontal"].height) == (366, 90)
    assert (proj.views["lateral"].width, proj.views["lateral"].height) == (303, 90)


@pytest.mark.realdata
def test_real_ct_multilabel_masks_agree(realdata: Path, real) -> None:
    d = realdata / EXAMPLE
    _, proj = run(d / "example_ct_sm.nii.gz", d / "example_seg.nii.gz")
    boxes = proj.boxes()
    assert all(chest_facts(boxes, proj.views["frontal"].width).values())
    # another TotalSegmentator run of the same CT: the lungs land within a few pixels
    ref = real[1].boxes()
    for sid in ("right_lung", "left_lung", "liver"):
        assert (
            np.abs(np.subtract(boxes["frontal"][sid]["box"], ref["frontal"][sid]["box"])).max()
            <= 12
        )


@pytest.mark.realdata
@pytest.mark.parametrize(
    ("flips", "perm", "codes"),
    [((0,), (0, 1, 2), "LAS"), ((0, 1), (0, 1, 2), "LPS"), ((2,), (1, 0, 2), "ARI")],
)
def test_real_ct_in_other_orientations_projects_the_same(
    realdata: Path, real, tmp_path: Path, flips, perm, codes
) -> None:
    d = realdata / EXAMPLE
    ct_file = write_reoriented(d / "example_ct_sm.nii.gz", tmp_path / "ct.nii.gz", flips, perm)
    seg_file = write_reoriented(d / "example_seg.nii.gz", tmp_path / "seg.nii.gz", flips, perm)
    ct, proj = run(ct_file, seg_file)
    assert "".join(ct.reorientation.source_axcodes) == codes
    _, ref = run(d / "example_ct_sm.nii.gz", d / "example_seg.nii.gz")
    for view in VIEWS:
        assert np.array_equal(proj.views[view].pixels, ref.views[view].pixels), view
    assert proj.boxes() == ref.boxes()
    assert all(chest_facts(proj.boxes(), proj.views["frontal"].width).values())


# ---- the chest phantom: every fact ---------------------------------------------------------


@pytest.fixture(scope="module")
def phantom_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("phantom")
    phantom, _paths = phantom_case(folder)
    return phantom, folder


def test_phantom_has_every_fact(phantom_files) -> None:
    _, folder = phantom_files
    _, proj = run(folder / "ct.nii.gz", folder / "masks.nii.gz")
    facts = chest_facts(proj.boxes(), proj.views["frontal"].width)
    assert set(facts) == ALL_FACTS
    assert all(facts.values()), facts


@pytest.mark.parametrize(
    ("flips", "perm", "codes"),
    [((0,), (0, 1, 2), "RPS"), ((0, 1), (0, 1, 2), "RAS"), ((1, 2), (2, 0, 1), "ILA")],
)
def test_phantom_in_other_orientations_projects_the_same(
    phantom_files, tmp_path, flips, perm, codes
) -> None:
    _, folder = phantom_files
    _, ref = run(folder / "ct.nii.gz", folder / "masks.nii.gz")
    ct_file = write_reoriented(folder / "ct.nii.gz", tmp_path / "ct.nii.gz", flips, perm)
    seg_file = write_reoriented(folder / "masks.nii.gz", tmp_path / "seg.nii.gz", flips, perm)
    ct, proj = run(ct_file, seg_file)
    assert "".join(ct.reorientation.source_axcodes) == codes
    for view in VIEWS:
        assert np.array_equal(proj.views[view].pixels, ref.views[view].pixels), view
    assert proj.boxes() == ref.boxes()
    facts = chest_facts(proj.boxes(), proj.views["frontal"].width)
    assert set(facts) == ALL_FACTS and all(facts.values())


def test_per_class_folder_equals_multilabel(tmp_path: Path) -> None:
    phantom, _ = phantom_case(tmp_path / "a", finding=None)
    from sources.ct.synthetic import write_case

    write_case(tmp_path / "b", phantom, per_class_masks=True)
    _, one = run(tmp_path / "a" / "ct.nii.gz", tmp_path / "a" / "masks.nii.gz")
    _, many = run(tmp_path / "b" / "ct.nii.gz", tmp_path / "b" / "masks")
    assert one.boxes() == many.boxes()


def test_derived_structures(phantom_files) -> None:
    _, folder = phantom_files
    _, proj = run(folder / "ct.nii.gz", folder / "masks.nii.gz")
    f, lat = proj.boxes()["frontal"], proj.boxes()["lateral"]
    for sid in (
        "mediastinum",
        "upper_mediastinum",
        "lower_mediastinum",
        "aortic_arch",
        "ascending_aorta",
        "descending_aorta",
        "right_hemidiaphragm",
        "left_hemidiaphragm",
        "right_lung_base",
        "left_apical_zone",
    ):
        assert sid in f, sid
    # hemidiaphragms lie under their lung's base; the arch sits above the descending aorta
    for side in ("right", "left"):
        assert f[f"{side}_hemidiaphragm"]["box"][3] > f[f"{side}_lung"]["box"][3] - 2
    assert f["aortic_arch"]["box"][1] < f["descending_aorta"]["box"][1]
    # lateral: the ascending aorta is anterior to the descending aorta
    assert lat["ascending_aorta"]["box"][0] < lat["descending_aorta"]["box"][0]
    # the mediastinum lies between the lungs: its centre between the lungs' centres
    cx = (f["mediastinum"]["box"][0] + f["mediastinum"]["box"][2]) / 2
    assert (f["right_lung"]["box"][0] + f["right_lung"]["box"][2]) / 2 < cx
    assert cx < (f["left_lung"]["box"][0] + f["left_lung"]["box"][2]) / 2
    # zones split a lung top to bottom
    assert (
        f["right_upper_zone"]["box"][1]
        < f["right_mid_zone"]["box"][1]
        < f["right_lung_base"]["box"][1]
    )


def test_projection_is_deterministic_and_table_is_removed(phantom_files) -> None:
    phantom, _ = phantom_files
    vol = to_canonical(phantom.hu, phantom.affine)
    classes = ClassMasks.from_label_volume(phantom.labels, totalseg_classes())
    structures = build_structures(classes, vol.spacing)
    a, b = project(vol, structures), project(vol, structures)
    for view in VIEWS:
        assert np.array_equal(a.views[view].pixels, b.views[view].pixels)
    # the table (a slab behind the patient) is gone: columns that show it without table
    # removal are black with it, and they lie behind the spine
    from extractors.ct.projection import ProjectionSettings

    kept = project(vol, {}, ProjectionSettings(remove_table=False)).views["lateral"].pixels
    lat = a.views["lateral"].pixels
    table_cols = np.nonzero((kept.max(axis=0) > 200) & (lat.max(axis=0) == 0))[0]
    assert table_cols.size >= 5
    assert table_cols.min() > a.masks["lateral"]["spine"].box[2]


# ---- geometry ------------------------------------------------------------------------------


def test_crop_interpolation_equals_full() -> None:
    rng = np.random.default_rng(0)
    axis = _Axis.of(50, 3.0, 1.0)
    full = np.zeros((50, 7))
    crop = rng.random((9, 7))
    full[20:29] = crop
    dense = axis.apply(full, 0)
    j0, part = apply_crop(axis, crop, 20, 0)
    assert np.allclose(dense[j0 : j0 + part.shape[0]], part)
    assert np.allclose(np.delete(dense, range(j0, j0 + part.shape[0]), axis=0), 0)


def test_mask_boxes_match_the_image_grid() -> None:
    """A cube of known extent projects to the box its millimetres say."""
    hu = np.full((40, 30, 20), -1000, dtype=np.int16)
    hu[5:35, 5:25, 2:18] = 40  # a body
    labels = np.zeros(hu.shape, dtype=np.uint8)
    labels[10:20, 8:12, 5:10] = 5  # liver class id
    affine = np.diag([-2.0, -2.0, 2.0, 1.0])  # canonical LPS grid, 2 mm voxels
    vol = to_canonical(hu, affine)
    classes = ClassMasks.from_label_volume(labels, totalseg_classes())
    proj = project(vol, build_structures(classes, vol.spacing))
    box = proj.masks["frontal"]["liver"].box
    # x: voxels 10..20 -> 20..40 mm; z: voxels 5..10 -> 10..20 mm from the bottom of 40 mm
    assert box == (20, 20, 40, 30)
    assert proj.masks["lateral"]["liver"].box == (16, 20, 24, 30)


def test_sparse_mask_union_and_minus() -> None:
    a = np.zeros((10, 10, 10), bool)
    a[1:3, 1:3, 1:3] = True
    b = np.zeros((10, 10, 10), bool)
    b[5:8, 5:9, 2:4] = True
    u = union([SparseMask.from_dense(a), SparseMask.from_dense(b)])
    assert np.array_equal(u.dense(), a | b)
    m = u.minus(SparseMask.from_dense(b))
    assert np.array_equal(m.dense(), a)
    assert SparseMask.from_dense(np.zeros((3, 3, 3))) is None


def test_taxonomy() -> None:
    assert len(STRUCTURES) >= 30
    names = {s.paxray for s in STRUCTURES if s.paxray}
    import json

    for sid in (
        "right_lung",
        "left_lung",
        "heart",
        "aorta",
        "aortic_arch",
        "descending_aorta",
        "trachea",
        "spine",
        "clavicle_left",
        "scapula_right",
        "sternum",
        "mediastinum",
        "right_hemidiaphragm",
        "left_hemidiaphragm",
        "ribs_left",
        "ribs_right",
        "lung_upper_lobe_right",
        "lung_middle_lobe_right",
        "lung_lower_lobe_left",
    ):
        assert sid in BY_ID
    assert "right hemidiaphragm" in names and "cardiomediastinum" in names
    assert region_structure("lung_base", "bilateral") == "lung_bases"
    assert sided_parts("lung_bases") == ("right_lung_base", "left_lung_base")
    assert region_structure("upper_lobe", "left") == "lung_upper_lobe_left"
    assert region_structure("lung_base", None) is None
    assert json.dumps([s.__dict__ for s in STRUCTURES])  # plain data
