"""``croissant.json``: the release described in Croissant 1.1 (MLCommons) with its
Responsible-AI fields, so dataset venues and tools can read what it is without our code.

- **distribution**: every shard (one FileObject per config, split and shard, with sha256),
  a FileSet per config and image field over the shards' PNG members, and one JSON Lines
  file per config, ``croissant/<config>.jsonl``, whose lines are byte for byte the JSON
  members of the shards in shard order. The JSON Lines copy exists because Croissant
  readers (mlcroissant 1.1) extract tar members as raw bytes and cannot parse JSON inside
  an archive; a test checks the copy against the shards.
- **recordSet** per config: ``__key__`` (the WebDataset key: the record id, or the study
  id in the ``images`` config), ``json`` with a sub-field per field, types from the declared
  Hugging Face features (``shards.features``). Layout ``once`` (``shards.writer``): the
  ``images`` record set joins its PNG on the key (``images-png``); a one-image record
  config's image is joined from ``images-png`` on ``json.image.study_id`` in a record set
  ``<config>-png`` (key, study_id, image), since mlcroissant empties the joined column in
  the record's JSON; sequence records name their images in ``json.images``. Layout
  ``per_record``: the config's first image joined on the key; further images of a sequence
  config are record sets ``<config>-<field>`` of their own (key and image), because
  mlcroissant performs one join per record set.
- licence (each source's), citation (the release's BibTeX; every source's in ``citation``),
  creator (the pipeline), the sources it is derived from (``isBasedOn``, with licence and
  citation), and the RAI fields: data collection, annotation process (weak labelling and
  review), known biases and limitations, personal and sensitive information, preprocessing,
  intended use.

Deterministic: no dates, everything sorted; same release, same bytes.
"""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import datasets

from shards.card import SPLIT_ORDER, CardData
from shards.features import family_and_images, features_for
from shards.label_methods import method_of
from shards.licences import licence_of
from shards.manifest import file_sha256
from shards.writer import IMAGES_CONFIG, image_fields

CROISSANT = "croissant.json"
INDEX_DIR = "croissant"
CONFORMS_TO = "http://mlcommons.org/croissant/1.1"

CONTEXT = {
    "@language": "en",
    "@vocab": "https://schema.org/",
    "citeAs": "cr:citeAs",
    "column": "cr:column",
    "conformsTo": "dct:conformsTo",
    "containedIn": "cr:containedIn",
    "cr": "http://mlcommons.org/croissant/",
    "rai": "http://mlcommons.org/croissant/RAI/",
    "data": {"@id": "cr:data", "@type": "@json"},
    "dataType": {"@id": "cr:dataType", "@type": "@vocab"},
    "dct": "http://purl.org/dc/terms/",
    "examples": {"@id": "cr:examples", "@type": "@json"},
    "extract": "cr:extract",
    "field": "cr:field",
    "fileProperty": "cr:fileProperty",
    "fileObject": "cr:fileObject",
    "fileSet": "cr:fileSet",
    "format": "cr:format",
    "includes": "cr:includes",
    "isArray": "cr:isArray",
    "isLiveDataset": "cr:isLiveDataset",
    "jsonPath": "cr:jsonPath",
    "key": "cr:key",
    "md5": "cr:md5",
    "parentField": "cr:parentField",
    "path": "cr:path",
    "recordSet": "cr:recordSet",
    "references": "cr:references",
    "regex": "cr:regex",
    "repeated": "cr:repeated",
    "replace": "cr:replace",
    "samplingRate": "cr:samplingRate",
    "sc": "https://schema.org/",
    "separator": "cr:separator",
    "source": "cr:source",
    "subField": "cr:subField",
    "transform": "cr:transform",
    "equivalentProperty": "cr:equivalentProperty",
}

_TYPES = {
    "string": "sc:Text",
    "bool": "sc:Boolean",
    "float16": "sc:Float",
    "float32": "sc:Float",
    "float64": "sc:Float",
    "int8": "sc:Integer",
    "int16": "sc:Integer",
    "int32": "sc:Integer",
    "int64": "sc:Integer",
    "uint8": "sc:Integer",
}
KEY_REGEX = "^([^.]+)"  # WebDataset key: the member name up to its first dot


def index_path(config: str) -> str:
    return f"{INDEX_DIR}/{config}.jsonl"


def _shards(root: Path, config: str) -> list[str]:
    """The config's shard files under root, in split then name order."""
    out = []
    for split in SPLIT_ORDER:
        out += sorted(p.relative_to(root).as_posix() for p in (root / config / split).glob("*.tar"))
    return out


