"""Lesion localisation (Huemann et al. steps 5-10 and their documented extensions) on small
volumes with known hot spots, and the boxes on the rendered images (radiological
convention: the patient's right on the image's left)."""

from __future__ import annotations

import numpy as np
import pytest

from extractors.pet.label import label_exam, query_for
from extractors.pet.localise import Lesion, LesionQuery, Rejection, localise
from extractors.pet.render import axial_box, axial_image, coronal_box, coronal_mip
from extractors.pet.report import extract_suv_mentions
from extractors.pet.volume import OrganMasks
from schemas.enums import Reason
from tests.pet_helpers import blob_volume

# canonical x runs from the patient's right to the left: x = 20 is the right, x = 44 the left
RIGHT, LEFT = 20, 44


def _lesion(volume, suv, z, side=None, anatomy=()) -> Lesion | Rejection:
    return localise(volume, LesionQuery(suv, (z,), side, anatomy))


def test_isolated_lesion_gives_its_mask_seed_and_boxes() -> None:
    volume = blob_volume(spots=[(RIGHT, 30, 30, 3, 8.0)])
    found = _lesion(volume, 8.0, 30)
    assert isinstance(found, Lesion)
    assert found.seed == (RIGHT, 30, 30)
    assert found.suv_max == pytest.approx(8.0, abs=0.01)
    mask = found.full_mask(volume.shape)
    ball = (np.indices(volume.shape) - np.array([RIGHT, 30, 30])[:, None, None, None]) ** 2
    truth = ball.sum(axis=0) <= 9
    dice = 2 * (mask & truth).sum() / (mask.sum() + truth.sum())
    assert dice > 0.8 and found.level == 0 and found.confidence > 0.9
    x0, x1, _, _, z0, z1 = found.bbox()
    assert (x0, x1, z0, z1) == (RIGHT - 3, RIGHT + 4, 27, 34)
    # on the images the patient's right is on the LEFT: the box sits in the left half
    box = axial_box(found.mask, found.offset, 30, volume.shape)
    assert box.x2 < 0.5 and box.to_pixels(64, 64)[0] == RIGHT - 3
    mip_box = coronal_box(found.mask, found.offset, volume.shape)
    assert mip_box.x2 < 0.5 and mip_box.y1 == pytest.approx((60 - 34) / 60)  # head up


def test_floor_outside_and_no_match() -> None:
    volume = blob_volume(spots=[(RIGHT, 30, 30, 3, 8.0)])
    assert _lesion(volume, 2.0, 30).reason == Reason.MENTION_SUV_LOW
    assert localise(volume, LesionQuery(8.0, (99,))).reason == Reason.MENTION_SLICE_OUTSIDE
    assert _lesion(volume, 6.0, 30).reason == Reason.MENTION_NO_MATCH  # no 6.0 there
    assert _lesion(volume, 8.0, 10).reason == Reason.MENTION_NO_MATCH  # not on slice 11


def test_two_equal_spots_are_ambiguous_unless_the_side_tells() -> None:
    volume = blob_volume(spots=[(RIGHT, 30, 30, 3, 6.0), (LEFT, 30, 30, 3, 6.0)])
    assert _lesion(volume, 6.0, 30).reason == Reason.MENTION_AMBIGUOUS
    right = _lesion(volume, 6.0, 30, "right")
    left = _lesion(volume, 6.0, 30, "left")
    assert right.seed[0] == RIGHT and right.resolved_by == "side"
    assert left.seed[0] == LEFT and left.confidence < 1.0


def test_wrong_side_is_rejected() -> None:
    volume = blob_volume(spots=[(RIGHT - 10, 30, 30, 3, 6.0)])
    assert _lesion(volume, 6.0, 30, "left").reason == Reason.MENTION_WRONG_SIDE
    # within 10 voxels of the midline either side is accepted (step 9)
    near = blob_volume(spots=[(27, 30, 30, 3, 6.0)])
    assert isinstance(_lesion(near, 6.0, 30, "left"), Lesion)


def test_the_named_organ_picks_between_equal_spots() -> None:
    labels = np.zeros((64, 64, 60), dtype=np.int16)
    labels[RIGHT - 5 : RIGHT + 6, 25:36, 25:36] = 1
    organs = OrganMasks(labels, {1: "liver"})
    volume = blob_volume(spots=[(RIGHT, 30, 30, 3, 6.0), (LEFT, 30, 30, 3, 6.0)], organs=organs)
    found = _lesion(volume, 6.0, 30, anatomy=("liver",))
    assert found.seed[0] == RIGHT and found.resolved_by == "organ"
    assert found.host_organ == "liver" and found.host_relation == "in"


def test_a_long_low_uptake_structure_is_an_organ() -> None:
    volume = blob_volume(shape=(64, 64, 90))
    volume.suv[28:36, 28:36, 10:80] = 3.0  # a 70-slice tube at SUV 3 (a ureter, a vessel)
    assert _lesion(volume, 3.0, 40).reason == Reason.MENTION_LARGE_LOW_UPTAKE


