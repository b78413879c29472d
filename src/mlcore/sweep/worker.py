"""Running one trial from a command line: what a Kubernetes pod (or any executor that starts
commands) runs.

``python -m mlcore.sweep.worker --trial-run ID --tracking-uri URI`` reads the trial the agent
stored with the trial's run (``_mlcore/trial.pickle``: its parameters' run, the sweep's
metric and early-termination rungs, the function by value or the ``program`` to start),
runs it against the store at ``URI`` (as the pod reaches it) and ends the run. The exit
status is 0 when the trial finished or was stopped early, 1 when it failed: the run then
holds the error as its ``mlcore.sweep.error`` tag.

The spec is a cloudpickle, as a pipeline step's code is: whoever can write the tracking and
artifact stores can run code where trials run, so they must be trusted alike.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

from mlcore.sweep.trial import TRIAL_FILE, TrialSpec, run_spec

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m mlcore.sweep.worker")
    parser.add_argument("--trial-run", required=True)
    parser.add_argument("--tracking-uri", required=True)
    args = parser.parse_args(argv)
    import cloudpickle

    from mlcore.tracking import Tracker

    with Tracker(args.tracking_uri) as tracker:
        raw = tracker.artifact_store(args.trial_run).get_bytes(TRIAL_FILE)
    spec: TrialSpec = cloudpickle.loads(raw)
    if spec.run_id != args.trial_run:
        print(f"mlcore sweep worker: {TRIAL_FILE} is not run {args.trial_run}'s", file=sys.stderr)
        return 2
    spec = dataclasses.replace(spec, tracking_uri=args.tracking_uri, local_key=None)
    result = run_spec(spec)
    print(
        f"mlcore trial {spec.trial} of sweep {spec.sweep_id}: {result['status']}", file=sys.stderr
    )
    return 0 if result["status"] in ("FINISHED", "KILLED") else 1


if __name__ == "__main__":  # pragma: no cover - exercised through subprocesses
    sys.exit(main())
