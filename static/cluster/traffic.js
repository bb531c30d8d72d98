/**
 * Services and traffic in the diagram (docs/traffic.md): each Service as a box with its virtual
 * IP and live sparklines (requests/s, errors/s, p95 latency), requests drawn as dots flowing
 * clients -> Service -> the entry node's kube-proxy -> a pod (red when they fail), and each pod
 * showing the requests/s it serves.
 *
 * Ingresses (docs/ingress.md) get a box each between the clients and the Services, with their
 * address and host/path rules and a line to each Service box they route to; the dots of such a
 * Service enter through the Ingress box. Only the drawing changes: the traffic sample is the
 * same (cluster/traffic.py does not model ingress-nginx).
 *
 * Input: the page's embedded snapshot (``traffic``, ``trafficHistory``, the Service and Ingress
 * views), then the DOM events diagram.js re-dispatches: "k8sviz:snapshot", "k8sviz:traffic"
 * (one sample per window, cluster/broadcast.py ``traffic_message``) and "k8sviz:delta"
 * (Services and Ingresses added, changed or removed; EndpointSlice changes refresh the Services
 * panel).
 *
 * Hook for the metrics side: dispatch ``new CustomEvent("k8sviz:pod-usage", {detail: {"ns/pod":
 * {cpu: "80m"}}})`` on document and each pod's badge shows its CPU next to its rate.
 */
const diagramEl = document.getElementById("diagram");
const lane = document.getElementById("traffic-lane");
const boxes = document.getElementById("svc-boxes");
const ingBoxes = document.getElementById("ing-boxes");
const ingLinks = document.getElementById("ing-links");
const canvas = document.getElementById("traffic-canvas");
const clientNote = document.getElementById("traffic-client-note");
const reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)");

const HISTORY = 40;
const MAX_DOTS = 160; // alive at once
const MAX_DOTS_PER_SECOND = 24; // spawned, over every flow together
const DOT_SECONDS = 1.8; // client -> pod
const DOT_LEGS = 4; // client -> Service side -> Service bottom -> kube-proxy -> pod; more legs, more time
const SVG_NS = "http://www.w3.org/2000/svg";
const COLORS = { ok: "#0072b2", err: "#c8102e" };

const state = {
  services: new Map(), // drawn Services (not the system ones), by "ns/name"
  serviceKeys: new Set(), // every Service, system ones included: an Ingress backend exists or not
  ingresses: new Map(), // by "ns/name"
  ingressesOf: new Map(), // Service "ns/name" -> the Ingress keys routing to it, sorted
  sample: null,
  history: [],
  usage: {},
};

function h(tag, attrs = {}, ...children) {
  const el = document.createElementNS(["svg", "polyline", "path"].includes(tag) ? SVG_NS : "http://www.w3.org/1999/xhtml", tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "text") el.textContent = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else el.setAttribute(k, v);
  }
  el.append(...children);
  return el;
}

const fmt = (n, digits = 1) => (n == null ? "–" : Number(n).toFixed(n >= 100 ? 0 : digits).replace(/\.0$/, ""));
const svcKey = (view) => `${view.namespace}/${view.name}`;
// The API server's own Service and the add-ons' (kube-dns, ingress-nginx in kube-system) are
// not the class's workloads: the diagram draws a box only for the others (the Services panel
// and kubectl still list every one).
const isSystem = (view) =>
  (view.namespace === "default" && view.name === "kubernetes") || view.namespace === "kube-system";

// ------------------------------------------------------------------------------ state in

function loadSnapshot(snapshot) {
  state.services = new Map();
  state.serviceKeys = new Set();
  state.ingresses = new Map();
  for (const view of snapshot.objects ?? []) {
    if (view.kind === "Service") state.serviceKeys.add(svcKey(view));
    if (view.kind === "Service" && !isSystem(view)) state.services.set(svcKey(view), view);
    if (view.kind === "Ingress") state.ingresses.set(svcKey(view), view);
  }
  state.sample = snapshot.traffic ?? null;
  state.history = (snapshot.trafficHistory ?? []).slice(-HISTORY);
  render();
}

