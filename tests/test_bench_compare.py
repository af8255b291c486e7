"""C{python -m bench --compare REV}: the worktree's life, the modes a run
measures, the table, and that a tree's proxy imports that tree's vaurien.

No load runs here: the git repositories are tiny ones made for each test,
and the one proxy started is a stand-in that only listens.
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from twisted.trial.unittest import TestCase

from bench import compare, processes, redis_load, report
from bench.context import Context

_GIT_IDENTITY = ["-c", "user.name=bench test", "-c", "user.email=bench@example.invalid"]


def git(repo: str, *args: str) -> str:
    return subprocess.run(["git", "-C", repo, *_GIT_IDENTITY, *args], check=True,
                          capture_output=True, text=True, timeout=30).stdout.strip()


def write(root: str, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = os.path.join(root, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(textwrap.dedent(text))


#: A setup.py that records how it was run, in place of a real build.
_RECORDING_SETUP = """\
    import os, sys
    with open("built-with", "w") as f:
        f.write(sys.executable + "\\n" + " ".join(sys.argv[1:]) + "\\n" + os.getcwd())
"""


class WorktreeTests(TestCase):
    """L{compare.worktree} checks a revision out, builds it in place, and
    removes it afterwards, on every way out."""

    def setUp(self) -> None:
        self.repo = os.path.abspath(self.mktemp())
        os.makedirs(self.repo)
        git(self.repo, "init", "-q")
        self.commits = []
        for version in (1, 2):
            write(self.repo, {"vaurien/__init__.py": f"VERSION = {version}\n",
                              "setup.py": _RECORDING_SETUP})
            git(self.repo, "add", "vaurien/__init__.py", "setup.py")
            git(self.repo, "commit", "-q", "-m", f"version {version}")
            self.commits.append(git(self.repo, "rev-parse", "HEAD"))
        self.logged: list[str] = []

    def worktrees(self) -> list[str]:
        return [line.split(" ", 1)[1] for line in
                git(self.repo, "worktree", "list", "--porcelain").splitlines()
                if line.startswith("worktree ")]

    def test_checks_out_the_revision_detached_and_removes_it(self) -> None:
        with compare.worktree(self.repo, "HEAD~1", self.logged.append) as tree:
            self.assertEqual(tree.commit, self.commits[0])
            self.assertEqual(tree.rev, "HEAD~1")
            with open(os.path.join(tree.path, "vaurien", "__init__.py")) as f:
                self.assertEqual(f.read(), "VERSION = 1\n")
            self.assertIn(tree.path, self.worktrees())
            self.assertEqual(git(tree.path, "rev-parse", "--abbrev-ref", "HEAD"), "HEAD")
            parent = os.path.dirname(tree.path)
        self.assertFalse(os.path.exists(parent))
        self.assertEqual(self.worktrees(), [self.repo])
        # The repository's own checkout is untouched.
        with open(os.path.join(self.repo, "vaurien", "__init__.py")) as f:
            self.assertEqual(f.read(), "VERSION = 2\n")

    def test_builds_in_place_with_this_interpreter(self) -> None:
        with compare.worktree(self.repo, self.commits[0], self.logged.append) as tree:
            with open(os.path.join(tree.path, "built-with")) as f:
                executable, args, cwd = f.read().split("\n")
        self.assertEqual(executable, sys.executable)
        self.assertEqual(args, "-q build_ext --inplace")
        self.assertEqual(os.path.realpath(cwd), os.path.realpath(tree.path))

    def test_a_failed_build_runs_in_python(self) -> None:
        write(self.repo, {"setup.py": "raise SystemExit('no compiler here')\n"})
        git(self.repo, "commit", "-q", "-am", "unbuildable")
        with compare.worktree(self.repo, "HEAD", self.logged.append) as tree:
            self.assertTrue(tree.accelerator.startswith("not built:"), tree.accelerator)
        self.assertTrue(any("no compiler here" in line for line in self.logged), self.logged)
        self.assertEqual(self.worktrees(), [self.repo])

    def test_removed_when_the_run_fails(self) -> None:
        with self.assertRaises(ZeroDivisionError):
            with compare.worktree(self.repo, "HEAD", self.logged.append) as tree:
                1 / 0
        self.assertFalse(os.path.exists(tree.path))
        self.assertEqual(self.worktrees(), [self.repo])

    def refusal(self, rev: str) -> str:
        """The message C{worktree(rev)} is refused with; no worktree is left."""
        with self.assertRaises(compare.CompareError) as caught:
            with compare.worktree(self.repo, rev, self.logged.append):
                self.fail(f"entered a worktree of {rev}")
        self.assertEqual(self.worktrees(), [self.repo])
        return str(caught.exception)

    def test_an_unknown_revision_is_refused(self) -> None:
        self.assertIn("'no-such-rev' is not a commit", self.refusal("no-such-rev"))

    def test_a_revision_without_its_own_vaurien_is_refused(self) -> None:
        """A tree without a vaurien package would run another one (the
        installed one, if any): refused, and its worktree removed."""
        git(self.repo, "rm", "-q", "-r", "vaurien")
        git(self.repo, "commit", "-q", "-m", "no vaurien")
        self.assertRegex(self.refusal("HEAD"), "imports from .*, not from|does not import")

    def test_the_proxies_import_the_tree(self) -> None:
        with compare.worktree(self.repo, "HEAD~1", self.logged.append) as tree:
            imported, _ = compare.probe(tree)
            options = tree.popen_options()
        self.assertEqual(imported, os.path.join(tree.path, "vaurien", "__init__.py"))
        self.assertEqual(options["cwd"], tree.path)
        self.assertEqual(options["env"]["PYTHONPATH"].split(os.pathsep)[0], tree.path)

    def test_the_working_tree_runs_as_without_compare(self) -> None:
        self.assertEqual(compare.Tree("working tree", None).popen_options(), {})


class TreeProcessTests(TestCase):
    """L{processes.vaurien} with a tree starts that tree's C{vaurien.script}."""

    def test_started_from_the_tree(self) -> None:
        root = os.path.abspath(self.mktemp())
        write(root, {
            "vaurien/__init__.py": "",
            "vaurien/script.py": """\
                import os, socket, time

                def main(argv):
                    host, port = argv[argv.index("--proxy") + 1].rsplit(":", 1)
                    s = socket.socket()
                    s.bind((host, int(port)))
                    s.listen()
                    with open(os.path.join(os.getcwd(), "started"), "w") as f:
                        f.write(__file__ + "\\n" + " ".join(argv))
                    end = time.monotonic() + 30
                    while time.monotonic() < end:
                        time.sleep(0.1)
            """})
        tree = compare.Tree("HEAD~9", "f" * 40, root, "not built")
        with processes.vaurien(processes.free_port(), "redis", tree=tree) as proxy:
            self.assertIn("ffffffffffff", proxy.name)
            with open(os.path.join(root, "started")) as f:
                script, argv = f.read().split("\n")
        self.assertEqual(script, os.path.join(root, "vaurien", "script.py"))
        self.assertIn(f"--proxy {processes.HOST}:{proxy.port}", argv)
        self.assertIn("--protocol redis", argv)


