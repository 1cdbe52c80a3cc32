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
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from medsg.paths import default_realdata_dir

DEMO_CONFIG = "demo.yaml"
_VAR_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class ConfigError(ValueError):
    """A configuration that cannot be used; the message names the file and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CsvSourceConfig(_Strict):
    """A dataset on disk: a label CSV plus a folder of images (searched recursively)."""

    kind: Literal["nih_cxr14", "rsna_pneumonia"]
    name: str | None = None  # dataset name in records; defaults to kind
    root: Path
    labels_csv: str  # relative to root
    images_dir: str = "images"  # relative to root
    licence: str | None = None  # default: the reader's licence id (shards.licences)
    optional: bool = False  # when root is absent: skip with a warning instead of failing

    @property
    def dataset(self) -> str:
        return self.name or self.kind


class SyntheticSourceConfig(_Strict):
    """A corpus the project generates itself (NIH- and RSNA-format files with known boxes)."""

    kind: Literal["synthetic_cxr"]
    name: str | None = None
    n_images: int = Field(default=24, ge=1, le=10_000)
    seed: int = 0
    image_size: int = Field(default=256, ge=64, le=2048)
    licence: str = "CC0-1.0"
    optional: bool = False

    @property
    def dataset(self) -> str:
        return self.name or self.kind


class TotalSegmentatorConfig(_Strict):
    """TotalSegmentator for CT cases that ship no masks: its weights must be on disk."""

    weights_dir: Path | None = None  # TOTALSEG_WEIGHTS_PATH layout; None: $TOTALSEG_WEIGHTS_PATH
    fast: bool = False  # the 3 mm model (one weights folder)
    device: str = "cpu"  # cpu, gpu, gpu:N, mps


class ProjectionConfig(_Strict):
    """How CT volumes become radiographs (extractors.ct.projection)."""

    pixel_mm: float = Field(default=1.0, gt=0.1, le=10.0)  # isotropic pixel of the images
    remove_table: bool = True


class CtCaseConfig(_Strict):
    """One CT case: a NIfTI file or DICOM series folder, its masks, its report."""

    id: str
    ct: str  # relative to the source's root
    masks: str | None = None  # multilabel NIfTI or folder of <class>.nii.gz; None: TotalSegmentator
    report: str | None = None  # a text file with the report of the CT (or a radiograph of it)
    patient: str | None = None  # patient key (default: the case id)


class CtProjectionSourceConfig(_Strict):
    """CT volumes projected to chest radiographs with dense anatomy (PAXRay): cases listed
    in a CSV (columns case_id, patient_id, ct, masks, report) or inline."""

    kind: Literal["ct_projection"]
    name: str | None = None
    root: Path
    cases_csv: str | None = None  # relative to root
    cases: list[CtCaseConfig] = Field(default_factory=list)
    licence: str
    optional: bool = False
    totalsegmentator: TotalSegmentatorConfig = TotalSegmentatorConfig()
    projection: ProjectionConfig = ProjectionConfig()
    anatomy_records: Literal["core", "all", "none"] = "core"  # anatomy grounding per view

    @model_validator(mode="after")
    def _one_case_list(self) -> CtProjectionSourceConfig:
        if bool(self.cases_csv) == bool(self.cases):
            raise ValueError("give exactly one of cases_csv and cases")
        ids = [c.id for c in self.cases]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"case ids must be unique, repeated: {dupes}")
        return self

    @property
    def dataset(self) -> str:
        return self.name or self.kind


class SyntheticCtSourceConfig(_Strict):
    """Chest CT phantoms the project generates (sources.synthetic_ct), with masks and a
    report each: the CT projection path on any machine."""

    kind: Literal["synthetic_ct"]
    name: str | None = None
    n_cases: int = Field(default=3, ge=1, le=1000)
    seed: int = 0
    shape: tuple[int, int, int] = (96, 80, 76)
    spacing: tuple[float, float, float] = (4.0, 4.0, 4.0)
    licence: str = "CC0-1.0"
    optional: bool = False
    projection: ProjectionConfig = ProjectionConfig()
    anatomy_records: Literal["core", "all", "none"] = "core"

    @property
    def dataset(self) -> str:
        return self.name or self.kind


class PetExamSourceConfig(_Strict):
    """PET/CT exams on disk, one folder each with its report text: autoPET-style NIfTI
    studies (SUV.nii.gz, optional CTres.nii.gz and SEG.nii.gz on the PET grid) or DICOM
    exams (a PET series, optionally a CT series; SUV computed from the headers)."""

    kind: Literal["autopet_nifti", "pet_dicom"]
    name: str | None = None
    root: Path
    report_name: str = "report.txt"  # in each exam folder
    organ_masks: str | None = "organ_masks"  # in each exam folder: a folder with one NIfTI
    # per TotalSegmentator class, or one multilabel NIfTI, on the PET grid; absent is fine
    # (no host organs)
    slice_base: int = Field(default=1, ge=0, le=1)  # NIfTI: reports count stored slices from
    licence: str | None = None  # default: the reader's licence id (shards.licences)
    optional: bool = False

    @property
    def dataset(self) -> str:
        return self.name or self.kind


class SyntheticPetSourceConfig(_Strict):
    """PET/CT phantom exams the project generates (autoPET layout, reports with known truth)."""

    kind: Literal["synthetic_pet"]
    name: str | None = None
    n_exams: int = Field(default=3, ge=1, le=1000)
    n_lesions: int = Field(default=4, ge=1, le=12)
    seed: int = 0
    licence: str = "CC0-1.0"
    optional: bool = False

    @property
    def dataset(self) -> str:
        return self.name or self.kind


SourceConfig = Annotated[
    CsvSourceConfig
    | SyntheticSourceConfig
    | CtProjectionSourceConfig
    | SyntheticCtSourceConfig
    | PetExamSourceConfig
    | SyntheticPetSourceConfig,
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
    """The pseudonym salt: a literal, or the name of an environment variable holding it."""

    salt: str | None = "medsg-public-demo-salt"
    salt_env: str | None = None

    def resolved_salt(self) -> str:
        if self.salt_env:
            value = os.environ.get(self.salt_env)
            if not value:
                raise ConfigError(
                    f"privacy.salt_env names ${self.salt_env}, which is not set or empty"
                )
            return value
        if not self.salt:
            raise ConfigError("privacy.salt is empty: set a salt or privacy.salt_env")
        return self.salt


class RecordsConfig(_Strict):
    seed: int = 0  # picks question / answer wording from the template banks
    sequences: bool = True  # also build the MedSG-Bench image-sequence records
    chains: bool = True  # chains of thought for lesions in organ masks (records.cot)


class ReviewConfig(_Strict):
    """Expert review in Label Studio (annotation/). Off by default: a build then needs no
    server. On: ``build-medsg`` pushes the records chosen for review after validation, and
    ``sync-reviews`` pulls the experts' decisions and republishes. The API token is read from
    the environment variable ``token_env`` (never written in a config file)."""

    enabled: bool = False
    url: str = "http://127.0.0.1:8089"  # scripts/label_studio.sh's default port
    token_env: str = "LABEL_STUDIO_API_KEY"
    project: str | None = None  # project title prefix; default: the build's name
    # Local-files document root of the server (scripts/label_studio.sh: MEDSG_LS_DOCUMENT_ROOT);
    # the build folder's images must lie under it. Default: this repository.
    document_root: Path | None = None
    threshold: float = Field(default=0.8, ge=0.0, le=1.0)  # confidence below it: reviewed
    audit_share: float = Field(default=0.05, ge=0.0, le=1.0)  # seeded random share of the rest
    max_per_source_task: int = Field(default=200, ge=0)  # cap per (source, family, task)
    seed: int = 0
    timeout_s: float = Field(default=30.0, gt=0)  # per HTTP request
    retries: int = Field(default=4, ge=1, le=20)  # tries per request before giving up
    backoff_s: float = Field(default=1.0, ge=0)  # first wait between tries, doubled each time

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"must start with http:// or https://, got {url!r}")
        return url.rstrip("/")

    def resolved_token(self) -> str:
        """The API token from ``$token_env``; a missing or empty one is an error, so that it
        is caught before any work starts."""
        value = os.environ.get(self.token_env, "").strip()
        if not value:
            raise ConfigError(
                f"review.enabled is true but ${self.token_env} (review.token_env) is not set "
                f"or empty: export the Label Studio API token of {self.url} in it "
                "(scripts/label_studio.sh env prints it for the local server)"
            )
        return value

    def resolved_document_root(self) -> Path:
        from medsg.paths import REPO_ROOT

        return (self.document_root or REPO_ROOT).resolve()

    def project_title(self, build_name: str, config: str) -> str:
        """One project per dataset config (one labeling config each)."""
        return f"{self.project or build_name} / {config}"


class BuildConfig(_Strict):
    name: str = "medsg"
    version: str = "0.1.0"
    sources: list[SourceConfig]
    chunk_size: int = Field(default=16, ge=1, le=10_000)
    image_max_side: int | None = Field(default=None, ge=32)  # downscale larger images
    runner: RunnerConfig = RunnerConfig()
    shards: ShardConfig = ShardConfig()
    split: SplitConfig = SplitConfig()
    privacy: PrivacyConfig = PrivacyConfig()
    records: RecordsConfig = RecordsConfig()
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
        card); how the work is spread (runner, chunk size) does not."""
        blob = json.dumps(
            self.model_dump(mode="json", exclude={"runner", "chunk_size"}), sort_keys=True
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


def parse_config(text: str, *, origin: str, base: Path) -> BuildConfig:
    """Parse YAML text into a validated config; errors name ``origin`` and the field."""
    os.environ.setdefault("MEDSG_REALDATA", str(default_realdata_dir()))
    try:
        data = yaml.safe_load(expand_vars(text))
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