let ratesShown = "[]"; // the panel as first rendered may predate any rate
function onTraffic(sample) {
  state.sample = sample;
  state.history.push(sample);
  if (state.history.length > HISTORY) state.history.shift();
  render();
  flows.setSample(sample);
  // A rate set elsewhere (another browser, kubectl-free scripts, a lesson) is simulator state,
  // not an API change, so no delta announces it: the first sample with other rates refreshes
  // the Services panel's Traffic fields.
  const rates = JSON.stringify(Object.entries(sample.services ?? {}).map(([k, v]) => [k, v.rps]).sort());
  if (rates !== ratesShown) {
    clearTimeout(panelTimer);
    panelTimer = setTimeout(refreshPanel, 400);
  }
  ratesShown = rates;
}

let panelTimer = 0;
function onDelta(view) {
  if (view.kind === "Service" || view.kind === "Ingress") {
    // diagram.js has applied the delta to its store: a deleted object is no longer there.
    const stored = window.k8sviz?.store?.get(view.kind, view.name, view.namespace);
    const key = svcKey(view);
    const maps = view.kind === "Ingress" ? [state.ingresses] : isSystem(view) ? [] : [state.services];
    for (const map of maps) {
      if (stored) map.set(key, stored);
      else map.delete(key);
    }
    if (view.kind === "Service") {
      if (stored) state.serviceKeys.add(key);
      else state.serviceKeys.delete(key);
    }
    render();
  }
  if (view.kind === "Service" || view.kind === "EndpointSlice") {
    clearTimeout(panelTimer);
    panelTimer = setTimeout(refreshPanel, 400);
  }
}

function refreshPanel() {
  // Never under the user's fingers: a rate being typed stays until they leave the panel.
  const panel = document.getElementById("services-panel");
  if (panel && panel.contains(document.activeElement)) {
    panelTimer = setTimeout(refreshPanel, 1500);
    return;
  }
  document.body.dispatchEvent(new CustomEvent("services-changed"));
}

// ------------------------------------------------------------------------------ drawing

function sparkline(label, values, { unit = "", cls = "" } = {}) {
  const w = 120;
  const hgt = 26;
  const max = Math.max(1e-9, ...values.map((v) => v ?? 0));
  const step = values.length > 1 ? w / (values.length - 1) : w;
  const points = values.map((v, i) => `${(i * step).toFixed(1)},${(hgt - ((v ?? 0) / max) * (hgt - 2) - 1).toFixed(1)}`).join(" ");
  const last = values.length ? values[values.length - 1] : null;
  return h("div", { class: `spark ${cls}`, dataset: { testid: "sparkline" } },
    h("span", { class: "spark-label", text: label }),
    h("svg", { class: "spark-svg", viewBox: `0 0 ${w} ${hgt}`, width: w, height: hgt, role: "img", "aria-label": `${label}: last ${fmt(last)}${unit}` },
      h("polyline", { points })),
    h("b", { class: "spark-value", text: `${fmt(last)}${unit}` }));
}

function renderBox(key, view) {
  const s = state.sample?.services?.[key];
  const hist = state.history.map((x) => x.services?.[key] ?? null);
  const port = view.ports?.[0];
  // host:port, an IPv6 VIP in brackets; a dual-stack Service shows both of its VIPs.
  const hostport = (ip) => (port ? (ip.includes(":") ? `[${ip}]:${port.port}` : `${ip}:${port.port}`) : ip);
  const ips = view.clusterIPs?.length ? view.clusterIPs : [view.clusterIP || "None"];
  const vip = ips.map(hostport).join(" · ");
  const errs = s ? Object.entries(s.errors ?? {}) : [];
  const box = h("article", { class: `svc-box${errs.length ? " has-errors" : ""}`, dataset: { testid: "svc-box", key } },
    h("header", { class: "svc-box-head" },
      h("span", { class: "svc-box-name", text: view.name }),
      h("span", { class: "svc-box-type", text: view.type })),
    h("p", { class: "svc-box-vip mono", title: "ClusterIP: the Service's virtual IP, programmed by kube-proxy on every node", text: `VIP ${vip}` }),
    ...via(key),
    h("p", { class: "svc-box-stats", dataset: { testid: "svc-stats" } },
      s ? `${fmt(s.okRate + s.errorRate)} req/s · ${fmt(s.errorRate)} err/s · p95 ${s.p95 == null ? "–" : `${fmt(s.p95)} ms`}` : "no traffic"),
    h("div", { class: "sparks" },
      sparkline("req/s", hist.map((x) => (x ? x.okRate + x.errorRate : 0))),
      sparkline("errors/s", hist.map((x) => (x ? x.errorRate : 0)), { cls: "spark-err" }),
      sparkline("p95", hist.map((x) => (x ? x.p95 : null)), { unit: " ms", cls: "spark-lat" })),
  );
  if (errs.length) {
    box.append(h("ul", { class: "svc-box-errors", dataset: { testid: "svc-errors" } },
      ...errs.map(([reason, n]) => h("li", { text: `✗ ${n} × ${reason}` }))));
  }
  if (s?.stale?.length) box.append(h("p", { class: "svc-box-stale", text: `stale rules on ${s.stale.join(", ")}` }));
  return box;
}

