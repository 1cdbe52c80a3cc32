"""The dataset card (README.md at the release root): YAML that declares every config, its
data files and features, so ``datasets.load_dataset(<release>, <config>)`` works offline and
streaming; and a body that says what is inside, where it came from, and how to load it.
Deterministic: no dates, counts in sorted order."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import yaml

from schemas.modality import image_noun
from shards.features import features_yaml
from shards.label_methods import LabelMethod, method_of
from shards.licences import Licence, licence_of
from shards.load_release import LOADER
from shards.writer import IMAGES_CONFIG, shard_pattern, size_line

SPLIT_ORDER = ("train", "validation", "test")


@dataclass
class CardData:
    name: str
    version: str
    code_version: str
    dataset_configs: dict[str, dict[str, int]]  # config -> split -> records
    shard_counts: dict[str, dict[str, int]]  # config -> split -> shards
    records_by_source_task: Counter = field(default_factory=Counter)  # (source, family, task)
    records_by_modality: Counter = field(default_factory=Counter)  # (modality, family)
    images_by_modality: Counter = field(default_factory=Counter)  # modality -> published images
    review_states: Counter = field(default_factory=Counter)
    licences_by_source: dict[str, str] = field(default_factory=dict)
    quarantine_by_reason: Counter = field(default_factory=Counter)  # (source, stage, reason)
    patients_by_split: Counter = field(default_factory=Counter)
    records_by_extractor: Counter = field(default_factory=Counter)  # (extractor, version)
    config_fingerprint: str = ""
    has_gallery: bool = False
    public_salt: bool = False  # the pseudonym salt is written in the config (a demo)
    shard_tag: str | None = None  # names the shard files (shards.writer.content_tag)
    review: dict | None = None  # review coverage (annotation.review), None when review is off
    licences: dict[str, Licence] = field(default_factory=dict)  # declared, by licence id
    label_methods: dict[str, LabelMethod] = field(default_factory=dict)  # by extractor id
    layout: str = "per_record"  # shards.images: once (an images config) or per_record
    release_size: dict | None = None  # shards.writer.release_size

    def image_splits(self) -> dict[str, int]:
        """Images per split of the ``images`` config (layout ``once``; else empty)."""
        if self.layout != "once" or not self.release_size:
            return {}
        return dict(self.release_size["images_by_split"])


def card_yaml(data: CardData) -> dict:
    configs, infos = [], []
    counts = dict(data.dataset_configs)
    if data.image_splits():
        counts[IMAGES_CONFIG] = data.image_splits()
    for config in sorted(counts):
        splits = [s for s in SPLIT_ORDER if counts[config].get(s)]
        configs.append(
            {
                "config_name": config,
                "data_files": [
                    {"split": s, "path": shard_pattern(config, s, data.shard_tag)} for s in splits
                ],
            }
        )
        infos.append({"config_name": config, "features": features_yaml(config, data.layout)})
    return {
        "pretty_name": data.name,
        "license": "other",
        "license_name": "mixed-source-licences",
        "license_link": "LICENSES.md",
        "annotations_creators": ["expert-generated", "machine-generated"],
        "source_datasets": sorted(data.licences_by_source),
        "task_categories": ["visual-question-answering", "object-detection"],
        "tags": ["medical", "visual-grounding", "radiology", "webdataset"],
        "configs": configs,
        "dataset_info": infos,
    }


def _table(header: list[str], rows: list[list[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def _pct(part: int, whole: int) -> str:
    return f"{100.0 * part / whole:.1f}%" if whole else "0%"


def _review_coverage(review: dict | None) -> str:
    """The review coverage paragraph: how many records experts checked, and what they found."""
    if review is None:
        return (
            "Expert review was not enabled for this release: every record carries its weak "
            "label as built (`json.provenance.review_state` is `unreviewed`).\n\n"
        )
    o = review["overall"]
    text = (
        "Experts review records in Label Studio (every record under the confidence threshold "
        f"plus a seeded random audit share): {review['reviewed_published']} of the "
        f"{review['published']} published records "
        f"({_pct(review['reviewed_published'], review['published'])}) carry a review "
        f"decision, and {review['rejected']} record(s) that experts rejected were left out."
    )
    if o["reviewed_records"]:
        iou = o["iou_weak_vs_corrected"]
        text += (
            f" Of {o['reviewed_records']} reviewed records, {o['accepted']} were accepted, "
            f"{o['corrected']} corrected and {o['rejected']} rejected"
        )
        if iou["n"]:
            text += (
                f"; the corrected boxes overlap the weak ones with a mean IoU of "
                f"{iou['mean']:.3f} ({_pct(round(iou['share_ge_0_5'] * iou['n']), iou['n'])}"
                " at IoU >= 0.5)"
            )
        text += "."
    return (
        text + " Per extractor and task figures, and how disagreeing reviews are resolved, are "
        "in `review_metrics.json`. Corrected records keep their weak boxes in "
        "`json.provenance.weak_boxes`.\n\n"
    )


def _loading(data: CardData, first_config: str) -> str:
    """The card's "Loading" section, for the release's layout."""
    if data.layout != "once":
        return (
            "## Loading\n\n```python\nfrom datasets import load_dataset\n\n"
            f'ds = load_dataset("<path to this folder>", "{first_config}", split="train")\n'
            'row = ds[0]  # row["png"]: PIL image, row["json"]: the record\n'
            'box = row["json"]["answer_boxes"][0]  # x1, y1, x2, y2 in [0, 1] of the image\n'
            'w, h = row["png"].size\n'
            'pixels = (box["x1"] * w, box["y1"] * h, box["x2"] * w, box["y2"] * h)\n```\n\n'
            "Streaming works too (`streaming=True`), as does "
            '`load_dataset("webdataset", data_files={"train": "<config>/train/*.tar"})`.'
        )
    return (
        "## Loading\n\n"
        "Layout `once`: the record configs (`grounding`, `cot`, `sequence_<N>img`) hold the "
        "record JSON only (`json`); each published image is stored once per split in the "
        "`images` config (key: the study id; `png`, and `json`: study_id, modality, view, "
        "width, height, sha256 of the PNG, licence). A record names its images by study id: "
        "`json.image.study_id`, or `json.images[i].study_id` for sequences.\n\n"
        f"One row per record with its image(s) attached: `{LOADER}` in this folder (it "
        "imports only `datasets`) joins the two.\n\n"
        '```python\nimport sys\n\nsys.path.insert(0, "<path to this folder>")\n'
        "from load_release import load_records\n\n"
        f'ds = load_records("<path to this folder>", "{first_config}", "train")\n'
        'row = ds[0]  # row["png"]: PIL image (img0.png, img1.png ... for sequences)\n'
        'box = row["json"]["answer_boxes"][0]  # x1, y1, x2, y2 in [0, 1] of the image\n'
        'w, h = row["png"].size\n'
        'pixels = (box["x1"] * w, box["y1"] * h, box["x2"] * w, box["y2"] * h)\n\n'
        f'for row in load_records("<path to this folder>", "{first_config}", "train", '
        "streaming=True):\n"
        "    ...  # the split's images are held in memory, the records stream\n```\n\n"
        "The same join by hand:\n\n"
        "```python\nimport datasets\nfrom datasets import load_dataset\n\n"
        f'records = load_dataset("<path>", "{first_config}", split="train")\n'
        'images = load_dataset("<path>", "images", split="train").cast_column(\n'
        '    "png", datasets.Image(decode=False)\n)\n'
        'index = {meta["study_id"]: i for i, meta in enumerate(images["json"])}\n'
        'features = datasets.Features({"png": datasets.Image(), '
        '"json": records.features["json"]})\n'
        "ds = records.map(\n"
        '    lambda row: {"png": images[index[row["json"]["image"]["study_id"]]]["png"]},\n'
        "    features=features,\n)\n```\n\n"
        'Each config also loads on its own (`load_dataset("<path>", "images", split="train")`, '
        "streaming too), as does "
        '`load_dataset("webdataset", data_files={"train": "<config>/train/*.tar"})`.'
    )


def render_card(data: CardData) -> str:
    front = yaml.safe_dump(card_yaml(data), sort_keys=False, allow_unicode=True, width=1000)
    first_config = sorted(data.dataset_configs)[0] if data.dataset_configs else "grounding"
    split_rows = [
        [c, s, n, data.shard_counts.get(c, {}).get(s, 0)]
        for c in sorted(data.dataset_configs)
        for s in SPLIT_ORDER
        if (n := data.dataset_configs[c].get(s))
    ]
    image_rows = [
        [IMAGES_CONFIG, s, n, data.shard_counts.get(IMAGES_CONFIG, {}).get(s, 0)]
        for s in SPLIT_ORDER
        if (n := data.image_splits().get(s))
    ]
    families = sorted({fam for _, fam in data.records_by_modality})
    modality_rows = [
        [
            m,
            image_noun(m),
            data.images_by_modality.get(m, 0),
            *(data.records_by_modality.get((m, fam), 0) for fam in families),
        ]
        for m in sorted({m for m, _ in data.records_by_modality} | set(data.images_by_modality))
    ]
    task_rows = [
        [src, fam, task, n] for (src, fam, task), n in sorted(data.records_by_source_task.items())
    ]
    quarantine_rows = [
        [src, st, r, n] for (src, st, r), n in sorted(data.quarantine_by_reason.items())
    ]
    licence_rows = []
    for source, lid in sorted(data.licences_by_source.items()):
        lic = licence_of(lid, data.licences)
        link = f"[{lic.id}]({lic.link})" if lic.link else lic.id
        licence_rows.append([source, link, lic.name, lic.citation or "-"])
    gallery = (
        "![Preview: sampled records with their boxes](gallery.png)\n\n"
        "Sampled records: one per image modality first, then one per source and task; boxes "
        "drawn and named."
        if data.has_gallery
        else ""
    )
    sections = [
        f"---\n{front}---",
        f"# {data.name}",
        "Medical visual grounding records (questions and answers tied to boxes on images), "
        f"built by the `build-medsg` pipeline (code {data.code_version}, config version "
        f"{data.version}). Every record says where it came from, which extractor made its "
        "label and how far to trust it (`json.provenance`).",
        *([gallery] if gallery else []),
        "## Configs and splits\n\nSplits are by patient (a hash of the pseudonymous patient id): "
        "no patient appears in two splits. Patients per split: "
        + ", ".join(f"{s} {data.patients_by_split.get(s, 0)}" for s in SPLIT_ORDER)
        + ".\n\n"
        + _table(["config", "split", "records", "shards"], split_rows)
        + (
            "\n\nImages (layout `once`): each published image once per split in the `images` "
            "config, which the records name by study id.\n\n"
            + _table(["config", "split", "images", "shards"], image_rows)
            if image_rows
            else ""
        )
        + (f"\n\nRelease size: {size_line(data.release_size)}." if data.release_size else ""),
        "## Modalities\n\nPublished images (source images and the copies derived from them "
        "for the sequence tasks) and records by the modality of the record's (first) image "
        "(`json.image.modality`, `json.images[].modality`).\n\n"
        + _table(["modality", "what", "images", *families], modality_rows),
        "## Records by source and task\n\n"
        + _table(["source", "family", "task", "records"], task_rows),
        "## Label sources\n\n"
        + _table(
            ["extractor", "version", "kind", "records", "what", "measured accuracy"],
            [
                [ex, ver, (m := method_of(ex, data.label_methods)).kind, n, m.what, m.accuracy]
                for (ex, ver), n in sorted(data.records_by_extractor.items())
            ],
        ),
        "## Review state\n\n"
        + _review_coverage(data.review)
        + _table(["state", "records"], [[k, v] for k, v in sorted(data.review_states.items())]),
        "## What was left out\n\nEvery input ends as records or as a quarantine row with a "
        "stage and a reason code (the rows themselves stay with the builder; they name local "
        "files).\n\n"
        + (
            _table(["source", "stage", "reason", "rows"], quarantine_rows)
            if quarantine_rows
            else "Nothing."
        ),
        _loading(data, first_config),
        "## Conventions\n\n"
        "- Boxes: `[x1, y1, x2, y2]` floats in [0, 1] of the published image, origin top-left, "
        "x right, y down. Question and answer text write boxes as 0-1000 integers "
        "`[x1, y1, x2, y2]`.\n"
        "- Images: 8-bit PNG re-encoded from pixels (no source metadata): grayscale for X-ray, "
        "CT, MR and PET, RGB for the colour modalities (endoscopy, dermoscopy, fundus, "
        "ultrasound, microscopy). Radiographs are shown as acquired: the patient's right on "
        "the image's left; volume slices in the radiological convention.\n"
        "- Ids: records, studies and patients carry pseudonymous ids; no name, id, date or "
        "other header value of the inputs is published."
        + (
            " The pseudonym salt of this build is public (written in its config, as in the "
            "demo): its pseudonyms are not secret, and those of public or guessable source ids "
            "can be reversed."
            if data.public_salt
            else ""
        ),
        "## How it was built\n\n"
        "`medsg build` (Prefect flow `build-medsg`): each source's label files are planned into "
        "items; images are decoded and re-encoded as 8-bit PNG; label rows become findings on "
        "the published image (boxes checked against the image); records are built from seeded "
        "template banks, validated against the Arrow schemas and semantic rules, deduplicated "
        "by pixels, and written as WebDataset shards in record-id order. Same inputs and "
        f"config, same bytes. Config fingerprint `{data.config_fingerprint}`, code "
        f"`{data.code_version}`.",
        "## Known limitations\n\n"
        "- NIH ChestX-ray14's box list covers only boxed findings: an NIH image without a box "
        "for a finding is not evidence that the finding is absent, so NIH images give no "
        '"No" answers.\n'
        "- Splits are by a hash of the patient id, so split sizes vary around 80/10/10 on "
        "small releases.\n"
        "- Synthetic radiographs are simple phantoms: useful to test pipelines and models, not "
        "to learn radiology.\n"
        "- Records are unreviewed unless their review state says otherwise.",
        "## Licences and citations\n\nEach record carries its source's licence id in "
        "`json.provenance.licence`; use each part under its own terms (details in "
        "[LICENSES.md](LICENSES.md)).\n\n"
        + _table(["source", "licence", "terms", "cite"], licence_rows),
    ]
    return "\n\n".join(sections) + "\n"
