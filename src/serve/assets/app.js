// The ekg workbench: one page application over the JSON API (/api/...). No framework: the
// pages are small, and the drawing is cytoscape.js.
"use strict";

const main = document.getElementById("main");
const KIND_COLOURS = { firm: "#1f5fbf", person: "#2e7d32", account: "#ef6c00", loan: "#6a1b9a" };
const ROLE_COLOURS = { source: "#c62828", sink: "#37474f", "passes on": "#e08a00", member: "#90a4ae" };
const RELATION_COLOURS = {
  transfers: "#ef6c00", guarantees: "#c62828", shareholdings: "#1f5fbf", officers: "#2e7d32",
  supply_links: "#00897b", account_owner: "#9e9e9e", loan_borrower: "#6a1b9a", loan_deposit: "#8e24aa",
};
const relationColour = (r) => RELATION_COLOURS[r] || RELATION_COLOURS[`${r}s`] || (String(r).startsWith("shared_") ? "#f9a825" : "#9e9e9e");
const MONEY = new Intl.NumberFormat("en", { maximumFractionDigits: 0 });

function esc(text) {
  return String(text ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}
const nodeLink = (id, label) => `<a href="/node/${encodeURIComponent(id)}" data-link>${esc(label ?? id)}</a>`;
const ringLink = (id) => `<a href="/ring/${encodeURIComponent(id)}" data-link>ring ${esc(id)}</a>`;
const badge = (severity) => `<span class="badge ${esc(severity)}">${esc(severity)}</span>`;
const money = (x) => (x === null || x === undefined || x === "" || isNaN(Number(x)) ? "" : MONEY.format(Number(x)));

async function api(path) {
  const response = await fetch(path, { headers: { Accept: "application/json" } });
  const body = await response.json().catch(() => ({ error: response.statusText }));
  if (!response.ok) throw new Error(body.error || response.statusText);
  return body;
}

function go(path) {
  history.pushState({}, "", path);
  route();
}

document.addEventListener("click", (event) => {
  const a = event.target.closest("a[data-link]");
  if (a && !event.ctrlKey && !event.metaKey && a.origin === location.origin) {
    event.preventDefault();
    document.getElementById("search-results").hidden = true;
    go(a.pathname + a.search);
  }
});
window.addEventListener("popstate", route);

async function route() {
  const path = decodeURIComponent(location.pathname);
  try {
    if (path.startsWith("/node/")) await nodePage(path.slice(6));
    else if (path.startsWith("/ring/")) await ringPage(path.slice(6));
    else if (path === "/path") await pathPage(new URLSearchParams(location.search));
    else await alertsPage(new URLSearchParams(location.search));
  } catch (error) {
    main.innerHTML = `<h1>Not found</h1><p class="error" id="error">${esc(error.message)}</p><p><a href="/" data-link>Back to the alerts</a></p>`;
  }
}

// ---- search -------------------------------------------------------------------------------
const searchBox = document.getElementById("search");
const searchList = document.getElementById("search-results");
let searchTimer;
searchBox.addEventListener("input", () => {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(runSearch, 150);
});
document.getElementById("search-form").addEventListener("submit", async (event) => {
  event.preventDefault();
  const results = await runSearch();
  if (results && results.length) go(`/node/${encodeURIComponent(results[0].id)}`);
});
async function runSearch() {
  const q = searchBox.value.trim();
  if (!q) { searchList.hidden = true; return []; }
  const { results } = await api(`/api/search?q=${encodeURIComponent(q)}`);
  searchList.innerHTML = results.length
    ? results.map((r) => `<li><a href="/node/${encodeURIComponent(r.id)}" data-link>${esc(r.name ?? r.id)} <span class="muted">${esc(r.kind)} ${esc(r.id)} · ${esc(r.match)}${r.flags ? ` · ${r.flags} flag(s)` : ""}</span></a></li>`).join("")
    : `<li class="muted" style="padding:6px 12px">nothing matches</li>`;
  searchList.hidden = false;
  return results;
}

// ---- alert queue --------------------------------------------------------------------------
async function alertsPage(params) {
  const query = new URLSearchParams();
  for (const key of ["kind", "severity", "region", "industry", "change"]) if (params.get(key)) query.set(key, params.get(key));
  const [alerts, rings, meta] = await Promise.all([api(`/api/alerts?${query}&limit=200`), api(`/api/rings?limit=25`), api("/api/meta")]);
  const facet = (name, label) => {
    const counts = alerts.counts[name] || {};
    const options = Object.entries(counts).sort((a, b) => b[1] - a[1])
      .map(([value, n]) => `<option value="${esc(value)}" ${params.get(name) === value ? "selected" : ""}>${esc(value)} (${n})</option>`).join("");
    return `<label>${label} <select data-facet="${name}"><option value="">all</option>${options}</select></label>`;
  };
  const kinds = Object.entries(alerts.counts.kind || {}).sort((a, b) => b[1] - a[1])
    .map(([k, n]) => `<span class="chip ${params.get("kind") === k ? "on" : ""}" data-kind="${esc(k)}">${esc(k)} ${n}</span>`).join("");
  main.innerHTML = `
    <h1>Alert queue</h1>
    <p class="muted">${meta.scores ? `Scores from ${esc(meta.scores)}: ${meta.alerts} flags, ${meta.rings} rings.` : "Started without --scores: search an entity to explore the graph."}</p>
    <div>${kinds}</div>
    <div class="filters">${facet("severity", "Severity")}${facet("region", "Region")}${facet("industry", "Industry")}${alerts.counts.change ? facet("change", "Since last night") : ""}
      <span class="muted" id="alert-total">${alerts.total} flag(s)</span></div>
    <table id="alerts"><thead><tr><th>Severity</th><th>Entity</th><th>Flag</th><th>Why</th><th>Ring</th><th>Region</th><th>Industry</th></tr></thead><tbody>
    ${alerts.items.map((a) => `<tr><td>${badge(a.severity)}</td><td>${nodeLink(a.node_id, a.name ?? a.node_id)}<div class="muted">${esc(a.entity_kind)} ${esc(a.node_id)}</div></td>
      <td>${esc(a.flag)}${a.change === "new" || a.change === "changed" ? ` <span class="badge ${esc(a.change)}">${esc(a.change)}</span>` : ""}</td><td class="reason">${esc(a.reason)}</td><td>${a.ring_id !== null ? ringLink(a.ring_id) : ""}</td>
      <td>${esc(a.region)}</td><td>${esc(a.industry)}</td></tr>`).join("")}
    </tbody></table>
    <h2>Highest-scoring rings</h2>
    <table id="rings"><thead><tr><th>Ring</th><th>Kind</th><th class="num">Score</th><th class="num">Size</th><th>What happened</th></tr></thead><tbody>
    ${rings.items.map((r) => `<tr><td>${ringLink(r.ring_id)}</td><td>${esc(r.kind)}</td><td class="num">${Number(r.score).toFixed(2)}</td><td class="num">${r.size}</td><td class="reason">${esc(r.explanation)}</td></tr>`).join("")}
    </tbody></table>`;
  const update = (key, value) => {
    const next = new URLSearchParams(params);
    if (value) next.set(key, value); else next.delete(key);
    go(`/?${next}`);
  };
  main.querySelectorAll("select[data-facet]").forEach((s) => s.addEventListener("change", () => update(s.dataset.facet, s.value)));
  main.querySelectorAll(".chip[data-kind]").forEach((c) => c.addEventListener("click", () => update("kind", params.get("kind") === c.dataset.kind ? "" : c.dataset.kind)));
}

// ---- entity page --------------------------------------------------------------------------
// A feature value as a reader wants it: four significant digits for fractions.
function readable(value) {
  const x = Number(value);
  if (value === "" || !isFinite(x) || Number.isInteger(x)) return value;
  return Math.abs(x) >= 1000 ? MONEY.format(x) : String(Number(x.toPrecision(4)));
}

// What an edge weighs, as its relation counts it: a holding's share, no weight for an office.
function weight(relation, amount) {
  if (relation === "shareholdings") return `${(Number(amount) * 100).toFixed(1)}%`;
  if (relation === "officers") return "";
  return money(amount);
}

function facts(pairs) {
  return `<dl class="facts">${pairs.filter(([, v]) => v !== null && v !== undefined && v !== "").map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join("")}</dl>`;
}

async function nodePage(id) {
  const n = await api(`/api/node/${encodeURIComponent(id)}`);
  const a = n.attributes || {};
  const title = n.name ?? n.node_id;
  const own = n.ownership;
  const guarantees = (n.counterparties || []).filter((c) => c.relation === "guarantees");
  const others = (n.counterparties || []).filter((c) => c.relation !== "guarantees");
  const list = (c) => `<h3 style="font-size:14px;margin:10px 0 4px">${esc(c.relation)} ${c.direction === "out" ? "to" : "from"} <span class="muted">(${c.total} in all)</span></h3>
    <table><tbody>${c.top.map((p) => `<tr><td>${nodeLink(p.id, p.name ?? p.id)} <span class="muted">${esc(p.kind)}</span></td><td class="num">${p.edges} edge(s)</td><td class="num">${weight(c.relation, p.amount)}</td></tr>`).join("")}</tbody></table>`;
  main.innerHTML = `
    <h1 id="entity-title">${esc(title)} ${n.defaulted ? '<span class="defaulted">defaulted</span>' : ""}</h1>
    <p class="muted">${esc(n.kind)} ${esc(n.node_id)}</p>
    <div class="grid">
      <div class="card">${facts([["industry", esc(a.industry)], ["region", esc(a.region)], ["status", esc(a.status)], ["founded", esc(a.founded)],
        ["registered capital", money(a.registered_capital)], ["exposure", money(a.exposure)], ["pd", a.pd ?? ""], ["owner", a.owner ? nodeLink(a.owner) : ""],
        ["borrower", a.borrower ? nodeLink(a.borrower) : ""], ["amount", money(a.amount)]])}</div>
      <div class="card" id="flags"><strong>Flags</strong>
        ${(n.flags || []).length ? `<table><tbody>${n.flags.map((f) => `<tr><td>${badge(f.severity)}</td><td>${esc(f.flag)}</td><td class="reason">${esc(f.reason)}</td><td>${f.ring_id !== null ? ringLink(f.ring_id) : ""}</td></tr>`).join("")}</tbody></table>` : '<p class="muted">No flags.</p>'}
        ${(n.rings || []).length ? `<strong>Rings</strong><table id="entity-rings"><tbody>${n.rings.map((r) => `<tr><td>${ringLink(r.ring_id)}</td><td>${esc(r.kind)}</td><td class="num">${Number(r.score).toFixed(2)}</td><td class="reason">${esc(r.explanation)}</td></tr>`).join("")}</tbody></table>` : ""}
      </div>
    </div>
    <div class="grid">
      <div class="card"><strong>Ownership and control</strong>
        ${own ? facts([["controller", own.controller ? nodeLink(own.controller) : "none"], ["basis", esc(own.basis)], ["control path", esc(own.control_path)]]) +
          ((own.ubos || []).length ? `<table><thead><tr><th>Beneficial owner</th><th class="num">Share</th><th>Path</th></tr></thead><tbody>${own.ubos.map((u) => `<tr><td>${nodeLink(u.person)}</td><td class="num">${esc(u.share)}</td><td>${esc(u.path)}</td></tr>`).join("")}</tbody></table>` : '<p class="muted">No beneficial owner above the threshold.</p>')
          : '<p class="muted">Not a firm.</p>'}
        ${n.group && n.group.group_id !== undefined && n.group.group_id !== null ? facts([["group", esc(n.group.group_id)], ["group size", esc(n.group.group_size)], ["group exposure", money(n.group.group_exposure)]]) : ""}
      </div>
      <div class="card"><strong>Guarantees</strong>${guarantees.length ? guarantees.map(list).join("") : '<p class="muted">None given or received.</p>'}</div>
    </div>
    <h2>Explore</h2>
    <div id="explore"></div>
    <h2>Top counterparties</h2>
    <div class="card">${others.length ? others.map(list).join("") : '<p class="muted">None.</p>'}</div>
    ${(n.features || []).length ? `<h2>Features</h2><div class="grid">${n.features.map((t) => `<div class="card"><strong>${esc(t.theme)}</strong>${facts(t.items.map((f) => [`<span class="feature" title="${esc(f.description ?? "")}">${esc(f.name)}</span>`, esc(readable(f.value))]))}</div>`).join("")}</div>` : ""}`;
  await explorer(document.getElementById("explore"), n.shown_in_outputs_as ?? n.node_id);
}

// ---- drawing ------------------------------------------------------------------------------
function style() {
  return [
    { selector: "node", style: { "background-color": (e) => KIND_COLOURS[e.data("kind")] || "#777", label: "data(label)", "font-size": 9, color: "#1d2430",
      "text-valign": "bottom", "text-margin-y": 3, width: 22, height: 22, "text-max-width": 120, "text-wrap": "ellipsis" } },
    { selector: "node[role]", style: { "background-color": (e) => ROLE_COLOURS[e.data("role")] || "#f9a825" } },
    { selector: "node[?defaulted]", style: { "border-width": 3, "border-color": "#c62828" } },
    { selector: "node[?centre]", style: { width: 32, height: 32, "font-weight": 700 } },
    { selector: "node[flags > 0]", style: { shape: "diamond" } },
    { selector: "edge", style: { width: 1.5, "line-color": (e) => relationColour(e.data("relation")), "target-arrow-color": (e) => relationColour(e.data("relation")),
      "target-arrow-shape": "triangle", "curve-style": "bezier", "arrow-scale": 0.8, label: (e) => edgeLabel(e.data()), "font-size": 8, color: "#555", "text-rotation": "autorotate",
      "text-background-color": "#fff", "text-background-opacity": 0.8, "text-background-padding": 1 } },
    { selector: "edge.future", style: { opacity: 0.08, label: "" } },
    { selector: ":selected", style: { "overlay-color": "#1f5fbf", "overlay-opacity": 0.15 } },
  ];
}
function edgeLabel(d) {
  const parts = [];
  if (d.amount) parts.push(money(d.amount));
  if (d.ts) parts.push(String(d.ts).slice(0, 10));
  if (d.share) parts.push(`${(Number(d.share) * 100).toFixed(0)}%`);
  if (d.identifier) parts.push(d.identifier);
  return parts.join(" · ");
}
function draw(container, elements, layout = "cose") {
  // A few nodes would otherwise be zoomed until their labels fill the canvas.
  const cy = cytoscape({ container, elements, style: style(), wheelSensitivity: 0.3, maxZoom: 1.6 });
  cy.layout({ name: layout, animate: false, nodeRepulsion: 9000, idealEdgeLength: 90, padding: 20 }).run();
  return cy;
}
function legend(kinds = true) {
  const entries = kinds ? Object.entries(KIND_COLOURS) : Object.entries(ROLE_COLOURS);
  return `<div class="legend">${entries.map(([k, c]) => `<span><i style="background:${c}"></i>${k}</span>`).join("")}<span>◆ flagged</span><span><i style="background:#fff;border:2px solid #c62828"></i>defaulted</span></div>`;
}

async function explorer(box, centre) {
  const meta = await api("/api/meta");
  box.innerHTML = `<div class="toolbar">
      <label>Hops <select id="hops">${[1, 2, 3].map((h) => `<option ${h === 1 ? "selected" : ""}>${h}</option>`).join("")}</select></label>
      <label>Relation <select id="relation"><option value="">all</option>${meta.relations.map((r) => `<option>${r}</option>`).join("")}</select></label>
      <button id="reload">Draw</button><button id="expand">Expand selected</button>
      <span class="muted">Click a node to select it, double-click to expand it.</span>
      <span style="margin-left:auto">Export <button data-export="graphml">GraphML</button><button data-export="gexf">GEXF</button><button data-export="cytoscape">Cytoscape JSON</button></span>
    </div>${legend()}<div class="canvas" id="canvas"></div><p class="muted" id="explore-status"></p>`;
  const canvas = box.querySelector("#canvas");
  const status = box.querySelector("#explore-status");
  let cy;
  const query = (id, hops) => {
    const q = new URLSearchParams({ id, hops: String(hops) });
    const relation = box.querySelector("#relation").value;
    if (relation) q.set("relations", relation);
    return api(`/api/neighborhood?${q}`);
  };
  const show = (answer) => {
    status.textContent = `${cy.nodes().length} nodes, ${cy.edges().length} edges${answer.truncated ? " (the neighbourhood was cut at its size limit)" : ""}`;
  };
  const reload = async () => {
    const answer = await query(centre, Number(box.querySelector("#hops").value));
    if (cy) cy.destroy();
    cy = draw(canvas, answer.elements);
    cy.on("dbltap", "node", (event) => expand(event.target.id()));
    show(answer);
    window.ekgExplorer = cy;
  };
  const expand = async (id) => {
    const answer = await query(id, 1);
    const fresh = [...answer.elements.nodes, ...answer.elements.edges].filter((e) => cy.getElementById(e.data.id).empty());
    cy.add(fresh.map((e) => ({ ...e, data: { ...e.data, centre: false } })));
    cy.layout({ name: "cose", animate: false, nodeRepulsion: 9000, idealEdgeLength: 90 }).run();
    show(answer);
  };
  box.querySelector("#reload").addEventListener("click", reload);
  box.querySelector("#expand").addEventListener("click", () => {
    const selected = cy.nodes(":selected");
    (selected.length ? selected : cy.nodes("[?centre]")).forEach((n) => expand(n.id()));
  });
  box.querySelectorAll("[data-export]").forEach((b) => b.addEventListener("click", () => exportView(cy, b.dataset.export, centre)));
  await reload();
}

// ---- exports of the current view ----------------------------------------------------------
function typeOf(values) {
  const present = values.filter((v) => v !== undefined && v !== null && v !== "");
  if (present.length && present.every((v) => typeof v === "boolean" || v === "true" || v === "false")) return "boolean";
  if (present.length && present.every((v) => typeof v === "number" || (typeof v === "string" && v.trim() !== "" && isFinite(Number(v))))) {
    return present.every((v) => Number.isInteger(Number(v))) ? "long" : "double";
  }
  return "string";
}
function keysOf(items) {
  const keys = new Map();
  for (const d of items) for (const [k, v] of Object.entries(d)) if (!["id", "source", "target"].includes(k)) (keys.get(k) || keys.set(k, []).get(k)).push(v);
  return [...keys.entries()].map(([k, values]) => [k, typeOf(values)]);
}
const xml = (s) => esc(s);
function graphml(nodes, edges) {
  const nk = keysOf(nodes), ek = keysOf(edges);
  const key = (scope, [k, t], i) => `<key id="${scope}${i}" for="${scope === "n" ? "node" : "edge"}" attr.name="${xml(k)}" attr.type="${t === "long" ? "long" : t}"/>`;
  const data = (keys, d, scope) => keys.map(([k], i) => (d[k] === undefined || d[k] === null ? "" : `<data key="${scope}${i}">${xml(d[k])}</data>`)).join("");
  return `<?xml version="1.0" encoding="UTF-8"?>\n<graphml xmlns="http://graphml.graphdrawing.org/xmlns">\n${nk.map((k, i) => key("n", k, i)).join("\n")}\n${ek.map((k, i) => key("e", k, i)).join("\n")}\n<graph edgedefault="directed">\n` +
    nodes.map((d) => `<node id="${xml(d.id)}">${data(nk, d, "n")}</node>`).join("\n") + "\n" +
    edges.map((d) => `<edge id="${xml(d.id)}" source="${xml(d.source)}" target="${xml(d.target)}">${data(ek, d, "e")}</edge>`).join("\n") + "\n</graph>\n</graphml>\n";
}
function gexf(nodes, edges) {
  const nk = keysOf(nodes), ek = keysOf(edges);
  const attrs = (keys, scope) => `<attributes class="${scope}">${keys.map(([k, t], i) => `<attribute id="${i}" title="${xml(k)}" type="${t}"/>`).join("")}</attributes>`;
  const values = (keys, d) => `<attvalues>${keys.map(([k], i) => (d[k] === undefined || d[k] === null ? "" : `<attvalue for="${i}" value="${xml(d[k])}"/>`)).join("")}</attvalues>`;
  return `<?xml version="1.0" encoding="UTF-8"?>\n<gexf xmlns="http://gexf.net/1.3" version="1.3">\n<meta><creator>ekg serve</creator></meta>\n<graph mode="static" defaultedgetype="directed">\n${attrs(nk, "node")}\n${attrs(ek, "edge")}\n<nodes>\n` +
    nodes.map((d) => `<node id="${xml(d.id)}" label="${xml(d.label ?? d.id)}">${values(nk, d)}</node>`).join("\n") + "\n</nodes>\n<edges>\n" +
    edges.map((d) => `<edge id="${xml(d.id)}" source="${xml(d.source)}" target="${xml(d.target)}">${values(ek, d)}</edge>`).join("\n") + "\n</edges>\n</graph>\n</gexf>\n";
}
function exportView(cy, format, name) {
  const nodes = cy.nodes().map((n) => n.data());
  const edges = cy.edges().map((e) => e.data());
  const [text, type, ext] = format === "graphml" ? [graphml(nodes, edges), "application/xml", "graphml"]
    : format === "gexf" ? [gexf(nodes, edges), "application/xml", "gexf"]
    : [JSON.stringify({ elements: { nodes: nodes.map((data) => ({ data })), edges: edges.map((data) => ({ data })) } }, null, 1), "application/json", "cyjs"];
  const a = document.createElement("a");
  a.href = URL.createObjectURL(new Blob([text], { type }));
  a.download = `ekg-${String(name).replace(/[^A-Za-z0-9_.-]/g, "_")}.${ext}`;
  a.click();
}

// ---- ring page ----------------------------------------------------------------------------
async function ringPage(id) {
  const r = await api(`/api/ring/${encodeURIComponent(id)}`);
  const evidence = r.evidence || [];
  const labels = Object.fromEntries(r.elements.nodes.filter((n) => n.data.label !== n.data.id).map((n) => [n.data.id, n.data.label]));
  main.innerHTML = `
    <h1 id="ring-title">Ring ${esc(r.ring_id)}: ${esc(r.kind)}</h1>
    <div class="card"><p>${esc(r.explanation)}</p>
      <p class="muted">Score ${Number(r.score).toFixed(3)}: ${esc(r.why)}.</p>
      ${r.case ? `<p class="muted">Case ${esc(r.case.case_id)}: ${r.case.rank === null ? "not queued" : `number ${Number(r.case.rank) + 1} in the ${esc(r.case.lead_kind)} queue`}${r.case.in_capacity === "true" ? ", within a day's capacity" : ""}. ${esc(r.case.explanation)}</p>` : ""}</div>
    <div class="toolbar"><button id="play">▶ Step through</button>
      <input type="range" id="step" min="0" max="${evidence.length}" value="${evidence.length}" style="width:320px" aria-label="time">
      <span id="step-label" class="muted"></span></div>
    ${legend(false)}<div class="canvas" id="ring-canvas"></div>
    <h2>Members</h2>
    <table id="members"><thead><tr><th>Entity</th><th>Kind</th><th>Role</th></tr></thead><tbody>
    ${(r.members || []).map((m) => `<tr><td>${nodeLink(m.id, labels[m.id] ?? m.id)} <span class="muted">${labels[m.id] ? esc(m.id) : ""}</span></td><td>${esc(m.kind)}</td><td>${esc(m.role)}</td></tr>`).join("")}</tbody></table>
    <h2>Evidence in time order</h2>
    <table id="evidence"><thead><tr><th>#</th><th>When</th><th>From</th><th>To</th><th>Relation</th><th class="num">Amount</th><th>Identifier</th></tr></thead><tbody>
    ${evidence.map((e, i) => `<tr data-step="${i}"><td>${i + 1}</td><td>${esc(e.ts)}</td><td>${nodeLink(e.src)}</td><td>${nodeLink(e.dst)}</td><td>${esc(e.relation)}</td><td class="num">${money(e.amount)}</td><td>${esc(e.identifier)}</td></tr>`).join("")}</tbody></table>`;
  const cy = draw(document.getElementById("ring-canvas"), r.elements, r.elements.nodes.length > 12 ? "cose" : "circle");
  window.ekgRing = cy;
  const slider = document.getElementById("step");
  const label = document.getElementById("step-label");
  const rows = [...document.querySelectorAll("#evidence tr[data-step]")];
  const show = (k) => {
    cy.edges().forEach((e) => e.toggleClass("future", e.data("step") >= k));
    rows.forEach((row) => row.classList.toggle("future", Number(row.dataset.step) >= k));
    label.textContent = k === 0 ? "before the first event" : `${k} of ${evidence.length} events${evidence[k - 1] && evidence[k - 1].ts ? `, up to ${evidence[k - 1].ts}` : ""}`;
  };
  slider.addEventListener("input", () => show(Number(slider.value)));
  document.getElementById("play").addEventListener("click", () => {
    let k = 0;
    const timer = setInterval(() => {
      slider.value = String(k);
      show(k);
      if (++k > evidence.length) clearInterval(timer);
    }, 600);
  });
  show(evidence.length);
}

// ---- paths --------------------------------------------------------------------------------
async function pathPage(params) {
  const from = params.get("from") || "", to = params.get("to") || "";
  main.innerHTML = `<h1>Shortest paths</h1>
    <form id="path-form" class="toolbar"><input name="from" placeholder="from id" value="${esc(from)}"> <input name="to" placeholder="to id" value="${esc(to)}"> <button>Find</button></form>
    <div id="path-result"></div>`;
  document.getElementById("path-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = new FormData(event.target);
    go(`/path?${new URLSearchParams({ from: form.get("from").trim(), to: form.get("to").trim() })}`);
  });
  if (!from || !to) return;
  const box = document.getElementById("path-result");
  try {
    const p = await api(`/api/path?${new URLSearchParams({ from, to })}`);
    if (!p.paths.length) { box.innerHTML = `<p class="muted">No path within the hop limit.</p>`; return; }
    box.innerHTML = `<p>${p.paths.length} shortest path(s) of ${p.hops} hop(s).</p>` + p.paths.map((hops, k) => `<div class="card"><strong>Path ${k + 1}</strong><table><tbody>
      ${hops.map((h) => `<tr><td>${nodeLink(h.from)}</td><td>${h.arrow === "->" ? "→" : "←"} ${esc(h.relation)}</td><td>${nodeLink(h.to)}</td><td class="muted">${Object.entries(h.attributes).map(([k, v]) => `${esc(k)}=${esc(v)}`).join(" ")}</td></tr>`).join("")}</tbody></table></div>`).join("") +
      `${legend()}<div class="canvas" id="path-canvas"></div>`;
    draw(document.getElementById("path-canvas"), p.elements, "breadthfirst");
  } catch (error) {
    box.innerHTML = `<p class="error" id="error">${esc(error.message)}</p>`;
  }
}

route();
