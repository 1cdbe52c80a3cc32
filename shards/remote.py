"""Publishing a verified release to any fsspec destination (a local folder, s3://, gs://,
memory://..., and the Hugging Face Hub as ``hf://datasets/<org>/<name>``): every file the
manifest lists, then the manifest last, so a reader who finds the manifest finds a complete
release. Credentials come from fsspec's usual configuration (for the Hub: ``HF_TOKEN`` or
``hf auth login``, read by huggingface_hub itself).

The Hub goes through huggingface_hub's ``HfFileSystem`` like any other fsspec target; each
file is one commit, so the manifest's commit is the last. A dataset repository that does not
exist yet is created, private."""

from __future__ import annotations

import json
import re
from pathlib import Path

import fsspec

from shards.manifest import MANIFEST, verify

HF_PREFIX = "hf://"
_HF_DATASET = re.compile(r"^hf://datasets/([A-Za-z0-9][\w.-]*)/([A-Za-z0-9][\w.-]*)/?$")


class PublishError(RuntimeError):
    """The release or the destination is not fit for publishing; the message says which file."""


def hub_filesystem() -> fsspec.AbstractFileSystem:
    """huggingface_hub's fsspec filesystem (tests point this at a local one)."""
    from huggingface_hub import HfFileSystem

    return HfFileSystem()


def ensure_hub_dataset(repo_id: str) -> None:
    """Create the dataset repository when it does not exist yet (private)."""
    from huggingface_hub import HfApi

    HfApi().create_repo(repo_id, repo_type="dataset", private=True, exist_ok=True)


def hub_repo_id(destination: str) -> str:
    """``hf://datasets/<org>/<name>`` -> ``<org>/<name>``; anything else is refused."""
    match = _HF_DATASET.match(destination)
    if not match:
        raise PublishError(
            f"{destination}: a Hub destination is hf://datasets/<org>/<name> (a dataset "
            "repository, no revision)"
        )
    return f"{match.group(1)}/{match.group(2)}"


def destination_fs(destination: str) -> tuple[fsspec.AbstractFileSystem, str]:
    """The filesystem and root path of a destination URL."""
    if destination.startswith(HF_PREFIX):
        repo_id = hub_repo_id(destination)
        ensure_hub_dataset(repo_id)
        return hub_filesystem(), f"datasets/{repo_id}"
    fs, root = fsspec.core.url_to_fs(destination)
    return fs, root.rstrip("/")


def publish_to(release: Path, destination: str, *, check: bool = True) -> list[str]:
    """Copy ``release`` to ``destination``; returns the paths written (relative)."""
    problems = verify(release)
    if problems:
        raise PublishError(
            f"{release} does not match its manifest, not publishing: "
            + "; ".join(str(p) for p in problems[:5])
        )
    manifest = json.loads((release / MANIFEST).read_text())
    fs, root = destination_fs(destination)
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
