"""Atomic publishing of a release folder: shards, card and manifest are assembled in a
staging folder, then moved into place; the manifest goes last, so a release whose manifest
verifies is complete, and a crash never leaves a mix that verifies."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from shards.manifest import MANIFEST, build_manifest, manifest_bytes
from shards.writer import PARTIAL_SUFFIX

CARD = "README.md"


def reset_staging(staging: Path) -> None:
    """An empty staging folder (whatever a crashed run left there is discarded)."""
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + PARTIAL_SUFFIX)
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _top_level(files: list[str]) -> set[str]:
    return {f.split("/", 1)[0] for f in files}


def published_files(out: Path) -> list[str]:
    """Files the current manifest of ``out`` lists (empty when there is none)."""
    try:
        return [e["path"] for e in json.loads((out / MANIFEST).read_text())["files"]]
    except (OSError, ValueError, KeyError):
        return []


def publish(
    staging: Path, out: Path, *, card: str, name: str, config_version: str, trash: Path
) -> dict:
    """Move the staged release into ``out`` and return its manifest. ``staging`` holds the
    config folders; the card and manifest are written here. Entries of the previous release
    that the new one lacks are removed; nothing outside the release (``_build``) is touched."""
    (staging / CARD).write_text(card, encoding="utf-8")
    files = sorted(
        p.relative_to(staging).as_posix()
        for p in staging.rglob("*")
        if p.is_file() and not p.name.endswith(PARTIAL_SUFFIX)
    )
    manifest = build_manifest(staging, files, name=name, config_version=config_version)
    new_top = _top_level(files)
    old_top = _top_level(published_files(out)) | {CARD}

    out.mkdir(parents=True, exist_ok=True)
    if trash.exists():
        shutil.rmtree(trash)
    trash.mkdir(parents=True)
    manifest_path = out / MANIFEST
    if manifest_path.exists():  # from here until the new manifest lands, nothing verifies
        os.replace(manifest_path, trash / MANIFEST)
    for entry in sorted(old_top | new_top):
        target = out / entry
        if target.exists():
            os.replace(target, trash / entry)
        if entry in new_top:
            os.replace(staging / entry, target)
    _write_atomic(manifest_path, manifest_bytes(manifest))
    shutil.rmtree(trash)
    return manifest


def _replace_section(card: str, key: str, body: str) -> str:
    start, end = f"<!-- medsg:{key} -->", f"<!-- /medsg:{key} -->"
    block = f"{start}\n{body.strip()}\n{end}"
    if start in card and end in card:
        head, rest = card.split(start, 1)
        return head + block + rest.split(end, 1)[1]
    return card.rstrip("\n") + "\n\n" + block + "\n"


def add_to_release(
    release: Path, files: list[str], *, card_section: str | None = None, key: str = "extra"
) -> dict:
    """Add files already written under ``release`` to its manifest, optionally with a card
    section (replaced in place on the next call with the same key); returns the manifest."""
    old = json.loads((release / MANIFEST).read_text())
    if card_section is not None:
        card = release / CARD
        card.write_text(_replace_section(card.read_text(), key, card_section), encoding="utf-8")
    listed = {e["path"] for e in old["files"]} | set(files)
    manifest = build_manifest(
        release, sorted(listed), name=old["name"], config_version=old["config_version"]
    )
    _write_atomic(release / MANIFEST, manifest_bytes(manifest))
    return manifest