def write_index(root: Path, config: str) -> str:
    """``croissant/<config>.jsonl``: the JSON member of every sample, one per line, in shard
    order (exact bytes), streamed from the shards. Returns its path relative to root."""
    target = root / index_path(config)
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as out:  # one sample's JSON held at a time
        for rel in _shards(root, config):
            with tarfile.open(root / rel) as tar:
                for member in tar:
                    if member.isfile() and member.name.endswith(".json"):
                        out.write(tar.extractfile(member).read() + b"\n")  # type: ignore[union-attr]
    return index_path(config)


# ---- fields from the declared features ----------------------------------------------------
def _leaf_source(index_id: str, column: str, path: list[str]) -> dict:
    source: dict = {"fileObject": {"@id": index_id}, "extract": {"column": column}}
    if path:
        source["transform"] = [{"jsonPath": p} for p in path]
    return source


def _fields(feature, prefix: str, index_id: str, column: str | None, path: list[str]) -> list:
    """Croissant fields of a features dict: sub-fields for structs, ``isArray`` for lists."""
    out = []
    for name, value in feature.items():
        fid = f"{prefix}/{name}"
        col, sub = (name, []) if column is None else (column, [*path, name])
        out.append(_field(value, fid, name, index_id, col, sub))
    return out


def _field(value, fid: str, name: str, index_id: str, column: str, path: list[str]) -> dict:
    node: dict = {"@type": "cr:Field", "@id": fid, "name": name}
    if isinstance(value, datasets.List | datasets.Sequence | list):
        inner = value.feature if not isinstance(value, list) else value[0]
        node["isArray"] = True
        if isinstance(inner, dict):
            node["dataType"] = "sc:StructuredValue"
            node["subField"] = _fields(inner, fid, index_id, column, path)
        else:
            node["dataType"] = _TYPES[inner.dtype]
            node["source"] = _leaf_source(index_id, column, path)
    elif isinstance(value, dict):
        node["dataType"] = "sc:StructuredValue"
        node["subField"] = _fields(value, fid, index_id, column, path)
    else:
        node["dataType"] = _TYPES[value.dtype]
        node["source"] = _leaf_source(index_id, column, path)
    return node


def _key_field(fid: str, file_set: str) -> dict:
    return {
        "@type": "cr:Field",
        "@id": fid,
        "name": fid.rsplit("/", 1)[1],
        "dataType": "sc:Text",
        "source": {
            "fileSet": {"@id": file_set},
            "extract": {"fileProperty": "filename"},
            "transform": {"regex": KEY_REGEX},
        },
    }


def _image_set(config: str, field: str) -> tuple[dict, dict]:
    """(FileSet of one image field's members, record set key + image of it)."""
    fs_id = f"{config}-{field}-files"
    rs_id = f"{config}-{field}"
    file_set = {
        "@type": "cr:FileSet",
        "@id": fs_id,
        "name": fs_id,
        "description": f"The {field} member of every {config} sample.",
        "containedIn": [],  # filled with the config's shards
        "includes": f"*.{field}",
        "encodingFormat": "image/png",
    }
    record_set = {
        "@type": "cr:RecordSet",
        "@id": rs_id,
        "name": rs_id,
        "description": f"{config}: image {field} of each record, by record key.",
        "key": {"@id": f"{rs_id}/key"},
        "field": [
            _key_field(f"{rs_id}/key", fs_id),
            {
                "@type": "cr:Field",
                "@id": f"{rs_id}/image",
                "name": "image",
                "dataType": "sc:ImageObject",
                "source": {"fileSet": {"@id": fs_id}, "extract": {"fileProperty": "content"}},
            },
        ],
    }
    return file_set, record_set


def _shard_objects(root: Path, config: str, shards: list[str], what: str) -> list[dict]:
    """The FileObjects of a config's shards and of its JSON Lines copy."""
    dist: list[dict] = [
        {
            "@type": "cr:FileObject",
            "@id": rel,
            "name": rel,
            "description": f"WebDataset shard of {config}, split {rel.split('/')[1]}.",
            "contentUrl": rel,
            "encodingFormat": "application/x-tar",
            "sha256": file_sha256(root / rel),
        }
        for rel in shards
    ]
    index = index_path(config)
    dist.append(
        {
            "@type": "cr:FileObject",
            "@id": index,
            "name": index,
            "description": f"The JSON member of every {config} sample{what}, one per line, in "
            "shard order (the same bytes as in the shards).",
            "contentUrl": index,
            "encodingFormat": "application/jsonlines",
            "sha256": file_sha256(root / index),
        }
    )
    return dist


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{s} {counts[s]}" for s in SPLIT_ORDER if counts.get(s))


