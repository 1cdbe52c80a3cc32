"""Publishing a verified release to any fsspec destination (a local folder, s3://, gs://,
memory://...): every file the manifest lists, then the manifest last, so a reader who finds
the manifest finds a complete release. Credentials come from fsspec's usual configuration."""

from __future__ import annotations

import json
from pathlib import Path

import fsspec

from shards.manifest import MANIFEST, verify


class PublishError(RuntimeError):
    """The release or the destination is not fit for publishing; the message says which file."""


def publish_to(release: Path, destination: str, *, check: bool = True) -> list[str]:
    """Copy ``release`` to ``destination``; returns the paths written (relative)."""
    problems = verify(release)
    if problems:
        raise PublishError(
            f"{release} does not match its manifest, not publishing: "
            + "; ".join(str(p) for p in problems[:5])
        )
    manifest = json.loads((release / MANIFEST).read_text())
    fs, root = fsspec.core.url_to_fs(destination)
    root = root.rstrip("/")
    written = []
    for entry in manifest["files"]:
        target = f"{root}/{entry['path']}"
        fs.makedirs(target.rsplit("/", 1)[0], exist_ok=True)
        fs.put_file(str(release / entry["path"]), target)
        written.append(entry["path"])
    fs.put_file(str(release / MANIFEST), f"{root}/{MANIFEST}")
    written.append(MANIFEST)
    if check:
        for entry in manifest["files"]:
            size = fs.size(f"{root}/{entry['path']}")
            if size != entry["size"]:
                raise PublishError(
                    f"{destination}/{entry['path']}: {size} bytes arrived, {entry['size']} expected"
                )
    return written
