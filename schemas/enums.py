"""Closed vocabularies shared by every stage: record families, task names, review states,
pipeline stages and quarantine reason codes. Validation rejects anything outside them."""

from __future__ import annotations

from enum import StrEnum


class RecordFamily(StrEnum):
    GROUNDING = "grounding"  # one image, question -> answer with boxes
    COT = "cot"  # one image, steps each tied to evidence boxes
    SEQUENCE = "sequence"  # 2 to 6 images, a MedSG-Bench task


class GroundingTask(StrEnum):
    PHRASE_GROUNDING = "phrase_grounding"  # "where is <finding>?" -> box(es)
    REFERRING = "referring"  # "what is in <box>?" -> finding
    MULTI_GROUNDING = "multi_grounding"  # every finding of the image with its boxes
    PRESENCE = "presence"  # "is there <finding>?" -> yes / no
    COUNTING = "counting"  # "how many <finding>?" -> n, with the boxes


class MedSGTask(StrEnum):
    """The 8 MedSG-Bench image-sequence grounding tasks, spelled as the benchmark does."""

    REGISTERED_DIFF = "Registered_Diff"
    NON_REGISTERED_DIFF = "Non_Registered_Diff"
    MULTI_VIEW = "multi_view"
    OBJECT_TRACKING = "object_tracking"
    CONCEPT = "concept"
    PATCH = "patch"
    CROSSMODAL = "crossmodal"
    REFERRING = "referring"


class CotStepKind(StrEnum):
    LOCATE = "locate"
    INSPECT = "inspect"
    MEASURE = "measure"
    COMPARE = "compare"
    CONCLUDE = "conclude"


class ReviewState(StrEnum):
    UNREVIEWED = "unreviewed"
    ACCEPTED = "accepted"
    CORRECTED = "corrected"
    REJECTED = "rejected"


class Split(StrEnum):
    TRAIN = "train"
    VALIDATION = "validation"
    TEST = "test"


class Stage(StrEnum):
    """Pipeline stages, in order; quarantine rows and stats name one of them."""

    PLAN = "plan"  # list the inputs a source names (CSV rows, files)
    READ = "read"  # decode the image or volume, render the published image
    FINDINGS = "findings"  # turn label rows into Findings on the rendered image
    RECORDS = "records"  # build instruction / CoT / sequence records
    VALIDATE = "validate"  # schema conformance and semantic rules
    REVIEW = "review"  # expert review in Label Studio (records an expert rejected)
    PUBLISH = "publish"  # shards, card, manifest


class Unit(StrEnum):
    """What a quarantine row sets aside."""

    ITEM = "item"  # an input image or volume, with every label row that names it
    LABEL_ROW = "label_row"  # one row of a label file
    RECORD = "record"  # one built record
    MENTION = "mention"  # one value a report mentions (an SUV with its slice), not a lesion label
    MASK = "mask"  # one 2D mask file, one label value of it, or its components under the floor


