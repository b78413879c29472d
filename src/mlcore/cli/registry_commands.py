"""``mlcore models ...`` and ``mlcore artifacts ...``."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from mlcore.cli.output import emit_json, format_time, print_mapping, print_table

if TYPE_CHECKING:
    from mlcore.tracking import Tracker

__all__ = ["add_parsers", "list_artifacts", "list_models", "show_artifact", "show_model"]


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    models = sub.add_parser("models", help="the model registry")
    models_sub = models.add_subparsers(dest="action", required=True)
    listing = models_sub.add_parser("list", parents=[common], help="registered models")
    listing.add_argument("--filter", "-f", help="e.g. \"name LIKE 'credit%%'\"")
    listing.add_argument("--max-results", "-n", type=int, default=100)
    listing.set_defaults(handler=list_models)
    show = models_sub.add_parser("show", parents=[common], help="a model and its versions")
    show.add_argument("name")
    show.add_argument("--version", "-v", help="a number, @alias, stage or latest")
    show.set_defaults(handler=show_model)

    artifacts = sub.add_parser("artifacts", help="versioned artifacts")
    artifacts_sub = artifacts.add_subparsers(dest="action", required=True)
    listing = artifacts_sub.add_parser("list", parents=[common], help="artifacts (latest)")
    listing.add_argument("--type", "-t", help="only this type (dataset, model...)")
    listing.set_defaults(handler=list_artifacts)
    show = artifacts_sub.add_parser("show", parents=[common], help="one artifact's versions")
    show.add_argument("ref", help="name, or name:v3 / name:latest / name:alias for one version")
    show.set_defaults(handler=show_artifact)


def list_models(tracker: Tracker, args: argparse.Namespace) -> int:
    models = tracker.store.search_registered_models(args.filter, max_results=args.max_results)
    if args.json:
        emit_json([m.model_dump(mode="json") for m in models])
        return 0
    print_table(
        None,
        ["name", "latest", "stages", "aliases", "updated", "description"],
        [
            (
                m.name,
                max((v.version for v in m.latest_versions), default=""),
                ", ".join(f"{v.stage.value}: v{v.version}" for v in m.latest_versions),
                ", ".join(f"@{a}: v{v}" for a, v in m.aliases.items()),
                format_time(m.last_update_time),
                m.description or "",
            )
            for m in models
        ],
    )
    return 0


def show_model(tracker: Tracker, args: argparse.Namespace) -> int:
    from mlcore.registry import Registry

    registry = Registry(tracker=tracker)
    if args.version is not None:
        version = registry.get_version(args.name, args.version)
        if args.json:
            emit_json(version.model_dump(mode="json"))
            return 0
        print_mapping(
            f"{version.name} v{version.version}",
            {
                "stage": version.stage.value,
                "aliases": ", ".join(version.aliases),
                "source": version.source,
                "run": version.run_id or "",
                "status": version.status.value,
                "created": format_time(version.creation_time),
                "user": version.user or "",
                "description": version.description or "",
            },
            sort=False,
        )
        print_mapping("tags", version.tags)
        return 0
    model = registry.get_model(args.name)
    versions = registry.search_versions(
        f"name = '{args.name.replace(chr(39), chr(39) * 2)}'", ["version DESC"]
    )
    if args.json:
        data = model.model_dump(mode="json")
        data["versions"] = [v.model_dump(mode="json") for v in versions]
        emit_json(data)
        return 0
    print_mapping(
        model.name,
        {
            "description": model.description or "",
            "created": format_time(model.creation_time),
            "updated": format_time(model.last_update_time),
        },
        sort=False,
    )
    print_mapping("tags", model.tags)
    print_table(
        "versions",
        ["version", "stage", "aliases", "run", "created", "source"],
        [
            (
                v.version,
                v.stage.value,
                ", ".join(v.aliases),
                v.run_id or "",
                format_time(v.creation_time),
                v.source,
            )
            for v in versions
        ],
    )
    return 0


def list_artifacts(tracker: Tracker, args: argparse.Namespace) -> int:
    latest = tracker.store.list_artifact_collections(args.type)
    if args.json:
        emit_json([a.model_dump(mode="json") for a in latest])
        return 0
    print_table(
        None,
        ["name", "type", "latest", "files", "size", "created", "aliases"],
        [
            (
                a.name,
                a.type,
                f"v{a.version}",
                len(a.files),
                a.size,
                format_time(a.creation_time),
                ", ".join(x for x in a.aliases if x != "latest"),
            )
            for a in latest
        ],
    )
    return 0


def show_artifact(tracker: Tracker, args: argparse.Namespace) -> int:
    if ":" in args.ref:
        versions = [tracker.store.get_artifact_version(args.ref)]
    else:
        versions = tracker.store.list_artifact_versions(args.ref)
    if args.json:
        emit_json([v.model_dump(mode="json") for v in versions])
        return 0
    if len(versions) == 1:
        version = versions[0]
        print_mapping(
            version.qualified_name,
            {
                "type": version.type,
                "digest": version.digest,
                "aliases": ", ".join(version.aliases),
                "produced by run": version.producer_run_id or "",
                "size": version.size,
                "created": format_time(version.creation_time),
                "description": version.description or "",
            },
            sort=False,
        )
        print_table(
            "files",
            ["path", "size", "sha256", "reference"],
            [(f.path, f.size, (f.sha256 or "")[:16], f.ref or "") for f in version.files],
        )
        return 0
    print_table(
        versions[0].name if versions else args.ref,
        ["version", "aliases", "files", "size", "produced by run", "created"],
        [
            (
                f"v{v.version}",
                ", ".join(v.aliases),
                len(v.files),
                v.size,
                v.producer_run_id or "",
                format_time(v.creation_time),
            )
            for v in versions
        ],
    )
    return 0
