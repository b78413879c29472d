"""The run context: this process's default tracker and active runs (stdlib only at import).

One :class:`RunContext` per process (:func:`run_context`) is what the fluent API, autologging,
pipeline steps and sweep trials share: the tracking URI, the default :class:`Tracker` (built on
first use), the current experiment, the active runs, and the trackers executors hand to the
workers they run in this process.

Active runs: a run started in the main thread is active for every thread that has not started
its own (W&B semantics: a data-loader or callback thread logs to the main run); a run started
in another thread, or made active with :meth:`RunContext.activated`, is active in that thread
only (what pipeline steps and sweep trials rely on). A forked child starts with no active run
and builds its own default tracker on first use.

A run prepared for this process by an executor: ``MLCORE_RUN_ID`` names it (a run started while
none is active resumes it) and ``MLCORE_RUN_ATTACH`` (``module:function``, optional) names a hook
called with it once it is active (a sweep trial's early termination).
"""

from __future__ import annotations

import contextlib
import importlib
import os
import threading
import weakref
from collections.abc import Callable, Collection, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from mlcore.errors import InvalidInputError

if TYPE_CHECKING:
    from mlcore.tracking.active_run import ActiveRun
    from mlcore.tracking.tracker import Tracker

__all__ = ["RUN_ATTACH_ENV", "RUN_ID_ENV", "RunContext", "run_context"]

#: the run an executor prepared for this process
RUN_ID_ENV = "MLCORE_RUN_ID"
#: ``module:function`` called with that run once it is active
RUN_ATTACH_ENV = "MLCORE_RUN_ATTACH"

_contexts: weakref.WeakSet[RunContext] = weakref.WeakSet()


class _Stack(list["ActiveRun"]):
    """The runs of one thread (a list that can be weakly referenced)."""

    __slots__ = ("__weakref__",)


class _ThreadRuns(threading.local):
    stack: _Stack | None = None  # a class default: reading it never raises AttributeError