class ModeTests(TestCase):
    """The modes a run measures, with and without C{--compare}."""

    old = compare.Tree("HEAD~5", "a" * 40, "/tmp/old", "built")

    def test_without_compare_every_row_has_vaurien_and_the_references(self) -> None:
        ctx = Context(3, True)
        self.assertFalse(ctx.compared)
        self.assertEqual(ctx.modes(), ["direct", "vaurien", "portforward", "haproxy"])
        self.assertEqual(ctx.vaurien_modes, ["vaurien"])

    def test_compare_puts_old_beside_vaurien_and_leaves_the_references_out(self) -> None:
        ctx = Context(3, True, trees={"vaurien": None, "old": self.old}, references=False)
        self.assertTrue(ctx.compared)
        self.assertEqual(ctx.modes(), ["direct", "vaurien", "old"])
        self.assertEqual(ctx.proxy_modes, ["vaurien", "old"])

    def test_compare_with_references(self) -> None:
        ctx = Context(3, True, trees={"vaurien": None, "old": self.old}, references=True)
        self.assertEqual(ctx.modes(), ["direct", "vaurien", "old", "portforward", "haproxy"])

    def test_each_vaurien_mode_starts_from_its_tree(self) -> None:
        started = []
        self.patch(processes, "vaurien",
                   lambda port, protocol, handler, extra, tree: started.append((protocol, tree)))
        self.patch(processes, "portforward", lambda port: started.append(("portforward", port)))
        ctx = Context(1, True, trees={"vaurien": None, "old": self.old}, references=False)
        ctx.start("vaurien", 1, "http")
        ctx.start("old", 1, "http")
        ctx.start("portforward", 7)
        self.assertEqual(started, [("http", None), ("http", self.old), ("portforward", 7)])
        self.assertRaises(ValueError, ctx.start, "direct", 1)

    def test_interleave_rotates_old_with_the_others(self) -> None:
        ctx = Context(3, True, trees={"vaurien": None, "old": self.old}, references=False)
        seen = []
        ctx.interleave(ctx.modes(), lambda mode, r: seen.append((r, mode)))
        self.assertEqual([m for r, m in seen if r == 0], ["direct", "vaurien", "old"])
        self.assertEqual([m for r, m in seen if r == 1], ["vaurien", "old", "direct"])
        self.assertEqual([m for r, m in seen if r == 2], ["old", "direct", "vaurien"])

    def test_faulted_redis_modes_report_in_their_vaurien_column(self) -> None:
        for mode in ("vaurien", "old"):
            faulted = redis_load.faulted_mode(mode, "20:delay,20:error")
            self.assertEqual(faulted, f"{mode}@20:delay,20:error")
            self.assertEqual(redis_load.faulted_column(faulted), mode)
            self.assertEqual(redis_load.fault_of(faulted), "20:delay,20:error")
        for mode in ("direct", "vaurien", "old", "portforward", "haproxy"):
            self.assertIsNone(redis_load.faulted_column(mode))
            self.assertIsNone(redis_load.fault_of(mode))

    def test_redis_runs_each_vaurien_with_and_without_faults(self) -> None:
        self.assertEqual(redis_load.modes(Context(3, True)),
                         ["direct", "vaurien", "vaurien@20:error", "vaurien@20:delay,20:error",
                          "portforward", "haproxy"])
        ctx = Context(3, True, trees={"vaurien": None, "old": self.old}, references=False)
        self.assertEqual(redis_load.modes(ctx),
                         ["direct", "vaurien", "vaurien@20:error", "vaurien@20:delay,20:error",
                          "old", "old@20:error", "old@20:delay,20:error"])