def _json_field(config: str, features, index: str, what: str) -> dict:
    return {
        "@type": "cr:Field",
        "@id": f"{config}/json",
        "name": "json",
        "description": f"{what}, as in the shard's .json member.",
        "dataType": "sc:StructuredValue",
        "subField": _fields(features["json"], f"{config}/json", index, None, []),
    }


def _image_from(fid: str, name: str, image_set: dict) -> dict:
    return {
        "@type": "cr:Field",
        "@id": fid,
        "name": name,
        "dataType": "sc:ImageObject",
        "source": {"field": {"@id": image_set["field"][1]["@id"]}},
    }


def config_parts(
    root: Path, config: str, counts: dict[str, int], layout: str = "per_record"
) -> tuple[list, list]:
    """(distribution entries, record sets) of one config. In layout ``once`` a record
    config's record set joins its (first) image from the ``images`` config on the study id
    (``json.image.study_id``; sequences name theirs in ``json.images``); the ``images``
    config is described by ``images_parts``."""
    if config == IMAGES_CONFIG:
        return images_parts(root, counts)
    shards = _shards(root, config)
    dist = _shard_objects(root, config, shards, "")
    index = index_path(config)
    _, n_images = family_and_images(config)
    features = features_for(config, layout)
    key = _leaf_source(index, "record_id", [])
    if layout == "once":
        main = {
            "@type": "cr:RecordSet",
            "@id": config,
            "name": config,
            "description": f"{config} records ({_counts(counts)}): the WebDataset key and the "
            "record JSON (fields as the dataset card declares); the images are in the images "
            "config, by study id ("
            + (
                f"json.image.study_id, joined in record set {config}-png"
                if n_images == 1
                else "json.images[].study_id"
            )
            + ").",
            "key": {"@id": f"{config}/__key__"},
            "field": [
                {**_key_field(f"{config}/__key__", f"{config}-files"), "source": key},
                _json_field(config, features, index, "The record (schemas.records)"),
            ],
        }
        return dist, ([_joined_image(config, index)] if n_images == 1 else []) + [main]
    record_sets: list[dict] = []
    image_sets: list[dict] = []
    for field in image_fields(n_images):
        file_set, record_set = _image_set(config, field)
        file_set["containedIn"] = [{"@id": rel} for rel in shards]
        dist.append(file_set)
        image_sets.append(record_set)
    first = image_sets[0]
    main = {
        "@type": "cr:RecordSet",
        "@id": config,
        "name": config,
        "description": f"{config} records ({_counts(counts)}): the WebDataset key, the record "
        f"JSON (fields as the dataset card declares) and image {image_fields(n_images)[0]}"
        + (
            f"; images {', '.join(image_fields(n_images)[1:])} are in record sets "
            + ", ".join(r["@id"] for r in image_sets[1:])
            if n_images > 1
            else ""
        )
        + ".",
        "key": {"@id": f"{config}/__key__"},
        "field": [
            {
                **_key_field(f"{config}/__key__", first["field"][0]["source"]["fileSet"]["@id"]),
                "source": key,
                "references": {"field": {"@id": first["field"][0]["@id"]}},
            },
            _image_from(f"{config}/{image_fields(n_images)[0]}", image_fields(n_images)[0], first),
            _json_field(config, features, index, "The record (schemas.records)"),
        ],
    }
    record_sets += [*image_sets, main]
    return dist, record_sets


def _joined_image(config: str, index: str) -> dict:
    """Record set ``<config>-png`` (layout ``once``): each record's key and its image,
    joined from the images config on ``json.image.study_id`` (a record set of its own:
    mlcroissant leaves the joined column empty in the record's JSON)."""
    image_set = _image_set(IMAGES_CONFIG, "png")[1]
    rs_id = f"{config}-png"
    return {
        "@type": "cr:RecordSet",
        "@id": rs_id,
        "name": rs_id,
        "description": f"{config}: the image of each record (from the images config), by "
        "record key.",
        "key": {"@id": f"{rs_id}/key"},
        "field": [
            {
                **_key_field(f"{rs_id}/key", f"{config}-files"),
                "source": _leaf_source(index, "record_id", []),
            },
            {
                "@type": "cr:Field",
                "@id": f"{rs_id}/study_id",
                "name": "study_id",
                "description": "json.image.study_id: the key of the image in the images config.",
                "dataType": "sc:Text",
                "source": _leaf_source(index, "image", ["study_id"]),
                "references": {"field": {"@id": image_set["field"][0]["@id"]}},
            },
            _image_from(f"{rs_id}/image", "image", image_set),
        ],
    }


