"""The review section of a build config (``review:``): where the Label Studio server is, how
records are chosen, and how requests are retried."""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from schemas.errors import ConfigError
from shards.layout import REPO_ROOT


class ReviewConfig(BaseModel):
    """Expert review in Label Studio (annotation/). Off by default: a build then needs no
    server. On: ``build-medsg`` pushes the records chosen for review after validation, and
    ``sync-reviews`` pulls the experts' decisions and republishes. The API token is read from
    the environment variable ``token_env`` (never written in a config file)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

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
        return (self.document_root or REPO_ROOT).resolve()

    def project_title(self, build_name: str, config: str) -> str:
        """One project per dataset config (one labeling config each)."""
        return f"{self.project or build_name} / {config}"
