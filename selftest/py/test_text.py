"""text.clean: what XML 1.0 and libxml2 refuse never reaches a report."""
import subprocess
import unittest
import xml.etree.ElementTree as ET

import support  # noqa: F401  (puts reporters/ on sys.path)
from deft_report.text import clean, first_line, truncate, DECODE_ERRORS


class CleanTest(support.TempDir):
    def test_every_byte_value_gives_well_formed_xml(self):
        raw = bytes(range(256)) * 2
        s = clean(raw.decode("utf-8", DECODE_ERRORS))
        doc = "<a>%s</a>" % s.replace("&", "&amp;").replace("<", "&lt;")
        path = self.path("bytes.xml")
        with open(path, "w", encoding="utf-8") as f:
            f.write(doc)
        support.need("xmllint")
        proc = subprocess.run(["xmllint", "--noout", path],
                              stderr=subprocess.PIPE, text=True)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        text = ET.parse(path).getroot().text
        self.assertIn("\\x00", text)
        self.assertIn("\\x1b", text)
        self.assertIn("\\xff", text)    # a byte of invalid UTF-8
        self.assertIn("\t\n", text)     # what XML allows stays
        self.assertIn("ABC", text)

    def test_colour_codes_are_dropped(self):
        self.assertEqual(clean("\x1b[31mred\x1b[0m and \x1b[1;32mgreen"),
                         "red and green")

    def test_noncharacters_and_surrogates_are_escaped(self):
        self.assertEqual(clean("a\ufffeb\uffffc\ud800d"),
                         "a\\ufffeb\\uffffc\\ud800d")

    def test_valid_text_is_unchanged(self):
        s = "héllo → ]]> & <tag> \U0001F600\ttab\r\n"
        self.assertEqual(clean(s), s)

    def test_long_text_keeps_head_and_tail(self):
        s = "H" * 100 + "x" * 1000 + "T" * 100
        out = truncate(s, 400)
        self.assertLess(len(out), 500)
        self.assertTrue(out.startswith("H" * 100))
        self.assertTrue(out.endswith("T" * 100))
        self.assertIn("cut 800 characters", out)
        self.assertEqual(truncate("short", 400), "short")

    def test_default_limit_is_under_libxml2s(self):
        out = clean("y" * (12 * 1024 * 1024))
        self.assertLess(len(out.encode()), 10 * 1000 * 1000)

    def test_first_line(self):
        self.assertEqual(first_line("\n  \n  first \nsecond"), "first")
        self.assertEqual(first_line(""), "")
        self.assertEqual(len(first_line("z" * 500)), 200)


if __name__ == "__main__":
    unittest.main()
