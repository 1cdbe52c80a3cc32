"""Publishing a release folder safely: shards, card and manifest are assembled in a staging
folder; the release folder must be the project's own (empty, or a release whose manifest
verifies, with no file it does not list); only files the previous manifest lists are moved
aside (to a trash folder, so the previous release stays recoverable) and only once the new
release is complete; the manifest goes last. A journal makes every step restartable: after
a crash (even ``kill -9``), ``recover`` rolls an unfinished publish back to the previous
release, or a finished one forward, so a release verifies and holds no file outside its
manifest."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path

from shards.lock import LOCK_NAME
from shards.manifest import (
    BUILD_DIR,
    MANIFEST,
    ManifestError,
    build_manifest,
    manifest_bytes,
    read_manifest,
    safe_relative,
    verify,
)
from shards.writer import PARTIAL_SUFFIX

CARD = "README.md"
JOURNAL = "publish.journal.json"
# Marks a folder as a build folder of this tool (written by the engine before any work).
BUILD_MARKER = "config.resolved.yaml"


class OutputFolderError(ValueError):
    """The release folder is not this tool's to write (a user's folder, a release that does
    not verify, a file): nothing was changed; the message says why."""


def reset_staging(staging: Path) -> None:
    """An empty staging folder (whatever a crashed run left there is discarded)."""
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir(parents=True)


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + PARTIAL_SUFFIX)
    tmp.write_bytes(data)
    os.replace(tmp, path)


def published_files(out: Path) -> list[str]:
    """Files the current manifest of ``out`` lists (empty when there is none or it is not a
    manifest of ours)."""
    try:
        return [e["path"] for e in read_manifest(out)["files"]]
    except (OSError, ManifestError):
        return []


def _step(name: str) -> None:
    """Called as each publish step begins (a seam for the crash tests; does nothing)."""


def _has_build_folder(out: Path) -> bool:
    build = out / BUILD_DIR
    return (build / BUILD_MARKER).is_file() or (build / LOCK_NAME).is_file()


def check_output_folder(out: Path) -> None:
    """Refuse ``out`` unless it is absent, empty, a release with a manifest of ours, or a
    build folder of ours (``_build`` with its config or lock): cheap, before anything is
    written there. The full check (``check_release``) runs once the folder is locked."""
    if out.exists() and not out.is_dir():
        raise OutputFolderError(f"--out {out} is a file, not a folder: give a folder path")
    if (out / MANIFEST).is_file():
        try:
            read_manifest(out)
        except ManifestError as exc:
            raise OutputFolderError(f"--out {out}: refused, nothing was changed: {exc}") from None
        return
    if out.is_dir() and any(out.iterdir()) and not _has_build_folder(out):
        shown = sorted(p.name for p in out.iterdir())[:5]
        raise OutputFolderError(
            f"--out {out} is not empty and is not a medsg release (no manifest.json, no "
            f"{BUILD_DIR}/{BUILD_MARKER}); it holds {', '.join(shown)}: refused, nothing was "
            "changed. Give an empty or new folder"
        )


def check_release(out: Path) -> None:
    """Refuse a release folder whose files the tool could trample: a manifest that is not
    ours or does not verify, or files it does not list (outside ``_build``). Files the
    manifest lists that are missing are fine (the build writes them again)."""
    check_output_folder(out)
    if not (out / MANIFEST).is_file():
        extra = [p.name for p in out.iterdir() if p.name != BUILD_DIR] if out.is_dir() else []
        if extra:
            raise OutputFolderError(
                f"--out {out} has no manifest.json but holds {', '.join(sorted(extra)[:5])} "
                "beside _build: not a medsg release, refused, nothing was changed"
            )
        return
    problems = [p for p in verify(out) if p.problem != "missing"]
    if problems:
        shown = "; ".join(str(p) for p in problems[:5])
        raise OutputFolderError(
            f"--out {out}: the release there does not match its manifest.json "
            f"({len(problems)} problem(s): {shown}); refused, nothing was changed. Move those "
            "files away (or run medsg verify to see them all)"
        )


def _remove_empty_parents(out: Path, rels: list[str]) -> None:
    """Remove folders left empty under ``out`` above the given paths (never ``out``)."""
    dirs = {Path(rel).parent for rel in rels}
    parents = {d for rel_dir in dirs for d in (rel_dir, *rel_dir.parents) if d != Path(".")}
    for d in sorted(parents, key=lambda p: len(p.parts), reverse=True):
        with contextlib.suppress(OSError):  # not empty, or already gone
            (out / d).rmdir()


def _journal(out: Path) -> Path:
    return out / BUILD_DIR / JOURNAL


def recover(out: Path, trash: Path) -> str | None:
    """Finish or undo a publish that a crash interrupted (its journal is still there); a
    line saying which, or None when there was nothing to do."""
    journal = _journal(out)
    if not journal.is_file():
        if trash.exists():
            shutil.rmtree(trash)
        return None
    state = json.loads(journal.read_text())
    old, new = state["old"], state["new"]
    if not all(safe_relative(p) for p in (*old, *new)):
        raise OutputFolderError(f"{journal}: a path leaves the release folder: refused")
    partial = out / (MANIFEST + PARTIAL_SUFFIX)
    if partial.exists():
        partial.unlink()
    current = (out / MANIFEST).read_bytes() if (out / MANIFEST).is_file() else None
    if current == state["manifest"].encode():  # the new manifest landed: finish
        _remove_empty_parents(out, old)
        note = "finished"
    elif current is not None:  # the previous manifest still in place: nothing was moved
        note = "abandoned before it moved anything"
    else:
        for rel in new:  # undo: drop what was moved in, put the previous release back
            moved_aside = (trash / rel).exists() or rel not in old
            if moved_aside and (out / rel).is_file():
                (out / rel).unlink()
        if (out / MANIFEST).is_file():
            (out / MANIFEST).unlink()
        _remove_empty_parents(out, new)
        for rel in [*old, MANIFEST]:
            if (trash / rel).is_file():
                (out / rel).parent.mkdir(parents=True, exist_ok=True)
                os.replace(trash / rel, out / rel)
        note = "rolled back to the previous release"
    if trash.exists():
        shutil.rmtree(trash)
    journal.unlink()
    return f"{out}: an interrupted publish was {note}"


def publish(
    staging: Path, out: Path, *, card: str, name: str, config_version: str, trash: Path
) -> dict:
    """Move the staged release into ``out`` and return its manifest. ``staging`` holds the
    config folders; the card and manifest are written here. Only files the previous (verified)
    manifest lists are replaced or removed, after the new release is complete; nothing else
    under ``out`` is touched."""
    (staging / CARD).write_text(card, encoding="utf-8")
    files = sorted(
        p.relative_to(staging).as_posix()
        for p in staging.rglob("*")
        if p.is_file() and not p.name.endswith(PARTIAL_SUFFIX)
    )
    manifest = build_manifest(staging, files, name=name, config_version=config_version)
    data = manifest_bytes(manifest)
    recover(out, trash)
    check_release(out)
    old = published_files(out)

    _step("journal")
    _journal(out).parent.mkdir(parents=True, exist_ok=True)
    trash.mkdir(parents=True)
    state = {"old": old, "new": files, "manifest": data.decode()}
    _write_atomic(_journal(out), json.dumps(state).encode())
    manifest_path = out / MANIFEST
    _step("manifest_aside")
    if manifest_path.exists():  # from here until the new manifest lands, nothing verifies
        os.replace(manifest_path, trash / MANIFEST)
    _step("old_aside")
    for rel in old:
        if (out / rel).is_file():
            (trash / rel).parent.mkdir(parents=True, exist_ok=True)
            os.replace(out / rel, trash / rel)
    _step("new_in")
    for rel in files:
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        os.replace(staging / rel, out / rel)
    _step("manifest_in")
    _write_atomic(manifest_path, data)
    _step("cleanup")
    _remove_empty_parents(out, old)
    shutil.rmtree(trash)
    _journal(out).unlink()
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