/** "in via Ingress shop": the line from the Ingress box, said in words too. */
function via(key) {
  const names = (state.ingressesOf.get(key) ?? []).map((k) => k.split("/")[1]);
  if (!names.length) return [];
  const text = `in via Ingress ${names.join(", ")}`;
  return [h("p", { class: "svc-box-ingress", dataset: { testid: "svc-ingress" }, text })];
}

/** Where an Ingress backend goes, as kubectl describe ingress writes it: "nginx:80". */
function backendText(ns, backend) {
  if (!backend) return { text: "–", missing: false };
  if (backend.resource) return { text: backend.resource, missing: false };
  const text = `${backend.service}${backend.port != null ? `:${backend.port}` : ""}`;
  return { text, missing: !state.serviceKeys.has(`${ns}/${backend.service}`) };
}

function ruleItem(from, ns, backend, title) {
  const to = backendText(ns, backend);
  // The target kept whole: a long rule wraps before its arrow, never between it and the port.
  const li = h("li", { class: "ing-rule", dataset: { testid: "ingress-rule" }, title },
    h("span", { class: "ing-from", text: from }), " ", h("span", { class: "ing-to", text: `→ ${to.text}` }));
  // ingress-nginx answers 503 for a backend Service that does not exist.
  if (to.missing) li.append(" ", h("span", { class: "ing-missing", text: "(no such Service: 503)" }));
  return li;
}

function renderIngress(key, view) {
  const ns = view.namespace;
  const rules = (view.rules ?? []).map((r) => {
    const exact = r.pathType === "Exact";
    const from = `${r.host || "*"}${r.path || "/"}${exact ? " (exact)" : ""}`;
    const title = `${r.host ? `host ${r.host}` : "any host"}, path ${r.path || "/"} (${r.pathType})`;
    return ruleItem(from, ns, r.backend, title);
  });
  if (view.defaultBackend) rules.push(ruleItem("anything else", ns, view.defaultBackend, "spec.defaultBackend: requests no rule matches"));
  const address = view.address
    ? h("p", { class: "ing-box-addr mono", title: "status.loadBalancer: the address ingress-nginx published (kubectl get ingress ADDRESS)", text: `IP ${view.address}${view.class ? ` · class ${view.class}` : ""}` })
    : h("p", { class: "ing-box-addr is-pending", text: `no address yet${view.class ? ` · class ${view.class}` : ""}` });
  return h("article", { class: "ing-box", dataset: { testid: "ingress-box", key } },
    h("h3", { class: "ing-box-head" }, h("span", { class: "ing-box-kind", text: "Ingress " }), h("span", { class: "ing-box-name", text: view.name })),
    address,
    h("ul", { class: "ing-rules", dataset: { testid: "ingress-rules" } }, ...rules));
}

/** Service key -> the Ingresses whose rules or default backend name it (same namespace). */
function indexIngresses() {
  const out = new Map();
  for (const key of [...state.ingresses.keys()].sort()) {
    const view = state.ingresses.get(key);
    const backends = [...(view.rules ?? []).map((r) => r.backend), view.defaultBackend];
    for (const b of backends) {
      if (!b?.service) continue;
      const svc = `${view.namespace}/${b.service}`;
      const list = out.get(svc) ?? [];
      if (!list.includes(key)) list.push(key);
      out.set(svc, list);
    }
  }
  return out;
}

