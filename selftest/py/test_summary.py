"""summary: totals, failures with their first log lines, flaky tests,
slowest tests."""
import support
from support import fixture, tool


def summary(*args):
    proc = tool("summary", *args)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.decode()


def section(text, title):
    """The lines of text under "title:" up to the next blank line."""
    lines = text.split("\n")
    i = lines.index(title + ":")
    out = []
    for line in lines[i + 1:]:
        if not line:
            break
        out.append(line)
    return out


class SummaryTest(support.TempDir):
    def test_totals(self):
        out = summary(fixture("go_count2.json"))
        self.assertEqual(out.split("\n")[0],
                         "28 tests in 1 input: 15 passed, 11 failed, "
                         "0 errors, 2 skipped (0.125s)")

    def test_failures_show_first_log_lines_without_framing(self):
        out = summary("--lines", "2", fixture("go_count2.json"))
        fails = section(out, "Failures")
        i = fails.index("  FAIL example.com/sample TestFails (0.000s)")
        self.assertEqual(fails[i + 1:i + 4],
                         ["      sample_test.go:20: first log line",
                          "      sample_test.go:21: want 3, got 4",
                          "      ... 1 more lines"])
        self.assertNotIn("=== RUN", out)
        self.assertNotIn("--- FAIL", out)
        # Nothing but a result line: the message stands in.
        i = fails.index("  FAIL example.com/sample TestTree (0.000s)")
        self.assertEqual(fails[i + 1], "      Failed")

    def test_flaky_within_one_stream_by_count(self):
        out = summary(fixture("go_count2.json"))
        self.assertEqual(section(out, "Flaky"),
                         ["  example.com/sample TestFlaky: 1 passed, "
                          "1 failed"])

    def test_flaky_by_repeated_names_in_one_junit_file(self):
        # gotestsum writes -count runs as cases of the same name.
        out = summary(fixture("gotestsum_count2.xml"))
        self.assertEqual(section(out, "Flaky"),
                         ["  example.com/sample TestFlaky: 1 passed, "
                          "1 failed"])

    def test_flaky_across_files_and_surefire_marks(self):
        out = summary(fixture("deft_shard0.xml"), fixture("deft_shard1.xml"),
                      fixture("surefire_flaky.xml"))
        self.assertEqual(section(out, "Flaky"), [
            "  wordcount_test counts_words: 1 passed, 1 failed",
            "  com.example.CartTest retriesPayment: 1 passed, 1 failed"])
        fails = section(out, "Failures")
        self.assertIn("  ERROR wordcount_test crashes (0.200s)  [%s]"
                      % fixture("deft_shard1.xml"), fails)

    def test_no_flaky_section_without_flaky_tests(self):
        out = summary(fixture("deft_shard0.xml"))
        self.assertNotIn("Flaky:", out)

    def test_slowest(self):
        out = summary("--slowest", "3", fixture("deft_shard0.xml"),
                      fixture("deft_shard1.xml"), fixture("jenkins_nested.xml"))
        self.assertEqual(section(out, "Slowest"), [
            "      0.500s  inner deep",
            "      0.250s  wordcount_test counts_words",
            "      0.200s  wordcount_test crashes"])
        self.assertNotIn("Slowest", summary("--slowest", "0",
                                            fixture("deft_shard0.xml")))

    def test_control_characters_do_not_reach_the_terminal(self):
        src = self.failing_test_stream(
            "hostile.json", "T", "\x1b]0;title\x07 \x1b[2J bad \x00\n")
        out = summary(src)
        self.assertIn("\\x1b]0;title\\x07  bad \\x00", out)
        self.assertNotIn("\x1b", out)
