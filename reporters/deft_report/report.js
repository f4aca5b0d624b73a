// report.js - builds deft-report's HTML page from the JSON in #data:
// the tree of tests by their a/b/c names, the filter, the timeline.
// Everything from the data goes in with textContent, never as markup.
// The filter's state lives in the URL's fragment (#q=TEXT&status=a,b),
// so a link shows the same view.
"use strict";
(function () {
  const data = JSON.parse(document.getElementById("data").textContent);
  const RANK = { error: 5, fail: 4, flaky: 3, pass: 2, skip: 1 };
  const CLEANUP = /\bin cleanup\b|cleanup failed|\bdeferred .* returned|\bleak/i;

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }
  function secs(t) { return (t || 0).toFixed(3) + "s"; }

  // The tree: a node per suite and per level of a name; a case belongs to
  // the node of its name without " (run N)".
  const roots = data.suites.map((s, i) => ({
    label: s.name, full: "", suite: i, kids: new Map(), runs: [],
    depth: 0 }));
  data.cases.forEach((c, i) => {
    let node = roots[c.s];
    let full = "";
    for (const part of c.base.split("/")) {
      full = full ? full + "/" + part : part;
      if (!node.kids.has(part))
        node.kids.set(part, { label: part, full: full, kids: new Map(),
                              runs: [], depth: node.depth + 1,
                              classname: c.c });
      node = node.kids.get(part);
    }
    node.runs.push(i);
    c.node = node;
  });

  function ownStatus(node) {
    if (!node.runs.length) return null;
    const st = node.runs.map((i) => data.cases[i].st);
    const bad = st.some((s) => s === "fail" || s === "error");
    if ((bad && st.includes("pass")) ||
        node.runs.some((i) => data.cases[i].flaky)) return "flaky";
    if (st.includes("error")) return "error";
    if (bad) return "fail";
    if (st.every((s) => s === "skip")) return "skip";
    return "pass";
  }
  function settle(node) {
    node.own = ownStatus(node);
    node.status = node.own;
    node.time = node.runs.reduce((a, i) => a + data.cases[i].t, 0);
    for (const k of node.kids.values()) {
      settle(k);
      if (!node.status || RANK[k.status] > RANK[node.status])
        node.status = k.status;
    }
    if (!node.status) node.status = "skip";
  }
  roots.forEach(settle);

  function logPre(text) {
    const pre = el("pre");
    for (const line of text.replace(/\n$/, "").split("\n")) {
      if (CLEANUP.test(line)) pre.appendChild(el("span", "cleanup", line));
      else pre.appendChild(document.createTextNode(line));
      pre.appendChild(document.createTextNode("\n"));
    }
    return pre;
  }
  function runView(i, n) {
    const c = data.cases[i];
    const box = el("div", "run " + c.st);
    const head = el("div", "", (n > 1 ? "run " + (n) + ": " : "") +
                    c.st.toUpperCase() + " in " + secs(c.t));
    head.className = c.st;
    box.appendChild(head);
    if (c.file) box.appendChild(el("div", "where",
                                   c.file + (c.line ? ":" + c.line : "")));
    if (c.m) box.appendChild(el("div", "msg", c.m));
    const all = [c.text, c.out, c.err].join("\n");
    const found = all.split("\n").filter((l) => CLEANUP.test(l));
    if (found.length) {
      const cl = el("div", "cleanups");
      cl.appendChild(el("h3", "", "Cleanup failures and leak reports"));
      cl.appendChild(el("pre", "", found.join("\n")));
      box.appendChild(cl);
    }
    if (c.text) box.appendChild(logPre(c.text));
    if (c.out) { box.appendChild(el("div", "where", "stdout"));
                 box.appendChild(logPre(c.out)); }
    if (c.err) { box.appendChild(el("div", "where", "stderr"));
                 box.appendChild(logPre(c.err)); }
    for (const r of c.rr) {
      box.appendChild(el("div", "msg", r.k + (r.m ? ": " + r.m : "")));
      if (r.text) box.appendChild(logPre(r.text));
    }
    return box;
  }
  function nodeView(node) {
    const d = el("details");
    node.el = d;
    const sum = el("summary");
    const badge = node.suite !== undefined ? "suite" : node.status;
    sum.appendChild(el("span", "badge " + badge,
                       node.suite !== undefined ? "SUITE" :
                       node.status.toUpperCase()));
    sum.appendChild(el("span", "name", node.label));
    if (node.runs.length > 1)
      sum.appendChild(el("span", "time", node.runs.length + " runs"));
    if (node.runs.length) sum.appendChild(el("span", "time", secs(node.time)));
    d.appendChild(sum);
    d.dataset.name = node.full;
    d.dataset.status = node.own || "";
    node.runs.forEach((i, k) => d.appendChild(runView(i, k + 1)));
    for (const k of node.kids.values()) d.appendChild(nodeView(k));
    d.open = node.suite !== undefined ||
             ((node.status === "fail" || node.status === "error") &&
              node.depth < 8);
    node.defaultOpen = d.open;
    return d;
  }
  const tree = document.getElementById("tree");
  roots.forEach((r) => tree.appendChild(nodeView(r)));

  // Totals.
  const n = { pass: 0, fail: 0, error: 0, skip: 0 };
  data.cases.forEach((c) => { n[c.st]++; });
  const totals = document.getElementById("totals");
  totals.appendChild(el("span", "", data.cases.length + " tests"));
  for (const [k, word] of [["pass", "passed"], ["fail", "failed"],
                           ["error", "errors"], ["skip", "skipped"]])
    totals.appendChild(el("span", k, n[k] + " " + word));
  totals.appendChild(el("span", "", "from " + data.sources.join(", ")));

  // The timeline: a row per case, in order of start.
  const tl = document.getElementById("timeline");
  const timed = data.cases.map((c, i) => i).filter(
    (i) => data.cases[i].a !== null && data.cases[i].b !== null);
  timed.sort((x, y) => data.cases[x].a - data.cases[y].a || x - y);
  const span = timed.reduce((m, i) => Math.max(m, data.cases[i].b), 1e-9);
  document.getElementById("timeline-note").textContent = data.timed
    ? "From the stream's Time stamps" + (data.t0 ? ", from " + data.t0 : "") +
      "; total " + secs(span) + ". Hatched: paused (parallel subtest " +
      "waiting for its parent)."
    : "JUnit gives durations only: tests are laid end to end (subtests " +
      "within their parent), so parallel runs do not show; total " +
      secs(span) + ".";
  const axis = el("div", "tl-axis");
  for (let k = 0; k <= 4; k++) {
    const tick = el("span", "", secs(span * k / 4));
    tick.style.left = (k * 25) + "%";
    axis.appendChild(tick);
  }
  tl.appendChild(axis);
  const pct = (t) => (100 * t / span) + "%";
  for (const i of timed) {
    const c = data.cases[i];
    const row = el("div", "tl-row");
    row.appendChild(el("div", "tl-name", c.n));
    const track = el("div", "tl-track");
    const bar = el("div", "tl-bar " + c.st);
    bar.style.left = pct(c.a);
    bar.style.width = pct(c.b - c.a);
    bar.title = c.n + ": " + c.st + ", " + secs(c.a) + " to " + secs(c.b);
    for (const [p0, p1] of c.p) {
      const p = el("div", "tl-pause");
      p.style.left = (100 * (p0 - c.a) / Math.max(1e-9, c.b - c.a)) + "%";
      p.style.width = (100 * (p1 - p0) / Math.max(1e-9, c.b - c.a)) + "%";
      bar.appendChild(p);
    }
    track.appendChild(bar);
    row.appendChild(track);
    c.row = row;
    tl.appendChild(row);
  }

  // The filter.
  const input = document.getElementById("filter");
  const boxes = [...document.querySelectorAll("input[name=status]")];
  function matcher(q) {
    if (q.length > 1 && q.startsWith("/") && q.endsWith("/")) {
      try {
        const re = new RegExp(q.slice(1, -1), "i");
        input.classList.remove("bad");
        return (s) => re.test(s);
      } catch (e) {
        input.classList.add("bad");
        return () => false;
      }
    }
    const low = q.toLowerCase();
    return (s) => s.toLowerCase().includes(low);
  }
  function apply() {
    const q = input.value.trim();
    const want = new Set(boxes.filter((b) => b.checked).map((b) => b.value));
    const match = matcher(q);
    let shown = 0, total = 0;
    function walk(node, inherited) {
      const textOk = inherited || !q || match(node.full) ||
                     (node.classname && match(node.classname + " " + node.full));
      let any = false;
      for (const k of node.kids.values()) any = walk(k, textOk) || any;
      const self = node.runs.length > 0 && textOk && want.has(node.own);
      if (node.runs.length) { total++; if (self) shown++; }
      node.match = self;
      const vis = self || any;
      node.el.hidden = !vis;
      node.el.classList.toggle("match", self);
      if (q) node.el.open = any || node.defaultOpen;
      else node.el.open = node.defaultOpen;
      return vis;
    }
    roots.forEach((r) => walk(r, false));
    for (const c of data.cases) if (c.row) c.row.hidden = !c.node.match;
    document.getElementById("shown").textContent =
      shown + " of " + total + " tests shown";
    const st = boxes.length === want.size ? "" :
      "&status=" + [...want].join(",");
    const frag = (q ? "q=" + encodeURIComponent(q) : "") + st;
    try {
      if (location.hash.slice(1) !== frag.replace(/^&/, ""))
        history.replaceState(null, "", frag ? "#" + frag.replace(/^&/, "")
                                            : location.pathname);
    } catch (e) { /* file: URLs may refuse; the view still works */ }
  }
  const params = new URLSearchParams(location.hash.slice(1));
  if (params.has("q")) input.value = params.get("q");
  if (params.has("status")) {
    const want = new Set(params.get("status").split(","));
    boxes.forEach((b) => { b.checked = want.has(b.value); });
  }
  input.addEventListener("input", apply);
  boxes.forEach((b) => b.addEventListener("change", apply));
  apply();
  document.body.dataset.ready = "yes";
})();