/** A point of an element relative to the traffic lane (where the link SVG is). */
function lanePoint(el, side) {
  const r = el.getBoundingClientRect();
  const l = lane.getBoundingClientRect();
  // The SVG fills the lane's padding box: inside its border.
  const x = r.left - l.left - lane.clientLeft;
  const y = r.top - l.top - lane.clientTop;
  if (side === "right") return { x: x + r.width, y: y + r.height / 2 };
  if (side === "left") return { x, y: y + r.height / 2 };
  return { x: x + r.width / 2, y };
}

/** One line per Ingress -> Service it routes to, into the Service box's side (or, for a box
 * that is not first in its row, its top). Redrawn whenever the lane's layout may have moved. */
function drawLinks() {
  for (const old of ingLinks.querySelectorAll("[data-testid=ingress-link]")) old.remove();
  if (lane.hidden || !state.ingresses.size) return;
  const rowStart = boxes.getBoundingClientRect().left;
  for (const [svc, ings] of state.ingressesOf) {
    const box = boxes.querySelector(`[data-key="${CSS.escape(svc)}"]`);
    if (!box) continue;
    const firstInRow = box.getBoundingClientRect().left - rowStart < 8;
    const b = lanePoint(box, firstInRow ? "left" : "top");
    for (const ing of ings) {
      const ingEl = ingBoxes.querySelector(`[data-key="${CSS.escape(ing)}"]`);
      if (!ingEl) continue;
      const a = lanePoint(ingEl, "right");
      const bend = Math.max(20, (b.x - a.x) / 2);
      const d = firstInRow
        ? `M${a.x},${a.y} C${a.x + bend},${a.y} ${b.x - bend},${b.y} ${b.x - 2},${b.y}`
        : `M${a.x},${a.y} C${a.x + bend},${a.y} ${b.x},${b.y - 40} ${b.x},${b.y - 2}`;
      ingLinks.append(h("path", { d, "marker-end": "url(#ing-arrow)", dataset: { testid: "ingress-link", from: ing, to: svc } }));
    }
  }
}

let linksQueued = false;
function scheduleLinks() {
  if (linksQueued) return;
  linksQueued = true;
  requestAnimationFrame(() => {
    linksQueued = false;
    drawLinks();
  });
}

function renderPods() {
  const pods = state.sample?.pods ?? {};
  const failing = new Map();
  for (const svc of Object.values(state.sample?.services ?? {})) {
    for (const route of Object.values(svc.nodes ?? {})) {
      for (const [pod, reason, n] of route.fail ?? []) if (pod) failing.set(pod, [reason, (failing.get(pod)?.[1] ?? 0) + n]);
    }
  }
  for (const el of diagramEl.querySelectorAll('[data-testid="pod"]')) {
    const key = `${el.dataset.namespace}/${el.dataset.name}`;
    const served = pods[key];
    const failed = failing.get(key);
    let badge = el.querySelector(".pod-rps");
    if (!served && !failed) {
      badge?.remove();
      continue;
    }
    if (!badge) {
      badge = h("span", { class: "pod-rps", dataset: { testid: "pod-rps" } });
      el.append(badge);
    }
    const cpu = state.usage[key]?.cpu ?? (served?.cpuMillis != null ? `${served.cpuMillis}m` : null);
    const text = failed ? `✗ ${fmt(failed[1] / (state.sample.window || 1))} err/s` : `${fmt(served.rps)} rps${cpu ? ` · ${cpu}` : ""}`;
    if (badge.textContent !== text) badge.textContent = text;
    badge.classList.toggle("is-error", Boolean(failed));
    badge.title = failed ? failed[0] : `serves ${fmt(served.rps)} requests/s, mean latency ${fmt(served.latencyMs)} ms${cpu ? `, CPU ${cpu}` : ""}`;
  }
}

function render() {
  const keys = [...state.services.keys()].sort();
  const ingKeys = [...state.ingresses.keys()].sort();
  state.ingressesOf = indexIngresses();
  // No Service and no Ingress: no lane. No Ingress: no Ingress column (the lane stays as it was).
  lane.hidden = keys.length === 0 && ingKeys.length === 0;
  lane.classList.toggle("has-ingress", ingKeys.length > 0);
  ingBoxes.hidden = ingKeys.length === 0;
  ingBoxes.replaceChildren(...ingKeys.map((k) => renderIngress(k, state.ingresses.get(k))));
  boxes.replaceChildren(...keys.map((k) => renderBox(k, state.services.get(k))));
  flows.forgetIngresses(state.ingresses);
  scheduleLinks();
  const total = Object.values(state.sample?.services ?? {}).reduce((a, s) => a + s.rps, 0);
  clientNote.textContent = total ? `${fmt(total)} req/s, in through every node` : "no traffic";
  renderPods();
}