def images_parts(root: Path, counts: dict[str, int]) -> tuple[list, list]:
    """(distribution entries, record sets) of the ``images`` config: each published image
    once per split, key its study id, ``png`` and its metadata ``json``."""
    shards = _shards(root, IMAGES_CONFIG)
    dist = _shard_objects(root, IMAGES_CONFIG, shards, " (the image's metadata)")
    index = index_path(IMAGES_CONFIG)
    file_set, image_set = _image_set(IMAGES_CONFIG, "png")
    file_set["containedIn"] = [{"@id": rel} for rel in shards]
    dist.append(file_set)
    main = {
        "@type": "cr:RecordSet",
        "@id": IMAGES_CONFIG,
        "name": IMAGES_CONFIG,
        "description": f"Published images ({_counts(counts)}), each once per split: the key "
        "(the study id that records name), the PNG and its metadata.",
        "key": {"@id": f"{IMAGES_CONFIG}/__key__"},
        "field": [
            {
                **_key_field(f"{IMAGES_CONFIG}/__key__", file_set["@id"]),
                "source": _leaf_source(index, "study_id", []),
                "references": {"field": {"@id": image_set["field"][0]["@id"]}},
            },
            _image_from(f"{IMAGES_CONFIG}/png", "png", image_set),
            _json_field(
                IMAGES_CONFIG,
                features_for(IMAGES_CONFIG),
                index,
                "The image's metadata (study_id, modality, view, size, sha256, licence)",
            ),
        ],
    }
    return dist, [image_set, main]


# ---- the dataset's own description -------------------------------------------------------
def _citation(data: CardData) -> str:
    key = "".join(c for c in data.name if c.isalnum()) or "medsg"
    return (
        f"@misc{{{key},\n  title = {{{data.name}: medical visual grounding records}},\n"
        f"  note = {{Built by the medsg pipeline (build-medsg), config version {data.version}, "
        f"code {data.code_version}. Cite each source dataset too.}}\n}}"
    )


def rai_fields(data: CardData) -> dict:
    """Croissant Responsible-AI properties, from what the build knows about itself."""
    sources = sorted(data.licences_by_source)
    methods = sorted({ex for ex, _ in data.records_by_extractor})
    kinds = {ex: method_of(ex, data.label_methods) for ex in methods}
    weak = [ex for ex in methods if kinds[ex].kind == "weak"]
    left_out = sum(data.quarantine_by_reason.values())
    review = data.review
    if review is None:
        review_text = (
            "Expert review was not enabled for this release: every record carries its weak "
            "label as built (json.provenance.review_state is 'unreviewed')."
        )
    else:
        review_text = (
            f"Experts reviewed records in Label Studio (all under the confidence threshold "
            f"plus a seeded random audit share): {review['reviewed_published']} of "
            f"{review['published']} published records carry a review decision "
            "(accepted, corrected with new boxes, or rejected and left out); "
            "review_metrics.json has the rates and agreement."
        )
    return {
        "rai:dataCollection": (
            "No new data was collected. Records are derived from public datasets read from "
            f"disk ({', '.join(sources)}) and from images the pipeline generates itself "
            "(synthetic radiographs, CT and PET/CT phantoms). Images are decoded and "
            "re-encoded from pixels as 8-bit PNG."
        ),
        "rai:dataCollectionType": ["Secondary data analysis", "Synthetic data generation"],
        "rai:dataPreprocessingProtocol": [
            "DICOM and PNG decoded to 8-bit grayscale; CT volumes reoriented to one canonical "
            "orientation and projected to radiographs; PET as coronal MIPs and axial slices.",
            "Boxes converted to [x1, y1, x2, y2] in [0, 1] of the published image and checked "
            "against it; bad inputs set aside as quarantine rows with a stage and a reason "
            f"({left_out} rows in this build; counts per reason in the card).",
            "Images with the same pixels as an earlier one are set aside; splits are by a "
            "hash of the pseudonymous patient id.",
        ],
        "rai:dataAnnotationProtocol": (
            "Labels are expert boxes shipped with the sources, generated truth for "
            "synthetic images, or weak labels from rule-based and model-based extractors"
            + (f" ({', '.join(weak)})" if weak else "")
            + "; each record names its extractor, version and confidence in "
            "json.provenance, and the card's 'Label sources' table says how each was measured. "
            "Question and answer text comes from seeded template banks. " + review_text
        ),
        "rai:dataAnnotationPlatform": "Label Studio (expert review, when enabled)",
        "rai:annotationsPerItem": "One label per record; review decisions from one or more experts "
        "are merged by a fixed rule (any rejection rejects, else any correction corrects).",
        "rai:dataBiases": [
            "Sources are chest radiograph, CT and PET/CT collections from a few institutions; "
            "patient populations, scanners and findings follow those collections.",
            "NIH ChestX-ray14 boxes cover only boxed findings, so its images give no 'No' "
            "answers; RSNA negatives do.",
            "Synthetic images are simple phantoms and weigh in the counts: see the card's "
            "records by source and task.",
        ],
        "rai:dataLimitations": [
            "Weak labels carry the errors of their extractors; records are unreviewed unless "
            "their review state says otherwise.",
            "Split sizes vary around the configured shares on small releases (patient-level "
            "hash split).",
            "Not for clinical use: a dataset for training and evaluating grounding models.",
        ],
        "rai:personalSensitiveInformation": (
            "Medical images of real patients from public, de-identified datasets. No DICOM "
            "header value, input id, name or date is published: images are re-encoded from "
            "pixels, patients, studies and items carry keyed HMAC pseudonyms, report sentences "
            "are redacted (dates, names, ids) before they reach a record, and reviewers are "
            "pseudonymous. Burned-in text in source pixels is not removed."
        ),
        "rai:dataUseCases": [
            "Training and evaluating medical visual grounding and grounded VQA models "
            "(phrase grounding, referring, multi-image MedSG-Bench tasks, chains of thought)."
        ],
        "rai:dataSocialImpact": "Research on grounded medical VLMs; outputs must not be used "
        "for diagnosis.",
        "rai:dataReleaseMaintenancePlan": "Rebuilt from the same inputs and config gives the "
        "same bytes; a new build is a new dataset version (manifest.json).",
    }


