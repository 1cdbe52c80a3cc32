"""The one typed build configuration: loaded from YAML, validated at start, saved resolved
next to the output. ``${VAR}`` and ``${VAR:-default}`` expand from the environment; relative
paths resolve against the folder of the config file."""

from __future__ import annotations

import hashlib
import json
import os
import re
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from annotation.settings import ReviewConfig
from schemas.errors import ConfigError
from shards.layout import default_realdata_dir
from sources.imaging import DEFAULT_MAX_PIXELS, PNG_COMPRESS_LEVEL, PNG_STRATEGY
from sources.registry import SOURCES

__all__ = [
    "BuildConfig",
    "ConfigError",
    "ReviewConfig",
    "SourceConfig",
    "load_config",
    "parse_config",
]

DEMO_CONFIG = "demo.yaml"
_VAR_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# The config's ``sources:`` list: the discriminated union of every registered Source's
# settings (sources.registry); each kind's settings are declared with its Source.
SourceConfig = Annotated[
    Union[tuple(s.settings for s in SOURCES)],  # noqa: UP007  (a union built from a tuple)
    Field(discriminator="kind"),
]


class RunnerConfig(_Strict):
    """Where tasks run: local threads (default) or a Dask cluster through prefect-dask."""

    kind: Literal["threads", "dask"] = "threads"
    max_workers: int = Field(default=4, ge=1)
    dask_address: str | None = None  # an existing scheduler; None starts a LocalCluster
    dask_n_workers: int = Field(default=2, ge=1)
    dask_threads_per_worker: int = Field(default=1, ge=1)


class ShardConfig(_Strict):
    max_size_mb: float = Field(default=256.0, gt=0)
    max_count: int = Field(default=10_000, ge=1)
    # once: each image stored once per split in the ``images`` config, records JSON only;
    # per_record: every record sample carries its own image copies (shards.writer)
    images: Literal["once", "per_record"] = "once"


class SplitConfig(_Strict):
    train: int = 80
    validation: int = 10
    test: int = 10

    @model_validator(mode="after")
    def _sum_to_100(self) -> SplitConfig:
        if self.train + self.validation + self.test != 100 or min(self.weights) < 0:
            raise ValueError(f"split percentages must be >= 0 and sum to 100, got {self.weights}")
        return self

    @property
    def weights(self) -> tuple[int, int, int]:
        return (self.train, self.validation, self.test)


class PrivacyConfig(_Strict):
    """The pseudonym salt: the name of an environment variable holding it (``salt_env``,
    the way to keep it secret), or a literal (``salt``: as secret as the config file; the
    demo configs use a public one). No default: a build without a salt stops."""

    salt: str | None = None
    salt_env: str | None = None

    def resolved_salt(self) -> str:
        if self.salt_env and self.salt_env.strip():
            value = os.environ.get(self.salt_env.strip())
            if not value or not value.strip():
                raise ConfigError(
                    f"privacy.salt_env names ${self.salt_env.strip()}, which is not set, empty "
                    "or only whitespace: export a secret salt in it"
                )
            return value
        if self.salt is None or not self.salt.strip():
            what = "empty or only whitespace" if self.salt is not None else "not set"
            raise ConfigError(
                f"no pseudonym salt (privacy.salt is {what}): set privacy.salt_env to the name "
                "of an environment variable holding a secret salt"
            )
        return self.salt

    @property
    def public(self) -> bool:
        """Whether the salt is written in the config itself (a demo), not kept in the
        environment: pseudonyms of guessable ids are then not secret."""
        return not self.salt_env


class RecordsConfig(_Strict):
    seed: int = 0  # picks question / answer wording from the template banks
    sequences: bool = True  # also build the MedSG-Bench image-sequence records
    chains: bool = True  # chains of thought for lesions in organ masks (records.cot)


class PngConfig(_Strict):
    """How published PNGs are compressed (lossless either way; ``sources.imaging``): zlib
    level and strategy. ``rle`` at level 6 is the default: smaller than zlib's default
    strategy on radiographs and about five times faster to write."""

    compress_level: int = Field(default=PNG_COMPRESS_LEVEL, ge=0, le=9)
    strategy: Literal["default", "filtered", "huffman", "rle"] = PNG_STRATEGY