// ------------------------------------------------------------------------------ moving dots

class Flows {
  constructor() {
    this.routes = []; // {svc, node, pod, err, rate}
    this.dots = [];
    this.carry = new Map();
    this.last = 0;
    this.ctx = canvas.getContext("2d");
    requestAnimationFrame((t) => this.frame(t));
  }

  setSample(sample) {
    const routes = [];
    for (const [svc, s] of Object.entries(sample?.services ?? {})) {
      for (const [node, route] of Object.entries(s.nodes ?? {})) {
        for (const [pod, n] of Object.entries(route.ok ?? {})) routes.push({ svc, node, pod, err: false, rate: n / sample.window });
        for (const [pod, , n] of route.fail ?? []) routes.push({ svc, node, pod, err: true, rate: n / sample.window });
      }
    }
    const total = routes.reduce((a, r) => a + r.rate, 0);
    const scale = total > MAX_DOTS_PER_SECOND ? MAX_DOTS_PER_SECOND / total : 1;
    // Every flow stays visible (at least one dot every ~2 s), the busy ones more often.
    for (const r of routes) r.visual = Math.max(r.rate * scale, 0.5);
    this.routes = routes;
  }

  /** Dots already flying through an Ingress that is gone would cross an empty lane: drop them. */
  forgetIngresses(kept) {
    this.dots = this.dots.filter((dot) => dot.path.every((p) => !p.ingress || kept.has(p.ingress)));
  }

  enabled() {
    const toggle = document.getElementById("animate-toggle");
    return !reducedMotion.matches && !document.hidden && (!toggle || toggle.checked) && !lane.hidden;
  }

  /** A point of an element in the diagram's scrolled content: its centre or the middle of a side. */
  point(el, side = "center") {
    if (!el) return null;
    const r = el.getBoundingClientRect();
    if (!r.width) return null;
    const d = diagramEl.getBoundingClientRect();
    const x = r.left - d.left + diagramEl.scrollLeft;
    const y = r.top - d.top + diagramEl.scrollTop;
    if (side === "right") return { x: x + r.width, y: y + r.height / 2 };
    if (side === "left") return { x, y: y + r.height / 2 };
    if (side === "bottom") return { x: x + r.width / 2, y: y + r.height, hidden: true };
    return { x: x + r.width / 2, y: y + r.height / 2 };
  }

  path(route) {
    const client = this.point(document.querySelector('[data-component="client"]'), "right");
    // Through an Ingress routing to this Service (in turn if several): in at its left side,
    // across it unseen, out at its right side towards the Service box.
    const entry = [];
    const ings = state.ingressesOf.get(route.svc) ?? [];
    if (ings.length) {
      this.turn = (this.turn ?? 0) + 1;
      const ing = ings[this.turn % ings.length];
      const ingEl = ingBoxes.querySelector(`[data-key="${CSS.escape(ing)}"]`);
      const ingIn = this.point(ingEl, "left");
      const ingOut = this.point(ingEl, "right");
      if (ingIn && ingOut) entry.push({ ...ingIn, ingress: ing }, { ...ingOut, hidden: true });
    }
    const box = boxes.querySelector(`[data-key="${CSS.escape(route.svc)}"]`);
    // In at the box's side, out at its bottom: a dot never runs over the box's numbers.
    const svcIn = this.point(box, "left");
    const svc = this.point(box, "bottom");
    const nodeEl = diagramEl.querySelector(`[data-testid="node"][data-name="${CSS.escape(route.node)}"]`);
    const proxy = this.point(nodeEl?.querySelector(".agent-proxy") ?? nodeEl);
    if (!client || !svcIn || !svc || !proxy) return null;
    const [ns, name] = route.pod ? route.pod.split("/") : ["", ""];
    const podEl = name ? diagramEl.querySelector(`[data-testid="pod"][data-namespace="${CSS.escape(ns)}"][data-name="${CSS.escape(name)}"]`) : null;
    const pod = this.point(podEl);
    return pod ? [client, ...entry, svcIn, svc, proxy, pod] : [client, ...entry, svcIn, svc, proxy];
  }