def _all_configs(data: CardData) -> dict[str, dict[str, int]]:
    """Record configs and, in layout ``once``, the ``images`` config: split -> count."""
    configs = dict(data.dataset_configs)
    if data.image_splits():
        configs[IMAGES_CONFIG] = data.image_splits()
    return configs


def croissant_metadata(root: Path, data: CardData) -> dict:
    """The JSON-LD document for the release staged (or published) at ``root``."""
    distribution: list[dict] = []
    record_sets: list[dict] = []
    for config, counts in sorted(_all_configs(data).items()):
        dist, sets = config_parts(root, config, counts, data.layout)
        distribution += dist
        record_sets += sets
    licences = [
        licence_of(lid, data.licences) for lid in sorted(set(data.licences_by_source.values()))
    ]
    return {
        "@context": CONTEXT,
        "@type": "sc:Dataset",
        "name": data.name,
        "description": (
            "Medical visual grounding records (questions and answers tied to boxes on "
            "images) built by the medsg pipeline: "
            + ", ".join(f"{c} {sum(v.values())}" for c, v in sorted(data.dataset_configs.items()))
            + " records. Boxes are [x1, y1, x2, y2] in [0, 1] of the image. README.md is the "
            "dataset card; LICENSES.md the terms of each source."
        ),
        "conformsTo": CONFORMS_TO,
        "version": data.version,
        "url": "README.md",
        "keywords": ["medical", "visual grounding", "radiology", "webdataset"],
        "license": [lic.link or lic.id for lic in licences],
        "creator": [{"@type": "sc:Organization", "name": "medsg pipeline (build-medsg)"}],
        "isBasedOn": [
            {
                "@type": "sc:Dataset",
                "name": source,
                "license": licence_of(lid, data.licences).link or lid,
                **(
                    {"citation": licence_of(lid, data.licences).citation}
                    if licence_of(lid, data.licences).citation
                    else {}
                ),
            }
            for source, lid in sorted(data.licences_by_source.items())
        ],
        "citeAs": _citation(data),
        "citation": [lic.citation for lic in licences if lic.citation],
        "isLiveDataset": False,
        **rai_fields(data),
        "distribution": distribution,
        "recordSet": record_sets,
    }


def write_croissant(root: Path, data: CardData) -> list[str]:
    """Write the JSON Lines copies and ``croissant.json`` under root (a staging folder);
    returns the paths written, relative to root."""
    written = [write_index(root, config) for config in sorted(_all_configs(data))]
    doc = croissant_metadata(root, data)
    (root / CROISSANT).write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n")
    return [*written, CROISSANT]
