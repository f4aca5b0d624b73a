"""What the report tool's tests share: paths, running the tool as a user
does, xmllint against the schemas in selftest/schemas/, and a PNG reader
for the screenshot test."""
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ET
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FIXTURES = os.path.join(HERE, "fixtures")
SCHEMAS = os.path.join(ROOT, "selftest", "schemas")
TOOL = os.path.join(ROOT, "reporters", "deft_report")
JENKINS = os.path.join(SCHEMAS, "jenkins-xunit-junit-10.xsd")
SUREFIRE = os.path.join(SCHEMAS, "surefire-test-report.xsd")

sys.path.insert(0, os.path.join(ROOT, "reporters"))


def fixture(name):
    return os.path.join(FIXTURES, name)


def tool(*args, stdin=None):
    """Runs deft-report as a user would; returns the CompletedProcess with
    bytes stdout and stderr."""
    return subprocess.run([sys.executable, TOOL, *args], input=stdin,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=120)


def need(program):
    """Skips the calling test when program is not installed (deps.sh
    installs it)."""
    if shutil.which(program) is None:
        raise unittest.SkipTest("%s is not installed (sh ninja/deps.sh)"
                                % program)


class TempDir(unittest.TestCase):
    """A TestCase with a fresh directory self.tmp."""

    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="deft-report-test-")
        self.tmp = self._tmp.name
        self.addCleanup(self._tmp.cleanup)

    def path(self, name):
        return os.path.join(self.tmp, name)

    def failing_test_stream(self, filename, test, output):
        """Writes a test2json stream of one failing test with output, as
        a file in self.tmp; returns its path."""
        path = self.path(filename)
        with open(path, "w") as f:
            for event in ({"Action": "run", "Test": test},
                          {"Action": "output", "Test": test,
                           "Output": output},
                          {"Action": "fail", "Test": test}):
                f.write(json.dumps(event) + "\n")
        return path

    def assertValid(self, path):
        """path is valid against Jenkins' schema as a whole and each of
        its suites against Surefire's."""
        need("xmllint")
        proc = subprocess.run(["xmllint", "--noout", "--schema", JENKINS,
                               path], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
        self.assertEqual(proc.returncode, 0, proc.stdout[-3000:])
        root = ET.parse(path).getroot()
        for i, suite in enumerate(root.iter("testsuite")):
            one = self.path("suite%d.xml" % i)
            ET.ElementTree(suite).write(one, encoding="UTF-8",
                                        xml_declaration=True)
            proc = subprocess.run(["xmllint", "--noout", "--schema",
                                   SUREFIRE, one], stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True)
            self.assertEqual(proc.returncode, 0, proc.stdout[-3000:])


def read_png(path):
    """(width, height, rows of (r, g, b) tuples) of an 8-bit RGB or RGBA
    PNG, as Chromium writes them."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat = 8, b""
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, colour = struct.unpack(">IIBB", body[:10])
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    if depth != 8 or colour not in (2, 6):
        raise ValueError("unsupported PNG: depth %d colour %d"
                         % (depth, colour))
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(idat)
    stride = w * bpp
    rows, prev = [], bytearray(stride)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pr = a if pa <= pb and pa <= pc else b if pb <= pc else c
                line[i] = (line[i] + pr) & 255
        rows.append([tuple(line[i:i + 3]) for i in range(0, stride, bpp)])
        prev = line
    return w, h, rows