class TableTests(TestCase):
    """The table prints the old vaurien, its ratio to direct and new/old."""

    def metric(self, **rounds: list[float]) -> dict:
        m = report.metric("latency", "round trip p50", "us")
        for mode, values in rounds.items():
            for v in values:
                report.add(m, mode, v)
        return m

    def test_compare_columns(self) -> None:
        m = self.metric(direct=[10, 10, 10], vaurien=[30, 30, 30], old=[20, 20, 20])
        self.assertAlmostEqual(report.summarize(m)["new_over_old"], 1.5)
        head, rule, row = report.table([m]).splitlines()
        self.assertEqual(head.split(), ["bench", "metric", "unit", "direct", "vaurien", "v/d",
                                        "old", "o/d", "v/o", "target", "met"])
        self.assertEqual(row.split()[-7:], ["10", "30", "3", "20", "2", "1.50", "-"])
        self.assertNotIn("portfwd", head)

    def test_without_compare_no_old_columns(self) -> None:
        m = self.metric(direct=[10], vaurien=[30], portforward=[20], haproxy=[15])
        self.assertIsNone(report.summarize(m)["new_over_old"])
        head = report.table([m]).splitlines()[0].split()
        self.assertEqual(head, ["bench", "metric", "unit", "direct", "vaurien", "v/d",
                                "portfwd", "pf/d", "haproxy", "hp/d", "target", "met"])