class Reason(StrEnum):
    """Quarantine reason codes. Each names one cause a user can act on."""

    FILE_MISSING = "file_missing"  # the label file names an image that is not on disk
    DUPLICATE_IMAGE_ID = "duplicate_image_id"  # two files claim one image id
    DUPLICATE_IMAGE = "duplicate_image"  # the same pixels under two ids (or two sources)
    DUPLICATE_ROW = "duplicate_row"  # the same label row twice
    BAD_CSV_ROW = "bad_csv_row"  # a row that cannot be parsed (fields, numbers, labels)
    LABEL_UNMAPPED = "label_unmapped"  # a label no map of schemas.vocab covers (named)
    BOX_OUT_OF_BOUNDS = "box_out_of_bounds"  # a source box outside the image
    BOX_INVALID = "box_invalid"  # inverted, empty or non-normalized box in a record
    DICOM_READ_ERROR = "dicom_read_error"  # not a readable DICOM file (truncated, corrupt)
    DICOM_PIXEL_ERROR = "dicom_pixel_error"  # header readable, pixel data is not
    IMAGE_DECODE_ERROR = "image_decode_error"  # a PNG/JPEG that does not decode
    UNSUPPORTED_IMAGE = "unsupported_image"  # decodes, but not a 2D grayscale/colour image
    NO_USABLE_LABELS = "no_usable_labels"  # an image whose every label row was quarantined
    PROCESSOR_ERROR = "processor_error"  # an unexpected exception while processing one item
    SCHEMA_VIOLATION = "schema_violation"  # a record that does not conform to its Arrow schema
    IMAGE_MISSING = "image_missing"  # a record references an image that does not exist
    IMAGE_UNDECODABLE = "image_undecodable"  # a record references an image that does not decode
    UNKNOWN_TASK = "unknown_task"  # task name outside the enumeration
    EMPTY_TEXT = "empty_text"  # question, answer or step text empty
    MISSING_LICENCE = "missing_licence"
    MISSING_SPLIT = "missing_split"
    PATH_OUTSIDE_ROOT = "path_outside_root"  # a path (symlinks followed) leaves the source root
    BURNED_IN_ANNOTATION = "burned_in_annotation"  # DICOM BurnedInAnnotation YES: text on pixels
    IMAGE_TOO_LARGE = "image_too_large"  # header dimensions over the pixel budget (not decoded)
    BOX_TOO_SMALL = "box_too_small"  # a source box under the minimum size in source pixels
    # Scene graphs and reports with images (Chest ImaGenome, OpenI, MIMIC-CXR)
    SCENE_GRAPH_MISSING = "scene_graph_missing"  # a split row whose scene graph file is absent
    SCENE_GRAPH_UNREADABLE = "scene_graph_unreadable"  # not JSON, or not a scene graph object
    REPORT_NO_IMAGE = "report_no_image"  # a report that names no image of its study
    NO_FRONTAL_VIEW = "no_frontal_view"  # a study with images, none of them frontal (PA/AP)
    NO_REPORT_FINDING = "no_report_finding"  # a report whose text states no finding at all
    RLE_OUT_OF_BOUNDS = "rle_out_of_bounds"  # a run-length mask code runs past its image's end
    SPLIT_CONFLICT = "split_conflict"  # a patient the source's own split puts on two sides
    # The image size a label file states (its boxes' pixel space) is not the image's.
    IMAGE_SIZE_MISMATCH = "image_size_mismatch"
    # CT volumes and their organ masks (extractors.volume with CT_INPUT / CT_MASKS)
    CT_READ_ERROR = "ct_read_error"  # not a readable CT volume (no DICOM slices, bad NIfTI)
    CT_GEOMETRY = "ct_geometry"  # tilted / oblique / non-axial grid, mixed slice orientations
    CT_SLICE_GAP = "ct_slice_gap"  # missing slices (a gap in positions), duplicate positions
    CT_TOO_FEW_SLICES = "ct_too_few_slices"  # a one-slice "volume"
    MASK_READ_ERROR = "mask_read_error"  # a mask file, folder or code that cannot be read
    # A mask whose shape or affine differs from the CT's, or a 2D mask code (COCO RLE size,
    # polygon image size) that is not its radiograph's size.
    MASK_MISMATCH = "mask_mismatch"
    MASK_EMPTY = "mask_empty"  # masks given, but no structure has a voxel
    MASK_COMPONENT_SMALL = "mask_component_small"  # components under min_component_pixels
    IMAGE_ID_UNKNOWN = "image_id_unknown"  # an annotation names an image id not in its file
    MASKS_UNAVAILABLE = "masks_unavailable"  # no masks given and no TotalSegmentator weights
    MASK_VALUE_UNKNOWN = "mask_value_unknown"  # a label map value the source's labels do not name
    VOLUME_GEOMETRY = "volume_geometry"  # an oblique / degenerate MR or other non-CT volume grid
    SEG_REFERENCE_MISSING = "seg_reference_missing"  # a DICOM-SEG's referenced images are absent
    SEG_UNSUPPORTED = "seg_unsupported"  # a DICOM-SEG highdicom reads but that is not on images
    REVIEW_REJECTED = "review_rejected"  # an expert rejected the record's weak label
    # PET/CT exams (extractors.pet, sources.pet.exam): whole exams, at the read stage.
    SUV_MISSING_TAG = "suv_missing_tag"  # a tag body-weight SUV needs is absent (weight, dose)
    SUV_ABSURD_VALUE = "suv_absurd_value"  # zero dose, weight 0, injection after the scan...
    SUV_UNSUPPORTED = "suv_unsupported"  # units / corrections SUV cannot be computed from
    SERIES_INCONSISTENT = "series_inconsistent"  # slices disagree: size, orientation, gaps
    GRID_MISMATCH = "grid_mismatch"  # CT, PET, segmentation or organ mask grids disagree
    VOLUME_READ_ERROR = "volume_read_error"  # a NIfTI volume that does not load
    REPORT_MISSING = "report_missing"  # an exam without its report text
    NO_SUV_MENTION = "no_suv_mention"  # a report that mentions no SUV value at all
    # PET/CT report mentions not turned into lesion labels (unit "mention", stage findings).
    MENTION_PRIOR = "mention_prior"  # a value of a prior exam, not of this one
    MENTION_REFERENCE = "mention_reference"  # background, blood pool, liver, physiologic...
    MENTION_PHYSIOLOGIC = (
        "mention_physiologic"  # the text calls the uptake physiologic / inflammatory
    )
    MENTION_NOT_SUVMAX = "mention_not_suvmax"  # SUVmean / SUVpeak: only maxima are matched
    MENTION_NO_SLICE = "mention_no_slice"  # no axial slice or image number
    MENTION_NOT_AXIAL = "mention_not_axial"  # only a coronal / sagittal slice number
    MENTION_SLICE_OUTSIDE = "mention_slice_outside"  # the slice number is not in the volume
    MENTION_SUV_LOW = "mention_suv_low"  # SUV below the labelling floor (2.5)
    MENTION_NO_MATCH = "mention_no_match"  # no hot spot on the slice with that SUVmax
    MENTION_AMBIGUOUS = "mention_ambiguous"  # several hot spots fit the mention
    MENTION_WRONG_SIDE = "mention_wrong_side"  # fitting hot spots only on the other side
    MENTION_LARGE_LOW_UPTAKE = "mention_large_low_uptake"  # over 50 slices, SUV < 5: organ
    MENTION_SEGMENTATION_FAILED = "mention_segmentation_failed"  # threshold over 0.9 SUVmax
    MENTION_SUV_MISMATCH = "mention_suv_mismatch"  # segmented maximum differs by over 0.2
    MENTION_NOT_ON_SLICE = "mention_not_on_slice"  # the mask is empty on the reported slice
