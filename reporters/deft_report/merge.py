"""merge: many JUnit files (or test2json streams) into one report.

Suites of the same name are joined into one (the shards of one binary
each write a suite named after it): their cases are concatenated in the
order of the inputs, their properties kept once each, their times added
and the earliest timestamp kept.  Counts are recomputed by the writer.
"""
from .junit_read import parse_timestamp
from .model import Report, Suite


def merge(report):
    """Returns a Report whose suites are those of report, joined by name."""
    by_name = {}
    out = Report(sources=report.sources, timed=report.timed)
    for s in report.suites:
        m = by_name.get(s.name)
        if m is None:
            m = by_name[s.name] = Suite(
                name=s.name, timestamp=s.timestamp, start=s.start,
                time=s.total_time(), attrs=dict(s.attrs), source=s.source)
            out.suites.append(m)
        else:
            m.time += s.total_time()
            a, b = parse_timestamp(m.timestamp), parse_timestamp(s.timestamp)
            if b is not None and (a is None or b < a):
                m.timestamp = s.timestamp
            if s.start is not None and (m.start is None or s.start < m.start):
                m.start = s.start
            for k, v in s.attrs.items():
                m.attrs.setdefault(k, v)
        m.cases.extend(s.cases)
        for p in s.properties:
            if p not in m.properties:
                m.properties.append(p)
        m.stdout = "\n".join(x for x in (m.stdout, s.stdout) if x)
        m.stderr = "\n".join(x for x in (m.stderr, s.stderr) if x)
    return out
