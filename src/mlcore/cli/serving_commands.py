"""``mlcore serve MODEL_URI`` and ``mlcore monitor drift``."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from mlcore.cli.output import emit_json, print_table
from mlcore.cli.server_commands import add_network_arguments, connection_limits, split_list

if TYPE_CHECKING:
    from mlcore.tracking import Tracker

__all__ = ["add_parsers", "drift_command", "serve_command"]


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    serve = sub.add_parser(
        "serve",
        parents=[common],
        help="serve a model over HTTP (MLflow /invocations and KServe OIP v2)",
        description=(
            "Loads MODEL_URI (models:/name@alias, models:/name/3, runs:/ID/model, a path), "
            "verifies it, and serves POST /invocations, /v2/models/NAME/infer, /metrics. "
            "Tokens come from $MLCORE_SERVER_TOKENS ('token:read,token2:write') or "
            "--tokens-file; with none, only loopback clients are served unless --allow-remote. "
            "With --kserve-manifest, prints a KServe InferenceService instead of serving."
        ),
    )
    serve.add_argument("model_uri")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=5001)
    serve.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    serve.add_argument("--name", help="the model name on /v2 routes (default: registered name)")
    serve.add_argument("--max-batch-size", type=int, default=32, help="rows per merged call")
    serve.add_argument("--max-wait-ms", type=float, default=2.0, help="longest wait to merge")
    serve.add_argument("--no-batching", action="store_true", help="one model call per request")
    serve.add_argument(
        "--accelerate",
        choices=["auto", "onnx", "off"],
        default="auto",
        help="compile scikit-learn models to ONNX (auto: classifier labels, verified)",
    )
    serve.add_argument(
        "--log-predictions",
        type=float,
        default=0.0,
        metavar="RATE",
        help="log this fraction of requests to the store (for `mlcore monitor drift`)",
    )
    serve.add_argument("--max-body-mb", type=int, default=64, help="largest request body")
    serve.add_argument(
        "--tokens-file",
        metavar="FILE",
        help="lines of 'token scope' (as for `mlcore server`; with $MLCORE_SERVER_TOKENS)",
    )
    serve.add_argument(
        "--allow-remote",
        action="store_true",
        help="serve non-loopback clients even without tokens (trusted networks only)",
    )
    add_network_arguments(serve)
    serve.add_argument("--access-log", action="store_true", help="log every request")
    serve.add_argument(
        "--trust-unrecorded",
        action="store_true",
        help="serve a model no tracking store recorded a hash for (a local path): its "
        "files are trusted as they are, pickles included",
    )
    manifest = serve.add_argument_group("KServe")
    manifest.add_argument(
        "--kserve-manifest", action="store_true", help="print an InferenceService and exit"
    )
    manifest.add_argument("--image", default="mlcore-serve:latest", help="container image")
    manifest.add_argument("--namespace")
    manifest.add_argument("--service-name", help="InferenceService name (default: model name)")
    manifest.add_argument("--token-secret", help="Secret holding MLCORE_TRACKING_TOKEN as 'token'")
    serve.set_defaults(handler=serve_command, needs_tracker=False)

    monitor = sub.add_parser("monitor", help="watch served models")
    monitor_sub = monitor.add_subparsers(dest="action", required=True)
    drift = monitor_sub.add_parser(
        "drift",
        parents=[common],
        help="per-feature PSI and KS drift of logged inputs against a reference dataset",
    )
    drift.add_argument("--model", required=True, help="the served model's name")
    drift.add_argument(
        "--reference", required=True, metavar="DATASET", help="CSV, Parquet or JSON-lines file"
    )
    drift.add_argument("--version", help="only inputs logged by this model version")
    drift.add_argument("--since", type=float, metavar="HOURS", help="only the last HOURS")
    drift.add_argument("--features", help="comma-separated columns (default: all in common)")
    drift.add_argument("--psi-threshold", type=float, default=0.2)
    drift.add_argument("--p-threshold", type=float, default=0.05)
    drift.add_argument("--plot", default="drift.png", help="where to write the plot ('' = none)")
    drift.set_defaults(handler=drift_command)


def serve_command(_tracker: object, args: argparse.Namespace) -> int:
    if args.kserve_manifest:
        return _print_manifest(args)
    from mlcore.server import Server
    from mlcore.web.tokens import load_tokens

    if args.trust_unrecorded:  # through the environment, so uvicorn workers inherit it
        import os

        from mlcore.flavors.verified import TRUST_UNRECORDED_ENV

        os.environ[TRUST_UNRECORDED_ENV] = "1"

    srv = Server.model(
        args.model_uri,
        tracking_uri=args.tracking_uri,
        name=args.name,
        batching=False
        if args.no_batching
        else {"max_batch_size": args.max_batch_size, "max_wait_ms": args.max_wait_ms},
        accelerate=args.accelerate,
        log_predictions=args.log_predictions,
        max_body_mb=args.max_body_mb,
        tokens=load_tokens(args.tokens_file),
        allow_remote=args.allow_remote,
        allowed_hosts=split_list(args.allowed_hosts),
        trusted_proxies=None if args.trusted_proxies is None else split_list(args.trusted_proxies),
    )
    model = srv.app.state.served_model
    print(
        f"serving {model.name} v{model.version} ({model.flavor}, {model.runtime}) on "
        f"http://{args.host}:{args.port}",
        file=sys.stderr,
    )
    srv.run(
        host=args.host,
        port=args.port,
        workers=args.workers,
        access_log=args.access_log,
        limits=connection_limits(args),
    )
    return 0


def _print_manifest(args: argparse.Namespace) -> int:
    import os

    import yaml

    from mlcore.serving.kserve import inference_service, service_name
    from mlcore.serving.runtime import model_name_of

    name = args.service_name or service_name(args.name or model_name_of(args.model_uri))
    manifest = inference_service(
        args.model_uri,
        name=name,
        image=args.image,
        tracking_uri=args.tracking_uri or os.environ.get("MLCORE_TRACKING_URI"),
        namespace=args.namespace,
        token_secret=args.token_secret,
        max_batch_size=None if args.no_batching else args.max_batch_size,
        max_wait_ms=None if args.no_batching else args.max_wait_ms,
    )
    sys.stdout.write(yaml.safe_dump(manifest, sort_keys=False))
    return 0


def drift_command(tracker: Tracker, args: argparse.Namespace) -> int:
    import time

    from mlcore.serving.drift import compute_drift, plot_drift, read_table, table_columns
    from mlcore.serving.prediction_log import PREDICTION, TIMESTAMP, read_logged_inputs

    reference = read_table(args.reference)
    since = int((time.time() - args.since * 3600) * 1000) if args.since else None
    logged = read_logged_inputs(tracker, args.model, version=args.version, since_ms=since)
    current = {
        k: v
        for k, v in table_columns(logged).items()
        if k != TIMESTAMP and not k.startswith(PREDICTION)
    }
    features = [f.strip() for f in args.features.split(",")] if args.features else None
    report = compute_drift(
        reference,
        current,
        features=features,
        psi_threshold=args.psi_threshold,
        p_threshold=args.p_threshold,
    )
    plot = plot_drift(report, reference, current, args.plot) if args.plot else None
    if args.json:
        emit_json({"model": args.model, "features": [r.to_dict() for r in report], "plot": plot})
    else:
        print_table(
            f"drift of {args.model}: {logged.num_rows} logged rows vs {args.reference}",
            ["feature", "kind", "PSI", "KS", "p-value", "reference rows", "logged rows", "drift"],
            [
                (
                    r.feature,
                    r.kind,
                    r.psi,
                    r.ks,
                    r.p_value,
                    r.reference_rows,
                    r.current_rows,
                    r.level,
                )
                for r in report
            ],
        )
        if plot:
            print(f"plot: {plot}")
    return 0