class FinalizeConfig(_Strict):
    """How finalize streams the chunk files: rows held per batch while writing tables and
    shards (memory, not output: the release is the same for any value)."""

    batch_rows: int = Field(default=256, ge=1, le=1_000_000)


class BuildConfig(_Strict):
    name: str = "medsg"
    version: str = "0.1.0"
    sources: list[SourceConfig]
    chunk_size: int = Field(default=16, ge=1, le=10_000)
    image_max_side: int | None = Field(default=None, ge=32)  # downscale larger images
    # Source images over this many pixels (width x height x frames, from the header) are
    # not decoded: quarantine image_too_large.
    image_max_pixels: int = Field(default=DEFAULT_MAX_PIXELS, ge=1)
    png: PngConfig = PngConfig()
    runner: RunnerConfig = RunnerConfig()
    shards: ShardConfig = ShardConfig()
    split: SplitConfig = SplitConfig()
    privacy: PrivacyConfig = PrivacyConfig()
    records: RecordsConfig = RecordsConfig()
    finalize: FinalizeConfig = FinalizeConfig()
    review: ReviewConfig = ReviewConfig()

    @field_validator("sources")
    @classmethod
    def _unique_names(cls, sources: list[Any]) -> list[Any]:
        names = [s.dataset for s in sources]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"source names must be unique, repeated: {dupes}")
        if not sources:
            raise ValueError("at least one source is required")
        return sources

    def fingerprint(self) -> str:
        """A hash of every setting that changes the release (used in cache keys and the
        card); how the work is spread (runner, chunk size, finalize batches) does not."""
        blob = json.dumps(
            self.model_dump(mode="json", exclude={"runner", "chunk_size", "finalize"}),
            sort_keys=True,
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.model_dump(mode="json"), sort_keys=False)


def expand_vars(text: str) -> str:
    """Expand ``${VAR}`` / ``${VAR:-default}``; an unset variable without default is an error."""

    def repl(m: re.Match[str]) -> str:
        name, default = m.group(1), m.group(2)
        value = os.environ.get(name)
        if value:
            return value
        if default is not None:
            return default
        raise ConfigError(f"environment variable ${{{name}}} is not set and has no default")

    return _VAR_RE.sub(repl, text)


def _resolve_paths(data: dict[str, Any], base: Path) -> dict[str, Any]:
    def resolve(value: Any) -> str:
        path = Path(str(value)).expanduser()
        return str(path if path.is_absolute() else (base / path).resolve())

    for src in data.get("sources") or []:
        if isinstance(src, dict) and src.get("root") is not None:
            src["root"] = resolve(src["root"])
        seg = src.get("totalsegmentator") if isinstance(src, dict) else None
        if isinstance(seg, dict) and seg.get("weights_dir"):
            seg["weights_dir"] = resolve(seg["weights_dir"])
    review = data.get("review")
    if isinstance(review, dict) and review.get("document_root"):
        review["document_root"] = resolve(review["document_root"])
    return data


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key repeated in one mapping (PyYAML keeps the last)."""


def _unique_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False):
    seen: set = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"duplicate key {key!r} (the value would be silently replaced)",
                key_node.start_mark,
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _unique_mapping)


def parse_config(text: str, *, origin: str, base: Path) -> BuildConfig:
    """Parse YAML text into a validated config; errors name ``origin`` and the field."""
    os.environ.setdefault("MEDSG_REALDATA", str(default_realdata_dir()))
    try:
        data = yaml.load(expand_vars(text), Loader=_UniqueKeyLoader)
    except ConfigError as exc:
        raise ConfigError(f"{origin}: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{origin}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{origin}: expected a mapping at the top level")
    try:
        return BuildConfig.model_validate(_resolve_paths(data, base))
    except ValidationError as exc:
        lines = [f"  {'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()]
        raise ConfigError(f"{origin}: invalid configuration\n" + "\n".join(lines)) from None


def load_config(path: str | Path | None = None) -> BuildConfig:
    """Load a config file, or the embedded demo config when path is None."""
    if path is None:
        text = resources.files("medsg.configs").joinpath(DEMO_CONFIG).read_text()
        return parse_config(text, origin=f"<embedded {DEMO_CONFIG}>", base=Path.cwd())
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file not found: {p}")
    return parse_config(p.read_text(), origin=str(p), base=p.parent.resolve())
