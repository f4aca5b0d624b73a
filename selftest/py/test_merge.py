"""merge, and the JUnit reader under it: the dialects of deft, gotestsum,
Jenkins and Surefire in, one valid file with recomputed counts out."""
import os
import xml.etree.ElementTree as ET

import support
from support import fixture, tool
from deft_report.junit_read import read_junit
from deft_report.model import PASS, FAIL, ERROR, SKIP


def read(name):
    with open(fixture(name), "rb") as f:
        return read_junit(f.read(), name)


class ReadTest(support.TempDir):
    def test_surefire_reruns_and_statuses(self):
        (suite,) = read("surefire_flaky.xml").suites
        got = {c.name: c for c in suite.cases}
        self.assertEqual([c.status for c in suite.cases],
                         [PASS, PASS, FAIL, SKIP, ERROR])
        flaky = got["retriesPayment"]
        self.assertTrue(flaky.flaky)
        (r,) = flaky.reruns
        self.assertEqual((r.kind, r.stdout), ("flakyFailure", "attempt 1"))
        self.assertIn("CartTest.java:42", r.text)
        self.assertEqual(flaky.stdout, "attempt 2")
        broken = got["alwaysBroken"]
        self.assertFalse(broken.flaky)
        self.assertEqual(broken.reruns[0].kind, "rerunFailure")
        self.assertEqual(got["ignored"].message, "@Disabled")
        self.assertEqual(suite.time, 1234.5)    # Surefire's "1,234.5"
        self.assertEqual(suite.properties, [("java.version", "17.0.9")])

    def test_nested_suites_are_flattened(self):
        report = read("jenkins_nested.xml")
        self.assertEqual([s.name for s in report.suites], ["outer", "inner"])
        self.assertEqual(report.suites[0].stdout, "suite-level output")
        (deep,) = report.suites[1].cases
        self.assertEqual((deep.status, deep.message, deep.text),
                         (FAIL, "", "only a body, no message"))

    def test_cases_outside_any_suite(self):
        report = read_junit(b'<testsuites name="root"><testcase name="a"/>'
                            b'<testsuite name="s"><testcase name="b"/>'
                            b'</testsuite><testcase name="c"><skipped/>'
                            b'</testcase></testsuites>', "x.xml")
        self.assertEqual([(s.name, [c.name for c in s.cases])
                          for s in report.suites],
                         [("s", ["b"]), ("root", ["a", "c"])])
        self.assertEqual(report.suites[1].cases[1].status, SKIP)

    def test_forbidden_characters_in_the_input_are_repaired(self):
        src = self.path("dirty.xml")
        data = (b'<?xml version="1.0" encoding="UTF-8"?>\n<testsuite '
                b'name="s"><testcase name="a &#x1;"><failure message="'
                b'&#27;[31mred">esc &#x1b;[31m &#0; raw \x01\x1f bad '
                b'\xff\xc3( kept &#233; &#x1F600; &amp;&#38; &#xFFFE;'
                b'</failure></testcase></testsuite>\n')
        with open(src, "wb") as f:
            f.write(data)
        (suite,) = read_junit(data, src).suites
        (case,) = suite.cases
        self.assertEqual(case.name, "a \\x01")
        self.assertEqual(case.message, "\\x1b[31mred")
        self.assertEqual(case.text, "esc \\x1b[31m \\x00 raw \\x01\\x1f bad "
                         "\\xff\\xc3( kept \u00e9 \U0001F600 && \\ufffe")
        out = self.path("clean.xml")
        proc = tool("merge", out, src)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertValid(out)

    def test_other_encodings_are_left_alone(self):
        report = read_junit('<?xml version="1.0" encoding="ISO-8859-1"?>'
                            '<testsuite name="s"><testcase name="caf\u00e9"'
                            '/></testsuite>'.encode("latin-1"), "l1.xml")
        self.assertEqual(report.suites[0].cases[0].name, "caf\u00e9")

    def test_gotestsum_dialect(self):
        (suite,) = read("gotestsum_count2.xml").suites
        self.assertEqual(suite.counts(), (28, 11, 0, 2))
        self.assertEqual(suite.properties[0][0], "go.version")

    def test_deft_dialect_keeps_file_and_line(self):
        (suite,) = read("deft_shard0.xml").suites
        self.assertEqual(suite.cases[0].attrs,
                         {"file": "tutorial_test.c", "line": "12"})
        self.assertEqual(suite.attrs, {"hostname": "builder"})


