"""Review of a whole build: check the setup, push its records, and sync (pull the experts'
annotations into the ledger, then publish the build again with them applied, unless nothing
changed since the release was last published). The pieces live in ``annotation``."""

from __future__ import annotations

from dataclasses import dataclass

from annotation.ledger import Ledger, load_published
from annotation.pull import PullReport, pull_reviews
from annotation.push import PushReport, image_url_for, open_client, push_for_review
from engine.config import BuildConfig, ConfigError
from engine.pipeline import BuildReport, load_built, republish
from shards.layout import BuildLayout
from shards.manifest import verify
from shards.writer import config_name


@dataclass
class SyncReport:
    pull: PullReport
    republished: bool
    report: BuildReport | None  # the new release's report when republished


def project_titles(cfg: BuildConfig, layout: BuildLayout) -> list[str]:
    """The review projects of this build: one per dataset config of its records."""
    merged, _ = load_built(layout)
    configs = sorted({config_name(r) for r in merged.records})
    return [cfg.review.project_title(cfg.name, c) for c in configs]


def needs_republish(layout: BuildLayout) -> bool:
    """The ledger differs from the one the release was published with, or the release no
    longer matches its manifest."""
    published = load_published(layout)
    return published.get("ledger") != Ledger.load(layout).digest() or bool(
        verify(layout.out, full=False)
    )


def pull_build(cfg: BuildConfig, layout: BuildLayout) -> PullReport:
    if not cfg.review.enabled:
        raise ConfigError("review.enabled is false in this config: nothing to sync")
    titles = project_titles(cfg, layout)
    with open_client(cfg.review) as client:
        return pull_reviews(layout, titles, client)


def sync_build(cfg: BuildConfig, layout: BuildLayout) -> SyncReport:
    """Pull, then republish when needed (the whole sync without Prefect)."""
    pulled = pull_build(cfg, layout)
    if not needs_republish(layout):
        return SyncReport(pulled, False, None)
    return SyncReport(pulled, True, republish(cfg, layout))


def check_review_setup(cfg: BuildConfig, layout: BuildLayout) -> None:
    """Fail before any work when review is on but cannot work: no token, or a build folder
    the server cannot serve images from. No server is contacted."""
    if not cfg.review.enabled:
        return
    cfg.review.resolved_token()
    image_url_for(layout, cfg.review.resolved_document_root())


def push_build(cfg: BuildConfig, layout: BuildLayout) -> PushReport:
    """Push the last build in ``layout`` (its validated records, before review)."""
    merged, _ = load_built(layout)
    with open_client(cfg.review) as client:
        return push_for_review(cfg.review, cfg.name, layout, merged.records, client)