class RunContext:
    """Default tracker, active runs and worker trackers of one process (see the module).

    Attributes:
        tracking_uri: the URI set with :meth:`set_tracking_uri` (None: the environment's).
        tracker: the default tracker once built (None before first use).
        experiment: the id of the experiment new runs go to (None: the store's default).
        shared_run: the run active in EVERY thread, else None: the main thread's latest run
            while no thread has a run of its own (what the fluent calls read, one attribute
            instead of a thread-local lookup); kept up to date on every change of a stack.
    """

    def __init__(self) -> None:
        self.tracking_uri: str | None = None
        self.tracker: Tracker | None = None
        self.experiment: str | None = None
        self.shared_run: ActiveRun | None = None
        self._lock = threading.RLock()
        self._main_stack: list[ActiveRun] = []  # runs started in the main thread
        self._local = _ThreadRuns()  # .stack: runs of this thread
        # every thread's stack while it lives, by id of the weak reference (lists do not hash)
        self._stacks: dict[int, weakref.ref[_Stack]] = {}
        self._shared: dict[str, Tracker] = {}  # worker trackers by tracking URI
        self._lent: dict[str, list[Tracker]] = {}  # lent for a block, latest last
        _contexts.add(self)

    def _after_fork(self) -> None:
        # The child keeps the URI, experiment and worker trackers (their writers restart),
        # has no active run and builds its own default tracker on first use.
        self._lock = threading.RLock()
        self._main_stack = []
        self._local = _ThreadRuns()
        self._stacks = {}
        self.shared_run = None
        self.tracker = None

    def _refresh(self) -> None:
        """Recompute :attr:`shared_run` (after any change of a stack)."""
        with self._lock:
            # a copy: a weak reference's callback may run (and refresh) during the loop
            refs = list(self._stacks.items())
            self._stacks = {key: ref for key, ref in refs if ref() is not None}
            threads_own = any(ref() for ref in self._stacks.values())
            main = self._main_stack
            self.shared_run = main[-1] if main and not threads_own else None

    # -- tracking URI and default tracker ---------------------------------------------------------
    def set_tracking_uri(self, uri: str | os.PathLike[str]) -> None:
        """Where runs go from now on; the default tracker is rebuilt on next use."""
        text = os.fspath(uri) if isinstance(uri, os.PathLike) else uri
        if not isinstance(text, str) or not text.strip():
            raise InvalidInputError("tracking URI must be a non-empty string", field="uri")
        with self._lock:
            self.tracking_uri = text
            self.tracker = None

    def get_tracking_uri(self) -> str:
        """The URI set, else ``MLCORE_TRACKING_URI``, else ``.mlcore``."""
        from mlcore._config import tracking_uri_from_env

        return self.tracking_uri or tracking_uri_from_env()

    def default_tracker(self) -> Tracker:
        """The default tracker (built on first use)."""
        tracker = self.tracker
        if tracker is None:
            with self._lock:
                if self.tracker is None:
                    from mlcore.tracking.tracker import Tracker

                    self.tracker = Tracker(self.get_tracking_uri())
                tracker = self.tracker
        return tracker

    # -- active runs ------------------------------------------------------------------------------
    def active_run(self) -> ActiveRun | None:
        """The active run of this thread: its own, else the main thread's, else None."""
        run = self.shared_run
        if run is not None:
            return run
        local = self._local.stack
        if local:
            return local[-1]
        stack = self._main_stack
        return stack[-1] if stack else None

    def main_runs(self) -> list[ActiveRun]:
        """The runs started in the main thread and not ended, oldest first."""
        return list(self._main_stack)

    def _local_stack(self) -> list[ActiveRun]:
        stack = self._local.stack
        if stack is None:
            stack = self._local.stack = _Stack()
            this = weakref.ref(self)

            def forget(_: weakref.ref[_Stack]) -> None:  # the thread is gone
                context = this()
                if context is not None:
                    context._refresh()

            ref = weakref.ref(stack, forget)
            with self._lock:
                self._stacks[id(ref)] = ref
        return stack

    def push(self, run: ActiveRun) -> None:
        """Make a started run active (for every thread if this is the main thread, else for
        this thread) until it ends or is popped."""
        main = threading.current_thread() is threading.main_thread()
        stack = self._main_stack if main else self._local_stack()
        with self._lock:
            stack.append(run)
            self._refresh()

        def pop(ended: ActiveRun) -> None:
            with self._lock:
                if ended in stack:
                    stack.remove(ended)
                    self._refresh()

        run.add_end_callback(pop)

    def pop(self, run: ActiveRun) -> None:
        """Stop ``run`` being active (in this thread's stack, else the main thread's)."""
        with self._lock:
            for stack in (self._local.stack or [], self._main_stack):
                if run in stack:
                    stack.remove(run)
                    self._refresh()
                    return

    @contextlib.contextmanager
    def activated(self, run: ActiveRun) -> Iterator[ActiveRun]:
        """Make ``run`` the active run of this thread for the block, without ending it after
        (how pipeline steps and sweep trials see their own run)."""
        stack = self._local_stack()
        with self._lock:
            stack.append(run)
            self._refresh()
        try:
            yield run
        finally:
            with self._lock:
                if run in stack:
                    stack.remove(run)
                    self._refresh()

    def start_run(
        self,
        name: str | None = None,
        *,
        tags: Mapping[str, Any] | Collection[str] | None = None,
        config: Mapping[str, Any] | None = None,
        notes: str | None = None,
        nested: bool = False,
        run_id: str | None = None,
        experiment: str | None = None,
        parent_run_id: str | None = None,
    ) -> ActiveRun:
        """Start a run and make it active (see :func:`mlcore.start_run` for the arguments).

        With no run active and no ``run_id``, the run prepared for this process
        (``MLCORE_RUN_ID``) is resumed and ``MLCORE_RUN_ATTACH`` called with it.

        Raises:
            InvalidInputError: a run is already active in this thread and ``nested`` is False,
                or ``MLCORE_RUN_ATTACH`` names no function.
        """
        current = self.active_run()
        if current is not None and not nested and parent_run_id is None and run_id is None:
            raise InvalidInputError(
                f"run {current.id} is already active; end it first, or pass nested=True for a "
                "child run",
                field="nested",
            )
        attach: Callable[[ActiveRun], object] | None = None
        if run_id is None and current is None and os.environ.get(RUN_ID_ENV):
            run_id = os.environ[RUN_ID_ENV]
            hook = os.environ.get(RUN_ATTACH_ENV)
            attach = _load_hook(hook) if hook else None
        parent = parent_run_id or (current.id if nested and current is not None else None)
        tracker = current.tracker if nested and current is not None else self.default_tracker()
        run = tracker.start_run(
            experiment if experiment is not None else self.experiment,
            name=name,
            tags=tags,
            config=config,
            notes=notes,
            parent_run_id=parent,
            run_id=run_id,
        )
        self.push(run)
        if attach is not None:
            attach(run)
        return run

    def flush(self) -> None:
        """Wait until everything logged to the main thread's runs and the default tracker is
        stored."""
        # a disabled run (mode="disabled") has no tracker
        trackers = {id(r._tracker): r._tracker for r in self._main_stack if r._tracker is not None}
        if self.tracker is not None:
            trackers[id(self.tracker)] = self.tracker
        for tracker in trackers.values():
            tracker.flush()

    # -- trackers for workers in this process -----------------------------------------------------
    def share_tracker(self, tracker: Tracker) -> None:
        """Let workers in this process use ``tracker`` for its URI (until another is shared
        for it): a pipeline runner's, so threads need not open the store again."""
        with self._lock:
            self._shared[tracker.tracking_uri] = tracker

    @contextlib.contextmanager
    def lend_tracker(self, tracker: Tracker) -> Iterator[Tracker]:
        """Let workers in this process use ``tracker`` for its URI during the block (a sweep's,
        while it runs trials in threads); it comes before a shared one."""
        uri = tracker.tracking_uri
        with self._lock:
            self._lent.setdefault(uri, []).append(tracker)
        try:
            yield tracker
        finally:
            with self._lock:
                lent = self._lent.get(uri, [])
                for i in range(len(lent) - 1, -1, -1):
                    if lent[i] is tracker:
                        del lent[i]
                        break
                if not lent:
                    self._lent.pop(uri, None)

    def lent_tracker(self, uri: str) -> Tracker | None:
        """The tracker lent for ``uri`` (the latest), or None: what a sweep trial uses, else it
        opens the store itself and closes it after."""
        with self._lock:
            lent = self._lent.get(uri)
            return lent[-1] if lent else None

    def worker_tracker(self, uri: str) -> Tracker:
        """The tracker lent or shared for ``uri``, else one built now and shared from then on:
        what a pipeline step uses (a worker process keeps one per store for all its steps)."""
        with self._lock:
            tracker = self.lent_tracker(uri) or self._shared.get(uri)
            if tracker is None:
                from mlcore.tracking.tracker import Tracker

                tracker = self._shared[uri] = Tracker(uri)
            return tracker


def _load_hook(spec: str) -> Callable[[ActiveRun], object]:
    module_name, _, attribute = spec.partition(":")
    try:
        value: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            value = getattr(value, part)
    except (ImportError, AttributeError, ValueError) as exc:
        raise InvalidInputError(
            f"{RUN_ATTACH_ENV}={spec!r} names no function ({type(exc).__name__}: {exc})",
            field=RUN_ATTACH_ENV,
        ) from exc
    if not attribute or not callable(value):
        raise InvalidInputError(
            f"{RUN_ATTACH_ENV}={spec!r} must name a function as module:function",
            field=RUN_ATTACH_ENV,
        )
    hook: Callable[[ActiveRun], object] = value
    return hook


def _reset_after_fork() -> None:
    for context in list(_contexts):
        context._after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)

_process = RunContext()


def run_context() -> RunContext:
    """This process's run context."""
    return _process
