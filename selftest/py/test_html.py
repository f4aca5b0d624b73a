"""html: a self-contained page; its tree, filter and timeline checked in
the page's own data and, after its script ran, in headless Chromium."""
from html.parser import HTMLParser
import json
import os
import re
import shutil
import subprocess
import unittest

import support
from support import fixture, tool


class Elements(HTMLParser):
    """Start tags of a document, as (tag, attrs dict, text that follows
    until the next tag)."""

    def __init__(self, text):
        super().__init__()
        self.tags = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.tags.append([tag, dict(attrs), ""])

    def handle_data(self, data):
        if self.tags:
            self.tags[-1][2] += data


def chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return name
    raise unittest.SkipTest("chromium is not installed (sh ninja/deps.sh)")


class PageTest(support.TempDir):
    def render(self, *inputs):
        out = self.path("report.html")
        proc = tool("html", out, *inputs)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        with open(out, encoding="utf-8") as f:
            return out, f.read()

    def data(self, page):
        m = re.search(r'<script id="data" type="application/json">(.*?)'
                      r'</script>', page, re.S)
        return json.loads(m.group(1))

    def test_self_contained(self):
        hostile = self.failing_test_stream(
            "hostile.json", "T",
            "</script><script>alert(1)</script><!-- \u2028\n")
        _, page = self.render(fixture("go_count2.json"), hostile)
        self.assertEqual(page.count("<script"), 2)
        self.assertEqual(page.count("</script>"), 2)
        self.assertNotIn("<!--", page)
        for outside in ("src=", "href=", "http:", "https:", "<link",
                        "@import", "url("):
            self.assertNotIn(outside, page)
        data = self.data(page)
        self.assertIn("</script><script>alert(1)</script><!-- \u2028",
                      data["cases"][-1]["text"])

    def test_huge_logs_are_cut(self):
        src = self.failing_test_stream("huge.json", "T",
                                       "begin" + "x" * 3000000 + "end\n")
        _, page = self.render(src)
        self.assertLess(len(page), 400 * 1024)
        (case,) = self.data(page)["cases"]
        self.assertTrue(case["text"].startswith("begin"))
        self.assertTrue(case["text"].endswith("end\n"))
        self.assertIn("deft-report cut", case["text"])

    def test_stream_gives_a_real_timeline(self):
        _, page = self.render(fixture("go_count2.json"))
        data = self.data(page)
        self.assertTrue(data["timed"])
        self.assertEqual(len(data["cases"]), 28)
        by = {c["n"]: c for c in data["cases"]}
        p2 = by["TestParallel/p2"]
        parent = by["TestParallel"]
        self.assertEqual(min(c["a"] for c in data["cases"]), 0)
        # p2 slept 30 ms after its parent let it go on.
        self.assertGreaterEqual(p2["b"] - p2["a"], 0.030)
        (pause,) = p2["p"]
        self.assertTrue(p2["a"] <= pause[0] <= pause[1] <= p2["b"])
        self.assertGreaterEqual(p2["b"] - pause[1], 0.030)
        self.assertLessEqual(parent["a"], p2["a"])
        self.assertEqual(by["TestFlaky (run 2)"]["base"], "TestFlaky")

    def test_junit_timeline_lays_tests_end_to_end(self):
        _, page = self.render(fixture("deft_shard0.xml"))
        data = self.data(page)
        self.assertFalse(data["timed"])
        span = {c["n"]: (round(c["a"], 3), round(c["b"], 3))
                for c in data["cases"]}
        self.assertEqual(span, {"counts_words": (0, 0.1),
                                "table": (0.1, 0.25),
                                "table/empty": (0.1, 0.15)})

    def browse(self, page, *flags):
        user = self.path("chromium-profile")
        os.makedirs(user, exist_ok=True)
        proc = subprocess.run(
            [chromium(), "--headless", "--no-sandbox", "--disable-gpu",
             "--disable-quic", "--no-first-run",
             "--disable-background-networking",
             "--disable-component-update", "--disable-sync",
             "--user-data-dir=" + user, *flags, page],
            env=dict(os.environ, HOME=self.tmp),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=180)
        self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
        return proc.stdout.decode("utf-8", "replace")

    def visible(self, dom):
        """(names of shown tree nodes, of hidden ones, the "shown" text,
        how many timeline rows are shown)."""
        tags = Elements(dom).tags
        body = [a for t, a, _ in tags if t == "body"][0]
        self.assertEqual(body.get("data-ready"), "yes")
        shown = {a["data-name"] for t, a, _ in tags
                 if t == "details" and "hidden" not in a}
        hidden = {a["data-name"] for t, a, _ in tags
                  if t == "details" and "hidden" in a}
        count = [x.strip() for t, a, x in tags if a.get("id") == "shown"][0]
        rows = sum(1 for t, a, _ in tags
                   if a.get("class") == "tl-row" and "hidden" not in a)
        return shown, hidden, count, rows

    def test_filter_by_name_and_status_in_chromium(self):
        out, _ = self.render(fixture("go_count2.json"))
        dom = self.browse("--dump-dom",
                          "file://%s#q=TestTree&status=fail,error" % out)
        shown, hidden, count, rows = self.visible(dom)
        self.assertEqual(shown, {"", "TestTree", "TestTree/a",
                                 "TestTree/a/bad"})
        self.assertTrue({"TestPasses", "TestFails", "TestTree/b",
                         "TestTree/a/ok"} <= hidden)
        self.assertEqual(count, "3 of 14 tests shown")
        self.assertEqual(rows, 6)       # three tests, two runs each

    def test_regexp_filter_in_chromium(self):
        out, _ = self.render(fixture("go_count2.json"))
        dom = self.browse("--dump-dom",
                          "file://%s#q=%s" % (out, "/^TestParallel%5C/p[12]$/"))
        shown, _, count, rows = self.visible(dom)
        self.assertEqual(shown, {"", "TestParallel", "TestParallel/p1",
                                 "TestParallel/p2"})
        self.assertEqual((count, rows), ("2 of 14 tests shown", 4))

    def test_flaky_across_shards_in_chromium(self):
        # The shards' suites are joined, so counts_words, passed in one
        # and failed in the other, is one flaky test with two runs.
        out, _ = self.render(fixture("deft_shard0.xml"),
                             fixture("deft_shard1.xml"),
                             fixture("surefire_flaky.xml"))
        dom = self.browse("--dump-dom", "file://%s#status=flaky" % out)
        shown, _, count, rows = self.visible(dom)
        self.assertEqual(shown, {"", "counts_words", "retriesPayment"})
        self.assertEqual((count, rows), ("2 of 10 tests shown", 3))
        tags = Elements(dom).tags
        badges = [x.strip() for t, a, x in tags
                  if a.get("class") == "badge flaky"]
        self.assertEqual(badges, ["FLAKY", "FLAKY"])

    def test_test_output_stays_text_in_chromium(self):
        src = self.failing_test_stream(
            "xss.json", "<img src=x onerror=boom()>",
            "<b>bold</b> in cleanup close(fd)\n")
        out, _ = self.render(src)
        tags = Elements(self.browse("--dump-dom", "file://" + out)).tags
        self.assertFalse([t for t, _, _ in tags if t in ("img", "b")])
        # The cleanup failure is listed on its own and marked in the log.
        self.assertIn(("span", {"class": "cleanup"},
                       "<b>bold</b> in cleanup close(fd)"),
                      [(t, a, x.strip()) for t, a, x in tags])

    def test_screenshot_shows_failures_in_red_and_passes_in_green(self):
        out, _ = self.render(fixture("go_count2.json"))
        png = self.path("shot.png")
        self.browse("--window-size=1200,900", "--screenshot=" + png,
                    "--hide-scrollbars", "file://%s#q=Tree" % out)
        w, h, rows = support.read_png(png)
        self.assertEqual((w, h), (1200, 900))
        pixels = [p for row in rows for p in row]

        def near(c):
            return sum(1 for p in pixels
                       if all(abs(a - b) < 24 for a, b in zip(p, c)))
        self.assertGreater(near((0xcf, 0x22, 0x2e)), 500)   # FAIL badges
        self.assertGreater(near((0x1a, 0x7f, 0x37)), 200)   # PASS badges
        self.assertGreater(len(set(pixels)), 50)            # not blank