  frame(t) {
    const dt = Math.min((t - (this.last || t)) / 1000, 0.1);
    this.last = t;
    const width = diagramEl.scrollWidth;
    const height = diagramEl.scrollHeight;
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
    }
    const ctx = this.ctx;
    ctx.clearRect(0, 0, width, height);
    if (this.enabled()) {
      for (const route of this.routes) {
        const key = `${route.svc}|${route.node}|${route.pod}|${route.err}`;
        let due = (this.carry.get(key) ?? Math.random()) + route.visual * dt;
        while (due >= 1 && this.dots.length < MAX_DOTS) {
          due -= 1;
          const path = this.path(route);
          // The same speed on a longer path (through an Ingress): a dot takes longer.
          if (path) this.dots.push({ path, err: route.err, age: 0, seconds: DOT_SECONDS * Math.max(1, (path.length - 1) / DOT_LEGS) });
        }
        this.carry.set(key, Math.min(due, 1));
      }
      const alive = [];
      for (const dot of this.dots) {
        dot.age += dt;
        const done = dot.age / dot.seconds;
        if (done >= 1.15) continue;
        alive.push(dot);
        this.draw(ctx, dot, Math.min(done, 1));
      }
      this.dots = alive;
    } else {
      this.dots = [];
    }
    requestAnimationFrame((next) => this.frame(next));
  }

  draw(ctx, dot, done) {
    const legs = dot.path.length - 1;
    const at = done * legs;
    const i = Math.min(Math.floor(at), legs - 1);
    const f = at - i;
    const a = dot.path[i];
    const b = dot.path[i + 1];
    if (b.hidden) return; // inside a Service or Ingress box, on its way to its other edge
    const x = a.x + (b.x - a.x) * f;
    const y = a.y + (b.y - a.y) * f;
    ctx.beginPath();
    ctx.fillStyle = dot.err ? COLORS.err : COLORS.ok;
    if (dot.err && done >= 1) {
      // A failed request ends in a red cross where it died (the proxy, or the silent pod).
      ctx.strokeStyle = COLORS.err;
      ctx.lineWidth = 3;
      ctx.moveTo(x - 6, y - 6); ctx.lineTo(x + 6, y + 6);
      ctx.moveTo(x + 6, y - 6); ctx.lineTo(x - 6, y + 6);
      ctx.stroke();
      return;
    }
    // Big enough for the back of a classroom, with a white rim so it reads over any card.
    ctx.arc(x, y, dot.err ? 6.5 : 6, 0, Math.PI * 2);
    ctx.fill();
    ctx.strokeStyle = "#fff";
    ctx.lineWidth = 2;
    ctx.stroke();
  }
}

const flows = new Flows();
const embedded = document.getElementById("snapshot");
if (embedded) {
  const snapshot = JSON.parse(embedded.textContent);
  loadSnapshot(snapshot);
  flows.setSample(snapshot.traffic);
}
document.addEventListener("k8sviz:snapshot", (event) => {
  loadSnapshot(event.detail);
  flows.setSample(event.detail.traffic);
});
document.addEventListener("k8sviz:traffic", (event) => onTraffic(event.detail));
let podsQueued = false;
document.addEventListener("k8sviz:delta", (event) => {
  onDelta(event.detail);
  // A new or moved pod chip gets its badge; once per frame however many deltas arrive.
  if (event.detail.kind === "Pod" && !podsQueued) {
    podsQueued = true;
    requestAnimationFrame(() => {
      podsQueued = false;
      renderPods();
    });
  }
});
document.addEventListener("k8sviz:pod-usage", (event) => {
  state.usage = event.detail ?? {};
  renderPods();
});
// The links follow the boxes: sparklines, rules or a resized window move them.
new ResizeObserver(scheduleLinks).observe(lane);
window.addEventListener("resize", scheduleLinks);
window.k8svizTraffic = state;
window.k8svizFlows = flows; // for the browser tests: the path a dot takes
