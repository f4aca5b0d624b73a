"""html: one self-contained HTML page of a report.

The page is a skeleton, inline CSS and JS (report.css, report.js beside
this file) and the results as one JSON document in a <script> element; the
script builds the tree, the filter and the timeline in the browser, with
textContent only, so test output can never become markup.  Nothing is
loaded from outside the file.

The timeline is real when the input was a test2json stream (each case's
start and end Time, paused spans of parallel subtests).  JUnit has only
durations, so there each suite's top-level tests are laid end to end from
the suite's timestamp and each test's subtests end to end from its start;
the page says so.
"""
from datetime import datetime, timezone
import html
import json
import os

from .model import base_name
from .text import clean

_HERE = os.path.dirname(os.path.abspath(__file__))
# A page stays light enough for a browser with thousands of tests: each
# log is cut to this many characters (head and tail kept).
LOG_LIMIT = 256 * 1024


def _asset(name):
    with open(os.path.join(_HERE, name), encoding="utf-8") as f:
        return f.read()


def _parent(name):
    return name.rsplit("/", 1)[0] if "/" in name else None


def _lay_out(suite, cursor):
    """Gives the cases of suite, whose times are durations only, starts
    and ends end to end from cursor; returns where the suite ends."""
    if suite.start is not None:
        cursor = suite.start
    names = {}
    for c in suite.cases:
        names.setdefault(base_name(c.name), c)
    children = {}
    tops = []
    for c in suite.cases:
        p = _parent(base_name(c.name))
        if p is not None and p in names:
            children.setdefault(p, []).append(c)
        else:
            tops.append(c)

    def place(c, at):
        c.start, c.end = at, at + c.time
        t = at
        for child in children.get(base_name(c.name), []):
            if child.start is None:
                place(child, t)
                t += child.time

    for c in tops:
        place(c, cursor)
        cursor += c.time
    for c in suite.cases:           # cycles or orphans: end of the suite
        if c.start is None:
            place(c, cursor)
            cursor += c.time
    return cursor


def page_data(report, title):
    """The JSON document the page's script reads."""
    cursor = 0.0
    for s in report.suites:         # those read from JUnit
        if s.cases and all(c.start is None for c in s.cases):
            cursor = _lay_out(s, cursor)
    starts = [c.start for c in report.cases() if c.start is not None]
    t0 = min(starts) if starts else 0.0

    def rel(t):
        return None if t is None else round(t - t0, 6)

    suites, cases = [], []
    for i, s in enumerate(report.suites):
        suites.append({"name": clean(s.name, 4096), "source": s.source,
                       "time": s.total_time(), "props": [
                           [clean(k, 4096), clean(v, 4096)]
                           for k, v in s.properties]})
        for c in s.cases:
            start = c.start if c.start is not None else s.start
            end = c.end if c.end is not None else (
                None if start is None else start + c.time)
            cases.append({
                "s": i, "n": clean(c.name, 4096),
                "base": clean(base_name(c.name), 4096),
                "c": clean(c.classname, 4096), "st": c.status,
                "flaky": c.flaky, "t": c.time, "m": clean(c.message, 4096),
                "text": clean(c.text, LOG_LIMIT),
                "out": clean(c.stdout, LOG_LIMIT),
                "err": clean(c.stderr, LOG_LIMIT),
                "rr": [{"k": r.kind, "m": clean(r.message, 4096),
                        "text": clean("\n".join(x for x in (
                            r.text, r.stdout, r.stderr) if x), LOG_LIMIT)}
                       for r in c.reruns],
                "file": clean(str(c.attrs.get("file", "")), 4096),
                "line": clean(str(c.attrs.get("line", "")), 64),
                "a": rel(start), "b": rel(end),
                "p": [[rel(a), rel(b)] for a, b in c.pauses
                      if a is not None and b is not None],
            })
    return {"title": clean(title, 4096), "timed": report.timed,
            "t0": datetime.fromtimestamp(t0, timezone.utc).isoformat()
            if starts and report.timed else None,
            "sources": report.sources, "suites": suites, "cases": cases,
            "generated": datetime.now(timezone.utc).strftime(
                "%Y-%m-%d %H:%M:%S UTC")}


def _script_json(obj):
    """JSON safe inside <script>: no "<" at all, so no "</script>" or
    "<!--"; ASCII only."""
    return json.dumps(obj, ensure_ascii=True, separators=(",", ":")) \
        .replace("<", "\\u003c").replace(">", "\\u003e") \
        .replace("&", "\\u0026")


def render(report, title="deft test report"):
    """The page, a str."""
    data = page_data(report, title)
    return """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; \
style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<title>%(title)s</title>
<style>
%(css)s</style>
</head>
<body>
<header>
<h1>%(title)s</h1>
<p id="totals"></p>
<form id="controls" onsubmit="return false">
<input id="filter" type="search" placeholder="filter: part of a name, or /regexp/" \
autocomplete="off" size="40">
<label><input type="checkbox" name="status" value="fail" checked> failed</label>
<label><input type="checkbox" name="status" value="error" checked> errors</label>
<label><input type="checkbox" name="status" value="flaky" checked> flaky</label>
<label><input type="checkbox" name="status" value="pass" checked> passed</label>
<label><input type="checkbox" name="status" value="skip" checked> skipped</label>
<span id="shown"></span>
</form>
</header>
<main>
<section id="tree-section"><h2>Tests</h2><div id="tree"></div></section>
<section id="timeline-section"><h2>Timeline</h2><p id="timeline-note"></p>\
<div id="timeline"></div></section>
</main>
<noscript><p>This report needs JavaScript to show its results.</p></noscript>
<script id="data" type="application/json">%(data)s</script>
<script>
%(js)s</script>
</body>
</html>
""" % {"title": html.escape(data["title"]), "css": _asset("report.css"),
       "js": _asset("report.js"), "data": _script_json(data)}
