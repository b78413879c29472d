"""What mlcore records about where a run comes from: source, git commit, generated names."""

from __future__ import annotations

import os
import random
import sys

__all__ = ["generate_run_name", "source_tags"]

_ADJECTIVES = (
    "amber",
    "bold",
    "brisk",
    "calm",
    "clever",
    "crisp",
    "dapper",
    "eager",
    "fancy",
    "gentle",
    "glad",
    "golden",
    "happy",
    "jolly",
    "keen",
    "lively",
    "lucid",
    "mellow",
    "nimble",
    "noble",
    "polished",
    "proud",
    "quick",
    "quiet",
    "rapid",
    "serene",
    "sharp",
    "shiny",
    "silent",
    "smooth",
    "snowy",
    "solid",
    "spry",
    "steady",
    "stellar",
    "sunny",
    "swift",
    "tidy",
    "vivid",
    "warm",
    "wise",
    "witty",
    "zesty",
)
_NOUNS = (
    "badger",
    "bat",
    "bear",
    "bee",
    "bison",
    "crane",
    "deer",
    "dolphin",
    "eagle",
    "falcon",
    "ferret",
    "finch",
    "fox",
    "gecko",
    "goat",
    "hare",
    "hawk",
    "heron",
    "horse",
    "ibis",
    "koala",
    "lark",
    "lemur",
    "lion",
    "lynx",
    "mole",
    "moose",
    "newt",
    "otter",
    "owl",
    "panda",
    "puffin",
    "quail",
    "raven",
    "robin",
    "seal",
    "shark",
    "sloth",
    "snail",
    "swan",
    "tiger",
    "trout",
    "whale",
    "wolf",
    "wren",
    "yak",
    "zebra",
)


_RNG = random.SystemRandom()


def generate_run_name() -> str:
    """A readable name such as ``swift-otter-42`` (W&B and MLflow users expect one): one
    random draw picks the adjective, the noun and the number."""
    draw = _RNG.randrange(len(_ADJECTIVES) * len(_NOUNS) * 999)
    draw, number = divmod(draw, 999)
    adjective, noun = divmod(draw, len(_NOUNS))
    return f"{_ADJECTIVES[adjective]}-{_NOUNS[noun]}-{number + 1}"


def _git_commit(start: str) -> str | None:
    """The HEAD commit of the git checkout containing ``start``, read from .git (no subprocess)."""
    directory = os.path.abspath(start)
    for _ in range(40):
        git = os.path.join(directory, ".git")
        if os.path.isdir(git):
            try:
                with open(os.path.join(git, "HEAD")) as handle:
                    head = handle.read().strip()
                if not head.startswith("ref: "):
                    return head or None
                ref = head[5:]
                ref_file = os.path.join(git, *ref.split("/"))
                if os.path.isfile(ref_file):
                    with open(ref_file) as handle:
                        return handle.read().strip() or None
                packed = os.path.join(git, "packed-refs")
                if os.path.isfile(packed):
                    with open(packed) as handle:
                        for line in handle:
                            parts = line.strip().split(" ")
                            if len(parts) == 2 and parts[1] == ref:
                                return parts[0]
            except OSError:
                return None
            return None
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent
    return None


_cached: dict[tuple[str, str], dict[str, str]] = {}


def source_tags() -> dict[str, str]:
    """Tags describing the program that created a run.

    Read once per program and working directory in a process (git's HEAD is not probed again
    for every run).
    """
    argv0 = sys.argv[0] if sys.argv and sys.argv[0] else ""
    key = (argv0, "" if argv0 and os.path.isabs(argv0) else os.getcwd())
    found = _cached.get(key)
    if found is None:
        if len(_cached) > 64:
            _cached.clear()
        found = _cached[key] = _source_tags(argv0)
    return dict(found)


def _source_tags(argv0: str) -> dict[str, str]:
    tags = {
        "mlcore.source.name": os.path.abspath(argv0) if argv0 and argv0 != "-c" else "<interactive>"
    }
    commit = _git_commit(os.path.dirname(os.path.abspath(argv0)) if argv0 else os.getcwd())
    if commit:
        tags["mlcore.source.git.commit"] = commit
    return tags
