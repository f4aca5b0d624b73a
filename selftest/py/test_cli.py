"""The command line: help, usage errors (exit 2), input errors (exit 1)."""
import os

import support
from support import fixture, tool


class CliTest(support.TempDir):
    def test_help_lists_every_subcommand(self):
        proc = tool("--help")
        self.assertEqual(proc.returncode, 0)
        for word in (b"merge", b"summary", b"html", b"from-json",
                     b"Exit status"):
            self.assertIn(word, proc.stdout)
        for sub in ("merge", "summary", "html", "from-json"):
            proc = tool(sub, "--help")
            self.assertEqual(proc.returncode, 0, sub)
            self.assertIn(b"usage: deft-report " + sub.encode(), proc.stdout)

    def usage(self, *args, words):
        proc = tool(*args)
        self.assertEqual(proc.returncode, 2, proc.stderr)
        self.assertEqual(proc.stdout, b"")
        self.assertIn(words, proc.stderr)

    def test_usage_errors_exit_2(self):
        self.usage(words=b"required: COMMAND")
        self.usage("frobnicate", words=b"invalid choice: 'frobnicate'")
        self.usage("merge", "out.xml", words=b"required: IN")
        self.usage("summary", "--lines", "x", fixture("deft_shard0.xml"),
                   words=b"not a number: 'x'")
        self.usage("summary", "--slowest", "-1", fixture("deft_shard0.xml"),
                   words=b"negative: -1")
        self.usage("from-json", "a", "b", words=b"unrecognized arguments: b")

    def test_stdin_named_twice(self):
        proc = tool("summary", "-", "-", stdin=b"")
        self.assertEqual(proc.returncode, 2)
        self.assertEqual(proc.stderr, b"deft-report: stdin (-) named more "
                         b"than once\n")

    def test_closed_stdout_is_not_an_error(self):
        import subprocess
        import sys
        # summary | head: the reader has gone before the summary is written.
        r, w = os.pipe()
        os.close(r)
        proc = subprocess.run([sys.executable, support.TOOL, "summary",
                               fixture("go_count2.json")], stdout=w,
                              stderr=subprocess.PIPE)
        os.close(w)
        self.assertEqual((proc.returncode, proc.stderr), (0, b""))

    def test_summary_from_stdin(self):
        with open(fixture("go_count2.json"), "rb") as f:
            proc = tool("summary", "-", stdin=f.read())
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertTrue(proc.stdout.startswith(b"28 tests in 1 input"))

    def test_empty_input(self):
        src = self.path("empty.xml")
        open(src, "w").close()
        proc = tool("summary", src)
        self.assertEqual(proc.returncode, 1)
        self.assertIn(src.encode() + b": empty", proc.stderr)

    def test_unwritable_output(self):
        out = os.path.join(self.tmp, "no", "such", "dir", "r.html")
        proc = tool("html", out, fixture("deft_shard0.xml"))
        self.assertEqual(proc.returncode, 1)
        self.assertEqual(proc.stderr, ("deft-report: %s: No such file or "
                                       "directory\n" % out).encode())

    def test_failed_rename_leaves_no_temporary_file(self):
        out = self.path("taken")
        os.mkdir(out)
        proc = tool("merge", out, fixture("deft_shard0.xml"))
        self.assertEqual(proc.returncode, 1)
        self.assertIn(out.encode() + b": Is a directory", proc.stderr)
        self.assertEqual(os.listdir(self.tmp), ["taken"])

    def test_runs_as_a_module_too(self):
        import subprocess
        import sys
        proc = subprocess.run(
            [sys.executable, "-m", "deft_report", "summary",
             fixture("deft_shard0.xml")], stdout=subprocess.PIPE,
            env=dict(os.environ, PYTHONPATH=os.path.join(support.ROOT,
                                                         "reporters")))
        self.assertEqual(proc.returncode, 0)
        self.assertTrue(proc.stdout.startswith(b"3 tests in 1 input"))
