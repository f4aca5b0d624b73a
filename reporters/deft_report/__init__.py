"""deft-report: merge, summarise and render deft's test reports.

JUnit XML (from deft's -junit, gotestsum, Jenkins, Surefire) and test2json
streams (deft's -json, go test -json) in; JUnit, text or one
self-contained HTML page out.  Standard library only.  Run
`python3 reporters/deft_report --help`.
"""