class MergeTest(support.TempDir):
    def merge(self, *inputs, extra=()):
        out = self.path("merged.xml")
        proc = tool("merge", *extra, out, *inputs)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        return out, ET.parse(out).getroot()

    def test_shards_join_into_one_suite_with_counts_recomputed(self):
        out, root = self.merge(fixture("deft_shard0.xml"),
                               fixture("deft_shard1.xml"))
        # The inputs' own counts (7 7 7 7 in shard 1) are ignored.
        self.assertEqual((root.get("tests"), root.get("failures"),
                          root.get("errors"), root.get("time")),
                         ("6", "3", "1", "0.800"))
        (suite,) = root.findall("testsuite")
        self.assertEqual([suite.get(k) for k in
                          ("name", "tests", "failures", "errors", "skipped",
                           "timestamp")],
                         ["wordcount_test", "6", "3", "1", "1",
                          "2024-05-01T09:59:59"])
        props = [(p.get("name"), p.get("value"))
                 for p in suite.iter("property")]
        self.assertEqual(props, [("shard", "0/2"), ("shuffle", "off"),
                                 ("shard", "1/2"), ("hostname", "builder")])
        names = [c.get("name") for c in suite.iter("testcase")]
        self.assertEqual(names, ["counts_words", "table", "table/empty",
                                 "crashes", "counts_words (run 2)",
                                 "not_here"])
        first = suite.find("testcase")
        self.assertEqual((first.get("file"), first.get("line")),
                         ("tutorial_test.c", "12"))
        self.assertIn("in cleanup close(fd)",
                      suite.findall("testcase")[2].find("failure").text)

    def test_strict_output_is_valid_against_both_schemas(self):
        out, root = self.merge(*(fixture(n) for n in (
            "deft_shard0.xml", "deft_shard1.xml", "surefire_flaky.xml",
            "jenkins_nested.xml", "gotestsum_count2.xml", "go_count2.json")),
            extra=["--strict", "--name", "all"])
        self.assertValid(out)
        self.assertEqual(root.get("name"), "all")
        self.assertEqual(root.get("tests"), str(6 + 5 + 1 + 28 + 28))
        self.assertIsNone(root.find("testsuite/testcase").get("file"))
        pairs = [(c.get("classname"), c.get("name"))
                 for c in root.iter("testcase")]
        self.assertEqual(len(pairs), len(set(pairs)))
        (flaky,) = [c for c in root.iter("testcase")
                    if c.get("name") == "retriesPayment"]
        self.assertEqual(flaky.find("flakyFailure/system-out").text,
                         "attempt 1")

    def test_merge_of_one_file_is_stable(self):
        out, _ = self.merge(fixture("surefire_flaky.xml"))
        again = self.path("again.xml")
        proc = tool("merge", again, out)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        with open(out, "rb") as a, open(again, "rb") as b:
            self.assertEqual(a.read(), b.read())

    def test_stdin_input(self):
        with open(fixture("deft_shard1.xml"), "rb") as f:
            data = f.read()
        out = self.path("merged.xml")
        proc = tool("merge", out, fixture("deft_shard0.xml"), "-",
                    stdin=data)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertEqual(ET.parse(out).getroot().get("tests"), "6")

    def bad(self, content, where, words):
        src = self.path("bad.xml")
        with open(src, "wb") as f:
            f.write(content)
        out = self.path("merged.xml")
        proc = tool("merge", out, fixture("deft_shard0.xml"), src)
        self.assertEqual(proc.returncode, 1)
        err = proc.stderr.decode()
        self.assertIn(src + where, err)
        self.assertIn(words, err)
        self.assertFalse(os.path.exists(out))

    def test_malformed_xml_names_file_and_line(self):
        self.bad(b"<testsuites>\n<testsuite name='x'>\n</testsuites>\n",
                 ":3: ", "invalid XML: mismatched tag")

    def test_wrong_root_element(self):
        self.bad(b"<html><body/></html>", ":1: ", "not a JUnit report")

    def test_neither_format(self):
        self.bad(b"PASS\nok  example.com/p 0.1s\n", ":1: ",
                 "neither JUnit XML")

    def test_unreadable_input(self):
        out = self.path("merged.xml")
        proc = tool("merge", out, self.path("missing.xml"))
        self.assertEqual(proc.returncode, 1)
        self.assertIn(b"missing.xml: cannot read: No such file",
                      proc.stderr)
        self.assertFalse(os.path.exists(out))