def test_a_lesion_against_a_hotter_organ_is_found_and_does_not_leak_into_it() -> None:
    from scipy import ndimage

    volume = blob_volume(spots=[(30, 30, 30, 3, 5.0)])
    volume.suv[35:50, 22:40, 22:40] = 20.0  # the bladder, a voxel from the lesion's edge
    volume.suv[:] = ndimage.gaussian_filter(volume.suv, 0.8)
    s = round(float(volume.suv[26:34, 26:34, 26:34].max()), 1)
    found = _lesion(volume, s, 30)
    assert isinstance(found, Lesion)
    assert found.level > 0  # merged with the bladder at the paper's threshold
    mask = found.full_mask(volume.shape)
    assert 50 < mask.sum() < 250 and not mask[35:50, 22:40, 22:40].any()
    assert volume.suv[mask].max() <= s + 0.1


def test_a_lesion_inside_a_warm_organ_stays_out_of_the_organ() -> None:
    volume = blob_volume(spots=[(32, 30, 30, 3, 4.5)], noise=0.05, seed=3)
    volume.suv[20:45, 18:42, 18:42] = np.maximum(volume.suv[20:45, 18:42, 18:42], 2.3)
    found = _lesion(volume, round(float(volume.suv[30:35, 28:33, 28:33].max()), 1), 30)
    assert isinstance(found, Lesion)
    assert found.full_mask(volume.shape).sum() < 300  # the lesion, not the liver


def test_label_exam_reports_every_mention() -> None:
    volume = blob_volume(spots=[(RIGHT, 30, 30, 3, 8.0), (LEFT, 30, 20, 3, 5.0)])
    report = (
        "Right hilar node SUV max 8.0 (image 31), previously 6.1. Left node with SUV max 5.0 on "
        "image 21. Liver SUVmean 2.0. Left lung nodule SUV max 3.3 on image 999."
    )
    labels = label_exam(volume, report)
    got = [
        (r.mention.suv, r.lesion is not None, r.rejection and r.rejection.reason)
        for r in labels.results
    ]
    assert got == [
        (8.0, True, None),
        (6.1, False, Reason.MENTION_PRIOR),
        (5.0, True, None),
        (2.0, False, Reason.MENTION_REFERENCE),
        (3.3, False, Reason.MENTION_SLICE_OUTSIDE),
    ]
    assert labels.liver_reference == 2.0 and labels.liver_source == "report"


def test_query_reasons_for_mentions_that_cannot_be_localised() -> None:
    volume = blob_volume()
    reasons = [
        query_for(m, volume).reason
        for m in extract_suv_mentions(
            "Left node SUVmean 4.0 (image 10). Right node SUV max 5.0. "
            "Coronal image 40: right node SUV max 6.0. Right node SUV max 2.1 (image 12). "
            "Focal cecal uptake SUVmax 6.2 (image 21), favoured physiologic."
        )
    ]
    assert reasons == [
        Reason.MENTION_NOT_SUVMAX,
        Reason.MENTION_NO_SLICE,
        Reason.MENTION_NOT_AXIAL,
        Reason.MENTION_SUV_LOW,
        Reason.MENTION_PHYSIOLOGIC,
    ]


def test_rendered_images_follow_radiological_convention() -> None:
    volume = blob_volume(spots=[(RIGHT, 30, 30, 3, 8.0)])
    axial = axial_image(volume, 30)
    mip = coronal_mip(volume)
    assert axial.ndim == 2 and min(axial.shape) >= 256  # PET alone: inverted grey
    w = axial.shape[1]
    left_half, right_half = axial[:, : w // 2], axial[:, w // 2 :]
    assert left_half.min() < right_half.min()  # the hot (dark) spot is on the image's left
    volume.ct = np.zeros(volume.shape, dtype=np.float32)
    assert axial_image(volume, 30).ndim == 3  # fused PET/CT is colour
    assert mip.shape[0] > mip.shape[1] * 0.9  # 60 slices x 4 mm tall, 64 x 4 mm wide


def test_ladder_components_in_a_region_starting_above_the_reported_slices():
    """A later ladder step's region can start above the first reported slice (its hot spots
    all start there): the components on the reported slices inside it are still found. The
    slab labelling this replaced indexed that slab from its end and found none."""
    from extractors.pet.localise import _level_components

    suv = np.zeros((40, 40, 40), dtype=np.float32)
    suv[10:16, 10:16, 12:21] = 5.0
    suv[12, 13, 15] = 6.0
    suv[30:33, 30:33, 0:5] = 9.0  # outside the region: not a component of it
    region = (slice(5, 30), slice(5, 30), slice(12, 30))
    found = _level_components(suv, 2.0, 10, 14, region)
    assert found == [((slice(10, 16), slice(10, 16), slice(12, 21)), 6.0, (12, 13, 15))]
    assert _level_components(suv, 2.0, 22, 25, region) == []
