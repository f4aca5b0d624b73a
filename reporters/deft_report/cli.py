"""The command line: subcommands, their arguments, and exit statuses (0
done, 1 an input that cannot be read or is invalid, 2 a usage error)."""
import argparse
import os
import sys

from .errors import InputError, UsageError
from .files import load, read_bytes, write_atomic
from .html_page import render
from .junit_write import write_junit
from .merge import merge
from .summary import summary
from .testjson import read_testjson

PROG = "deft-report"


def _merge(args):
    report = merge(load(args.inputs))
    write_atomic(args.out, write_junit(report, name=args.name,
                                       strict=args.strict))


def _summary(args):
    sys.stdout.write(summary(load(args.inputs), lines=args.lines,
                             slowest=args.slowest))


def _html(args):
    write_atomic(args.out, render(merge(load(args.inputs)),
                                  title=args.title))


def _from_json(args):
    data, source = read_bytes(args.input)
    if data.lstrip()[:1] == b"<":
        raise InputError(source, 1, "JUnit XML, not a test2json stream")
    report = read_testjson(data, source)
    if not report.suites:
        raise InputError(source, 0, "no test2json events")
    write_atomic(args.output, write_junit(report, name=args.name))


def _count(s):
    try:
        n = int(s)
    except ValueError:
        raise argparse.ArgumentTypeError("not a number: %r" % s) from None
    if n < 0:
        raise argparse.ArgumentTypeError("negative: %d" % n)
    return n


def parser():
    p = argparse.ArgumentParser(
        prog=PROG,
        description="Merge, summarise and render test reports: JUnit XML "
        "(deft -junit, gotestsum, Jenkins, Surefire) and test2json streams "
        "(deft -json, go test -json), told apart by their first character. "
        "An input or output named - is stdin or stdout.  Exit status: 0 "
        "done, 1 an input unreadable or invalid (the message names the "
        "file and line), 2 a usage error.  Output files are written whole "
        "or not at all.")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    m = sub.add_parser("merge", help="many reports into one JUnit file",
                       description="Merge JUnit files or test2json streams "
                       "(from several binaries or shards) into one JUnit "
                       "file; suites of the same name are joined, counts "
                       "recomputed, repeated classname+name pairs renamed "
                       "'name (run N)'.")
    m.add_argument("out", metavar="OUT.xml")
    m.add_argument("inputs", metavar="IN", nargs="+")
    m.add_argument("--name", help="name attribute of <testsuites>")
    m.add_argument("--strict", action="store_true",
                   help="keep no attribute that Jenkins' or Surefire's "
                   "schema forbids (a case's file and line and a suite's "
                   "own output are dropped, a suite's other attributes "
                   "become properties)")
    m.set_defaults(run=_merge)

    s = sub.add_parser("summary", help="totals, failures, flaky, slowest",
                       description="Print totals, each failure with the "
                       "first lines of its log, flaky tests (passed and "
                       "failed across repeated runs or files, or marked "
                       "flaky by Surefire) and the slowest tests.")
    s.add_argument("inputs", metavar="FILE", nargs="+")
    s.add_argument("--lines", type=_count, default=5,
                   help="log lines shown per failure (default 5)")
    s.add_argument("--slowest", type=_count, default=10,
                   help="how many slowest tests to list (default 10)")
    s.set_defaults(run=_summary)

    h = sub.add_parser("html", help="one self-contained HTML page",
                       description="Render one HTML file with no outside "
                       "references (suites of the same name joined, as by "
                       "merge): a pass/fail tree of the tests by their "
                       "a/b/c names with filtering, each test's logs, "
                       "cleanup failures and leak reports, and a timeline "
                       "(from test2json Time stamps; from JUnit times laid "
                       "end to end otherwise).")
    h.add_argument("out", metavar="OUT.html")
    h.add_argument("inputs", metavar="FILE", nargs="+")
    h.add_argument("--title", default="deft test report")
    h.set_defaults(run=_html)

    j = sub.add_parser("from-json", help="test2json stream to JUnit",
                       description="Convert a test2json stream (go test "
                       "-json, deft -json) to JUnit XML valid against "
                       "Jenkins' xunit schema and, per suite, Surefire's.")
    j.add_argument("input", metavar="IN.json", nargs="?", default="-")
    j.add_argument("-o", "--output", metavar="OUT.xml", default="-")
    j.add_argument("--name", help="name attribute of <testsuites>")
    j.set_defaults(run=_from_json)
    return p


def main(argv=None):
    args = parser().parse_args(argv)
    try:
        args.run(args)
    except UsageError as err:
        print("%s: %s" % (PROG, err), file=sys.stderr)
        return 2
    except InputError as err:
        print("%s: %s" % (PROG, err), file=sys.stderr)
        return 1
    except BrokenPipeError:
        # The reader of stdout went away (summary | head): not an error.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except OSError as err:
        print("%s: %s: %s" % (PROG, err.filename or "output", err.strerror),
              file=sys.stderr)
        return 1
    return 0
