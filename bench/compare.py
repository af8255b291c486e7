"""C{--compare REV}: the vaurien of another commit, as one more proxy mode.

L{worktree} checks REV out into a temporary git worktree (detached HEAD,
beside the repository's other worktrees), builds its optional C
accelerators in place with this interpreter, and yields a L{Tree}: the
proxies of that mode run with the worktree first on C{sys.path}, so they
import its C{vaurien} and nothing else. The worktree is removed when the
run ends, whatever happened. The benchmarks' servers, clients and
reference proxies stay this checkout's: only the proxy under test changes.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Callable, Iterator

#: The optional C modules (setup.py); without them the same code runs in Python.
#: Each is named as now, then as in commits before the framed protocols became
#: sub-packages, which C{--compare} may check out.
ACCELERATORS = (
    ("vaurien.protocols.redis._skim", "vaurien._skim"),
    ("vaurien.protocols.http._skim", "vaurien._http_skim"),
    ("vaurien.fastpath._pump", "vaurien._pump"),
)
#: Seconds given to one git command or import probe, and to building the C accelerators.
GIT_TIMEOUT = 60.0
BUILD_TIMEOUT = 600.0

#: Run with a tree's Popen options: which vaurien it imports, which
#: accelerators are missing there.
_PROBE = (
    "import importlib, json, vaurien\n"
    "def built(names):\n"
    "    for name in names:\n"
    "        try:\n"
    "            importlib.import_module(name)\n"
    "            return True\n"
    "        except ImportError:\n"
    "            pass\n"
    "    return False\n"
    "missing = [names[0] for names in {names!r} if not built(names)]\n"
    "print(json.dumps({{'file': vaurien.__file__, 'missing': missing}}))\n"
)


class CompareError(Exception):
    """A revision that cannot be checked out or run; the message is for a person."""


@dataclass(frozen=True)
class Tree:
    """A checkout whose vaurien one proxy mode runs.

    @ivar rev: the revision as given on the command line, or
        C{"working tree"}.
    @ivar commit: its full commit id (for the working tree, HEAD with
        C{+dirty} when vaurien/ has uncommitted changes).
    @ivar path: the directory the proxy runs in and imports from; C{None}
        for the checkout this bench runs from (started as without
        C{--compare}).
    @ivar accelerator: whether its C accelerators import there.
    """

    rev: str
    commit: str | None
    path: str | None = None
    accelerator: str = ""

    def popen_options(self) -> dict:
        """C{cwd} and C{env} for a C{Popen} that must import this tree's vaurien."""
        if self.path is None:
            return {}
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(
            [self.path] + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
        return {"cwd": self.path, "env": env}

    def facts(self) -> dict:
        return asdict(self)


def probe(tree: Tree) -> tuple[str, str]:
    """Where the proxies of C{tree} import vaurien from, and whether its
    C accelerators are built there (asked of a fresh interpreter started as
    the proxies are)."""
    done = subprocess.run([sys.executable, "-c", _PROBE.format(names=ACCELERATORS)],
                          capture_output=True, text=True, timeout=GIT_TIMEOUT,
                          stdin=subprocess.DEVNULL, **tree.popen_options())
    if done.returncode != 0:
        raise CompareError(f"vaurien at {tree.rev} does not import: {done.stderr[-1000:]}")
    found = json.loads(done.stdout.strip().splitlines()[-1])
    if found["missing"]:
        return found["file"], (f"not built: {', '.join(found['missing'])} "
                               "(Python instead; see scripts/ensure-venv.sh)")
    return found["file"], "built"


def working_tree(commit: str | None) -> Tree:
    """The checkout this bench runs from, as the new side of a comparison."""
    return Tree("working tree", commit, None, probe(Tree("working tree", commit))[1])


def _git(repo: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", repo, *args], capture_output=True, text=True,
                          timeout=GIT_TIMEOUT, stdin=subprocess.DEVNULL)


def resolve(repo: str, rev: str) -> str:
    """The full commit id of C{rev}.

    @raise CompareError: when C{rev} names no commit.
    """
    done = _git(repo, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    if done.returncode != 0 or not done.stdout.strip():
        raise CompareError(f"{rev!r} is not a commit of {repo}")
    return done.stdout.strip()


def build_in_place(path: str, log: Callable[[str], None]) -> None:
    """Build the C accelerators of the checkout at C{path} beside its sources.

    They are optional: a failure is logged and the tree runs in Python.
    """
    if not os.path.exists(os.path.join(path, "setup.py")):
        log(f"{path}: no setup.py, nothing to build")
        return
    try:
        done = subprocess.run([sys.executable, "setup.py", "-q", "build_ext", "--inplace"],
                              cwd=path, capture_output=True, text=True, timeout=BUILD_TIMEOUT,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        log(f"{path}: building the C accelerators took over {BUILD_TIMEOUT:.0f} s; "
            "running in Python")
        return
    if done.returncode != 0:
        log(f"{path}: building the C accelerators failed; running in Python:\n"
            f"{done.stderr[-1000:]}")


@contextmanager
def worktree(repo: str, rev: str, log: Callable[[str], None]) -> Iterator[Tree]:
    """Check C{rev} out into a temporary worktree of C{repo}, build it, yield it.

    The worktree and its temporary directory are removed on the way out,
    also when the body raises.

    @raise CompareError: when C{rev} names no commit, cannot be checked
        out, or its vaurien does not import from the worktree.
    """
    commit = resolve(repo, rev)
    parent = tempfile.mkdtemp(prefix="vaurien-bench-compare-")
    path = os.path.join(parent, commit[:12])
    try:
        done = _git(repo, "worktree", "add", "--detach", path, commit)
        if done.returncode != 0:
            raise CompareError(f"git worktree add {rev} failed: {done.stderr.strip()}")
        log(f"{rev} ({commit[:12]}) checked out in {path}; building its C accelerators")
        build_in_place(path, log)
        imported, accelerator = probe(Tree(rev, commit, path))
        if not os.path.realpath(imported).startswith(os.path.realpath(path) + os.sep):
            raise CompareError(f"vaurien at {rev} imports from {imported}, not from {path}")
        yield Tree(rev, commit, path, accelerator)
    finally:
        _remove(repo, parent, path, log)


def _remove(repo: str, parent: str, path: str, log: Callable[[str], None]) -> None:
    if os.path.exists(path):
        done = _git(repo, "worktree", "remove", "--force", path)
        if done.returncode != 0:
            log(f"git worktree remove {path} failed: {done.stderr.strip()}")
    shutil.rmtree(parent, ignore_errors=True)
    if any(line == f"worktree {path}"
           for line in _git(repo, "worktree", "list", "--porcelain").stdout.splitlines()):
        # Its directory is gone now: prune forgets it (and only stale entries).
        _git(repo, "worktree", "prune")
