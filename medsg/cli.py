"""The ``medsg`` command line: ``medsg build`` runs the build-medsg flow locally (embedded
Prefect unless PREFECT_API_URL points at a server); ``medsg verify`` checks a release."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from annotation.client import ReviewServerError
from medsg.config import ConfigError, load_config
from sources.csv_labels import SourceError

# Errors that are the user's to fix: printed as one message, no traceback.
USER_ERRORS = (ConfigError, SourceError, ReviewServerError, FileNotFoundError)


def _check_first(cfg) -> None:
    """What can fail without doing any work: the salt, and for review the token."""
    cfg.privacy.resolved_salt()
    if cfg.review.enabled:
        cfg.review.resolved_token()


def _cmd_build(args: argparse.Namespace) -> int:
    try:
        cfg = load_config(args.config)  # fail fast, before Prefect starts
        _check_first(cfg)
    except ConfigError as exc:
        print(f"medsg build: {exc}", file=sys.stderr)
        return 2
    if args.no_prefect:
        from annotation.push import check_review_setup, push_build
        from medsg.pipeline import prepare_output, run_build

        try:
            check_review_setup(cfg, prepare_output(cfg, args.out))
            report = run_build(cfg, args.out)
            print("\n".join(report.summary_lines()))
            if cfg.review.enabled:
                push = push_build(cfg, prepare_output(cfg, args.out))
                print(
                    f"  review push: {push.selected} selected, {push.created} created, "
                    f"{push.updated} updated, {push.unchanged} unchanged"
                )
        except USER_ERRORS as exc:
            print(f"medsg build: {exc}", file=sys.stderr)
            return 2
        return 0

    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    from flows.build import build_medsg

    try:
        result = build_medsg(config=args.config, out=args.out)
    except USER_ERRORS as exc:
        print(f"medsg build: {exc}", file=sys.stderr)
        return 2
    print(
        f"medsg build: done. Release in {result['out']} "
        f"(dataset version {result['dataset_version']}); "
        f"private build state in {Path(result['out']) / '_build'}"
    )
    return 0


def _cmd_sync_reviews(args: argparse.Namespace) -> int:
    try:
        cfg = load_config(args.config)
        _check_first(cfg)
        if not cfg.review.enabled:
            raise ConfigError(f"{args.config or 'the embedded demo config'}: review is off")
    except ConfigError as exc:
        print(f"medsg sync-reviews: {exc}", file=sys.stderr)
        return 2
    try:
        if args.no_prefect:
            from annotation.sync import sync_build
            from medsg.paths import BuildLayout

            sync = sync_build(cfg, BuildLayout(Path(args.out).resolve()))
            pulled, republished = sync.pull.annotations, sync.republished
        else:
            os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
            from flows.review import sync_reviews

            result = sync_reviews(config=args.config, out=args.out)
            pulled, republished = result["pulled"], result["republished"]
    except USER_ERRORS as exc:
        print(f"medsg sync-reviews: {exc}", file=sys.stderr)
        return 2
    print(
        f"medsg sync-reviews: annotations added {pulled.get('added', 0)}, updated "
        f"{pulled.get('updated', 0)}, unchanged {pulled.get('unchanged', 0)}; release "
        + ("republished" if republished else "unchanged")
        + f" (metrics: {Path(args.out) / 'review_metrics.json'})"
    )
    return 0


def _cmd_verify(args: argparse.Namespace) -> int:
    from shards.manifest import verify

    problems = verify(Path(args.release))
    if problems:
        for p in problems:
            print(f"FAIL {p}", file=sys.stderr)
        print(f"medsg verify: {len(problems)} problem(s) in {args.release}", file=sys.stderr)
        return 1
    manifest = json.loads((Path(args.release) / "manifest.json").read_text())
    print(
        f"medsg verify: OK, {len(manifest['files'])} files match manifest.json "
        f"(dataset version {manifest['dataset_version']})"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="medsg", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    build = sub.add_parser("build", help="run the build-medsg flow")
    build.add_argument("--config", help="build config YAML (default: the embedded demo)")
    build.add_argument("--out", default="out/demo", help="release folder (default: out/demo)")
    build.add_argument(
        "--no-prefect", action="store_true", help="run the steps inline, without Prefect"
    )
    build.set_defaults(func=_cmd_build)

    sync = sub.add_parser(
        "sync-reviews",
        help="pull expert reviews from Label Studio, merge them and republish the release",
    )
    sync.add_argument("--config", help="the build's config YAML (its review section enabled)")
    sync.add_argument("--out", default="out/demo", help="release folder (default: out/demo)")
    sync.add_argument("--no-prefect", action="store_true", help="run inline, without Prefect")
    sync.set_defaults(func=_cmd_sync_reviews)

    verify = sub.add_parser("verify", help="check every release file against manifest.json")
    verify.add_argument("release", help="release folder")
    verify.set_defaults(func=_cmd_verify)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
