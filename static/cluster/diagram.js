// k8sviz: the live architecture diagram. One ES module, no dependencies, no build step.
//
// Data flow. The page embeds a snapshot (json_script "snapshot") so it draws at once; the
// WebSocket (/ws/clusters/<name>/) then sends a snapshot, deltas in resourceVersion order and
// clock ticks (protocol: cluster/consumers.py, cluster/broadcast.py, cluster/presenters.py).
// Each delta goes through the Animator, which draws it the way the API machinery works: a request
// from the acting component to kube-apiserver, persisted into etcd (the diagram changes at that
// moment), then sent out to the components that watch that kind of object. A short queue keeps
// bursts readable: it speeds up when it grows, and a delta never waits more than MAX_LAG_MS.
//
// Sections: helpers · Store · Diagram · Selection · Deployments · Timeline · Clock · Animator ·
//           Live connection · Toasts · boot.

import { decoratePod, renderReplicaSets, watchRolloutPanel } from "./rollout.js";
import { watchHpaPanel } from "./hpa.js";
import { watchLessonPanel } from "./lesson.js";
const app = document.getElementById("app");
const CFG = app.dataset;
const SVG_NS = "http://www.w3.org/2000/svg";
const reducedMotion = window.matchMedia("(prefers-reduced-motion: reduce)");
const collator = new Intl.Collator("en", { numeric: true });

const HOP_MS = 560; // one packet hop when the queue is empty
const MAX_QUEUE = 30; // older deltas beyond this are drawn at once, without a packet
const MAX_LAG_MS = 3000; // no delta waits longer than this before it is drawn
const MAX_EVENTS = 200;
const HEARTBEAT_MIN_MS = 900; // at most one kubelet heartbeat pulse per node this often

// ---------------------------------------------------------------------------------- helpers

/** Create an element: h("div", {class: "x", dataset: {a: 1}, text: "hi"}, child, ...). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else el.setAttribute(key, value === true ? "" : value);
  }
  el.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

function icon(name, cls = "icon") {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("class", cls);
  svg.setAttribute("aria-hidden", "true");
  const use = document.createElementNS(SVG_NS, "use");
  use.setAttribute("href", `#${name}`);
  svg.append(use);
  return svg;
}

function setIcon(svg, name) {
  const use = svg.firstElementChild;
  if (use.getAttribute("href") !== `#${name}`) use.setAttribute("href", `#${name}`);
}

function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

/** Fill a URL template rendered by Django with __placeholders__. */
function fillUrl(template, params) {
  return template.replace(/__(\w+)__/g, (_, key) => encodeURIComponent(params[key] ?? ""));
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function fmtCpu(milli) {
  return milli >= 1000 && milli % 100 === 0 ? `${+(milli / 1000).toFixed(1)}` : `${milli}m`;
}

function fmtMem(bytes) {
  const mi = bytes / 2 ** 20;
  return mi >= 1024 ? `${+(mi / 1024).toFixed(1)}Gi` : `${Math.round(mi)}Mi`;
}

function fmtSpeed(speed) {
  return `${+Number(speed).toFixed(2)}x`;
}

function fmtClock(seconds) {
  return new Date(Math.floor(seconds) * 1000).toISOString().slice(11, 19);
}

/** kubectl's HumanDuration, as cluster/k8s.py human_duration prints it. */
function humanDuration(seconds) {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return s % 60 ? `${m}m${s % 60}s` : `${m}m`;
  if (m < 180) return `${m}m`;
  const hrs = Math.floor(s / 3600);
  if (hrs < 8) return m % 60 ? `${hrs}h${m % 60}m` : `${hrs}h`;
  if (hrs < 48) return `${hrs}h`;
  return `${Math.floor(hrs / 24)}d`;
}

/** nginx-7c5ddbdf54-x2x9k -> nginx-x2x9k: the pod-template-hash means nothing to a class. */
function shortPodName(pod) {
  const hash = pod.labels?.["pod-template-hash"];
  return hash ? pod.name.replace(`-${hash}-`, "-") : pod.name;
}

/** The workload a pod belongs to (its Deployment's name when it has one). */
function workloadOf(pod) {
  if (!pod.owner) return pod.name;
  const hash = pod.labels?.["pod-template-hash"];
  return hash ? pod.owner.name.replace(`-${hash}`, "") : pod.owner.name;
}

function hue(text) {
  let n = 7;
  for (const ch of text) n = (n * 31 + ch.charCodeAt(0)) % 997;
  return (n * 137) % 360;
}

const FAILED_STATUS = /Err|BackOff|Error|Failed|OOM|ExitCode|Signal|Evicted|Invalid/;

/** [css class, icon] of a pod's STATUS column; shapes differ as well as colours. */
function podLook(pod) {
  const status = pod.status || pod.phase || "Pending";
  if (status === "Running") {
    return pod.ready?.startsWith("0/") ? ["st-notready", "i-pod-notready"] : ["st-running", "i-pod-running"];
  }
  if (status === "Terminating") return ["st-terminating", "i-pod-terminating"];
  if (status === "Pending") return ["st-pending", "i-pod-pending"];
  if (status === "Completed" || status === "Succeeded") return ["st-done", "i-pod-done"];
  if (status === "Unknown") return ["st-unknown", "i-pod-unknown"];
  if (FAILED_STATUS.test(status)) return ["st-failed", "i-pod-failed"];
  return ["st-creating", "i-pod-creating"]; // ContainerCreating, PodInitializing, Init:0/1...
}

// ------------------------------------------------------------------- Node failure modes
// (docs/nodes.md) The switches a teacher flips on a node, and the badges that show them.

const NODE_FAILURE_ICONS = {
  "kubelet-stop": "i-heart", "kubelet-start": "i-heart", partition: "i-ban", heal: "i-check",
  "memory-pressure-on": "i-taint", "memory-pressure-off": "i-check",
  "disk-pressure-on": "i-taint", "disk-pressure-off": "i-check", drain: "i-x",
  "kube-proxy-stop": "i-proxy", "kube-proxy-start": "i-proxy",
};

/** The failure-mode buttons for a powered-on machine, each the opposite of its current state. */
function nodeFailureActions(node, machine, act) {
  if (!machine || !machine.powered) return [];
  const actions = [
    machine.kubelet ? act("kubelet-stop", "Stop kubelet", true) : act("kubelet-start", "Start kubelet"),
    machine.partitioned ? act("heal", "Heal network") : act("partition", "Partition network", true),
    machine.kubeProxy === false ? act("kube-proxy-start", "Start kube-proxy") : act("kube-proxy-stop", "Stop kube-proxy", true),
    machine.memoryPressure ? act("memory-pressure-off", "Relieve memory pressure") : act("memory-pressure-on", "Memory pressure", true),
    machine.diskPressure ? act("disk-pressure-off", "Relieve disk pressure") : act("disk-pressure-on", "Disk pressure", true),
  ];
  if (node) actions.push(act("drain", "Drain", true));
  return actions;
}

/** Badges for what the teacher broke and what the API server shows about it. */
function nodeFailureFlags(node, machine, powered, store) {
  const flags = [];
  if (powered && machine?.partitioned) {
    flags.push(h("span", { class: "flag flag-partitioned", title: "No Lease renewal or status reaches the API server; containers keep running" }, icon("i-ban"), "partitioned"));
  }
  const names = { MemoryPressure: "memory pressure", DiskPressure: "disk pressure", PIDPressure: "PID pressure" };
  for (const c of node?.pressure ?? []) {
    flags.push(h("span", { class: "flag flag-pressure", dataset: { condition: c } }, icon("i-taint"), names[c] ?? c));
  }
  if (node?.unschedulable && store) {
    const leaving = store.all("Pod").filter((p) => p.nodeName === node.name && p.deleting).length;
    if (leaving) flags.push(h("span", { class: "flag flag-draining" }, icon("i-pod-terminating"), `draining: ${leaving} terminating`));
  }
  return flags;
}

/** The node card's state: the machine's power first, then what the API server believes. */
function nodeState(node, machine) {
  if (machine && !machine.powered) return "PoweredOff";
  if (!node || node.ready !== "True") return "NotReady";
  return "Ready";
}

function isControlPlane(node) {
  return Boolean(node?.roles?.includes("control-plane") || node?.roles?.includes("master"));
}

function motionAllowed() {
  return !reducedMotion.matches && !document.hidden;
}

// ------------------------------------------------------------------------------------ Store

/** The objects currently drawn, by kind and namespace/name. */
class Store {
  constructor() {
    this.kinds = new Map();
    this.cluster = {};
  }

  static key(view) {
    return view.namespace ? `${view.namespace}/${view.name}` : view.name;
  }

  map(kind) {
    let map = this.kinds.get(kind);
    if (!map) this.kinds.set(kind, (map = new Map()));
    return map;
  }

  get(kind, name, namespace = "") {
    return this.map(kind).get(namespace ? `${namespace}/${name}` : name) ?? null;
  }

  all(kind) {
    return [...this.map(kind).values()];
  }

  load(snapshot) {
    this.kinds = new Map();
    this.cluster = { ...snapshot.cluster };
    for (const view of snapshot.objects) this.map(view.kind).set(Store.key(view), view);
  }

  /** Apply one change; returns the previous view (or null). */
  apply(change, view) {
    const map = this.map(view.kind);
    const key = Store.key(view);
    const previous = map.get(key) ?? null;
    if (change === "DELETED") map.delete(key);
    else map.set(key, view);
    return previous;
  }
}

// ---------------------------------------------------------------------------------- Diagram

const CONTROLLER_OF_ACTOR = {
  "deployment-controller": "deployment",
  "replicaset-controller": "replicaset",
  "node-lifecycle-controller": "node-lifecycle",
  "node-controller": "node-lifecycle",
  "taint-eviction-controller": "taint-eviction",
  "node-ipam-controller": "node-ipam",
  "service-controller": "service-lb",
  "horizontal-pod-autoscaler-controller": "horizontal-pod-autoscaler",
  "garbage-collector": "garbage-collector",
  "pod-garbage-collector": "garbage-collector",
  "namespace-controller": "garbage-collector",
};
const SCHEDULER_ACTORS = new Set(["default-scheduler", "kube-scheduler"]);
// The ingress controller runs as an add-on that is not drawn: its writes start at the API server.
const ADDON_ACTORS = new Set(["ingress-nginx", "nginx-ingress-controller"]);
// Writes made through the Kubernetes API by kubectl or another client (cluster/api/writes.py).
const API_CLIENT_ACTOR = /^(kubectl|api-client)(\/|$)/;

/** Nodes, pods and the pending tray: keyed DOM updates from the store. */
class Diagram {
  constructor(store, { onActivate }) {
    this.store = store;
    this.root = document.getElementById("diagram");
    this.workers = document.getElementById("workers");
    this.cpNodes = document.getElementById("cp-nodes");
    this.tray = this.root.querySelector('[data-testid="pending-pods"]');
    this.trayList = document.getElementById("tray-pods");
    this.wires = document.getElementById("wires");
    this.nodeEls = new Map(); // node name -> element
    this.podEls = new Map(); // pod uid -> element
    this.dirtyUsage = new Set();
    this.lastBeat = new Map();
    this.selectedEl = null;

    this.root.addEventListener("click", (event) => {
      const target = event.target.closest('[data-testid="pod"], [data-testid="node"]');
      if (target) onActivate(target, false);
    });
    this.root.addEventListener("keydown", (event) => {
      if (event.key !== "Enter" && event.key !== " ") return;
      if (!event.target.matches('[data-testid="pod"], [data-testid="node"]')) return;
      event.preventDefault();
      onActivate(event.target, true);
    });
    const resize = new ResizeObserver(() => this.scheduleWires());
    for (const el of [this.root, this.workers, this.tray, this.cpNodes]) resize.observe(el);
  }

  // --- lookups used by the animator
  component(name) {
    return this.root.querySelector(`[data-component="${name}"]`);
  }

  controller(name) {
    return this.root.querySelector(`[data-controller="${name}"]`);
  }

  kubelet(nodeName) {
    return this.nodeEls.get(nodeName)?.querySelector(".agent-kubelet") ?? null;
  }

  actorElement(actor, view) {
    if (actor.startsWith("kubelet")) {
      const node = actor.split("/")[1] || view.nodeName || (view.kind === "Node" ? view.name : "");
      return this.kubelet(node) ?? this.nodeEls.get(node) ?? this.component("user");
    }
    if (CONTROLLER_OF_ACTOR[actor]) return this.controller(CONTROLLER_OF_ACTOR[actor]);
    if (SCHEDULER_ACTORS.has(actor)) return this.component("kube-scheduler");
    if (actor === "kube-apiserver" || ADDON_ACTORS.has(actor)) return this.component("kube-apiserver");
    if (API_CLIENT_ACTOR.test(actor)) return this.component("kubectl");
    return this.component("user");
  }

  /** A point in the diagram's scrolled content (where packets and wires are drawn). */
  center(el) {
    const r = el.getBoundingClientRect();
    const d = this.root.getBoundingClientRect();
    return {
      x: r.left - d.left + this.root.scrollLeft + r.width / 2,
      y: r.top - d.top + this.root.scrollTop + r.height / 2,
      top: r.top - d.top + this.root.scrollTop,
      bottom: r.bottom - d.top + this.root.scrollTop,
    };
  }

  // --- whole redraw (snapshot), keyed so nothing flickers
  renderAll() {
    const names = new Set([...this.store.all("Node"), ...this.store.all("Machine")].map((v) => v.name));
    for (const name of [...this.nodeEls.keys()]) if (!names.has(name)) this.removeNode(name, false);
    for (const name of [...names].sort(collator.compare)) this.renderNode(name);
    const pods = this.store.all("Pod").sort((a, b) => (a.createdAt ?? 0) - (b.createdAt ?? 0) || collator.compare(a.name, b.name));
    const uids = new Set(pods.map((p) => p.uid));
    for (const uid of [...this.podEls.keys()]) if (!uids.has(uid)) this.removePod(uid, false);
    for (const pod of pods) this.renderPod(pod, { animate: false });
    for (const name of names) this.dirtyUsage.add(name);
    this.flushUsage();
    this.updateTray();
    this.scheduleWires();
  }

  /** Draw one delta that has just been "persisted"; returns the element to flash. */
  apply(delta, previous, animate) {
    const view = delta.object;
    if (view.kind === "Pod") {
      if (previous?.nodeName) this.dirtyUsage.add(previous.nodeName);
      if (view.nodeName) this.dirtyUsage.add(view.nodeName);
      let el = null;
      if (delta.change === "DELETED") this.removePod(view.uid, animate);
      else el = this.renderPod(view, { animate });
      this.updateTray();
      this.scheduleUsage();
      return el;
    }
    if (view.kind === "Node" || view.kind === "Machine") {
      const el = this.renderNode(view.name, animate);
      this.dirtyUsage.add(view.name);
      this.scheduleUsage();
      return el;
    }
    return null;
  }

  // --- nodes
  renderNode(name, animate = false) {
    const node = this.store.get("Node", name);
    const machine = this.store.get("Machine", name);
    if (!node && !machine) {
      this.removeNode(name, animate);
      return null;
    }
    let el = this.nodeEls.get(name);
    const created = !el;
    if (created) {
      el = this.buildNode(name);
      this.nodeEls.set(name, el);
    }
    this.updateNode(el, node, machine);
    const container = isControlPlane(node) ? this.cpNodes : this.workers;
    if (el.parentElement !== container) {
      this.insertSorted(container, el);
      this.scheduleWires();
      // Pods that arrived before their node's card go into it now.
      for (const pod of this.store.all("Pod")) if (pod.nodeName === name) this.renderPod(pod, { animate: false });
      this.updateTray();
    }
    if (created && animate && motionAllowed()) {
      el.animate([{ opacity: 0, transform: "scale(.85)" }, { opacity: 1, transform: "none" }], { duration: 450, easing: "ease-out" });
    }
    return el;
  }

  insertSorted(container, el) {
    const before = [...container.children].find((child) => collator.compare(child.dataset.name ?? "", el.dataset.name) > 0);
    container.insertBefore(el, before ?? null);
  }

  buildNode(name) {
    const part = (cls, ...children) => h("span", { class: cls }, ...children);
    const parts = {
      name: h("h3", { class: "node-name", text: name }),
      role: part("node-role"),
      statusIcon: icon("i-ready"),
      statusText: part("node-status-text"),
      flags: h("div", { class: "node-flags" }),
      kubelet: part("agent agent-kubelet", icon("i-heart"), "kubelet"),
      proxy: part("agent agent-proxy", icon("i-proxy"), "kube-proxy"),
      runtime: part("agent agent-runtime", icon("i-box"), "containerd"),
      cpuFill: part("meter-fill"),
      cpuText: part("meter-text"),
      memFill: part("meter-fill"),
      memText: part("meter-text"),
      taints: h("ul", { class: "node-taints", "aria-label": "Taints" }),
      cidr: h("p", { class: "node-cidr", title: "spec.podCIDR: the pod address range node-ipam gave this node" }),
      pods: h("div", { class: "pod-list" }),
      empty: h("p", { class: "node-empty", text: "no pods" }),
    };
    parts.kubelet.title = "kubelet: starts this node's pods and reports their status; renews the node's Lease (heartbeat)";
    parts.proxy.title = "kube-proxy: routes Service traffic to pods";
    parts.runtime.title = "container runtime: runs the containers";
    const meter = (label, fill, text) =>
      h("div", { class: "meter" }, part("meter-name", label), part("meter-bar", fill), text);
    const el = h(
      "article",
      { class: "node", tabindex: "0", "aria-roledescription": "node", dataset: { testid: "node", name } },
      h("header", { class: "node-head" }, icon("i-server"), parts.name, parts.role,
        part("node-status", parts.statusIcon, parts.statusText)),
      parts.flags,
      h("div", { class: "node-agents" }, parts.kubelet, parts.proxy, parts.runtime),
      h("div", { class: "node-usage", title: "Requested by its pods / allocatable" },
        meter("CPU", parts.cpuFill, parts.cpuText), meter("Mem", parts.memFill, parts.memText)),
      parts.taints,
      parts.cidr,
      parts.pods,
      parts.empty,
    );
    el.parts = parts;
    return el;
  }

  updateNode(el, node, machine) {
    const p = el.parts;
    const state = nodeState(node, machine);
    const powered = !machine || machine.powered;
    const cp = isControlPlane(node);
    el.dataset.state = state;
    el.dataset.power = powered ? "on" : "off";
    el.dataset.ready = node?.ready ?? "Unknown";
    el.classList.toggle("node-cp", cp);
    el.classList.toggle("is-off", !powered);
    el.classList.toggle("is-cordoned", Boolean(node?.unschedulable));
    setText(p.role, cp ? "control-plane" : "");
    p.role.hidden = !cp;
    // The API server's view (kubectl get nodes STATUS), next to the machine's power state.
    const apiStatus = node ? node.status.split(",")[0] : "NotReady";
    setIcon(p.statusIcon, apiStatus === "Ready" ? "i-ready" : "i-notready");
    setText(p.statusText, apiStatus);

    const flags = [];
    if (!powered) flags.push(h("span", { class: "flag flag-off" }, icon("i-power"), "Powered off"));
    if (node?.unschedulable) flags.push(h("span", { class: "flag flag-cordoned" }, icon("i-ban"), "SchedulingDisabled"));
    if (powered && machine && !machine.kubelet) flags.push(h("span", { class: "flag flag-kubelet" }, icon("i-notready"), "kubelet stopped"));
    if (powered && machine?.kubeProxy === false) flags.push(h("span", { class: "flag flag-proxy" }, icon("i-proxy"), "kube-proxy stopped: stale rules"));
    flags.push(...nodeFailureFlags(node, machine, powered, this.store));
    if (!node) flags.push(h("span", { class: "flag flag-joining" }, icon("i-pod-creating"), "joining: kubelet registers the node"));
    const flagKey = flags.map((f) => f.textContent).join("|");
    if (p.flags.dataset.key !== flagKey) {
      p.flags.replaceChildren(...flags);
      p.flags.dataset.key = flagKey;
    }
    p.kubelet.classList.toggle("is-down", !powered || (machine && !machine.kubelet));
    p.kubelet.classList.toggle("is-cut", Boolean(powered && machine?.partitioned));
    el.classList.toggle("is-partitioned", Boolean(powered && machine?.partitioned));
    el.classList.toggle("is-pressure", Boolean(node?.pressure?.length));
    p.proxy.classList.toggle("is-down", !powered || machine?.kubeProxy === false);
    p.runtime.classList.toggle("is-down", !powered);

    const taints = node?.taints ?? [];
    const taintKey = taints.map((t) => `${t.key}=${t.value}:${t.effect}`).join(",");
    if (p.taints.dataset.key !== taintKey) {
      p.taints.replaceChildren(...taints.map((t) => h("li", { title: `taint ${t.key}${t.value ? `=${t.value}` : ""}:${t.effect}` },
        icon("i-taint"), `${t.key.replace(/^node(-role)?\.kubernetes\.io\//, "")}:${t.effect}`)));
      p.taints.dataset.key = taintKey;
    }
    setText(p.cidr, node ? `pods ${(node.podCIDRs && node.podCIDRs.length ? node.podCIDRs.join(" · ") : node.podCIDR) || "(no pod CIDR yet)"}` : "");
    const words = [state === "PoweredOff" ? "powered off" : state];
    if (node && state === "PoweredOff") words.push(`API status ${apiStatus}`);
    if (node?.unschedulable) words.push("scheduling disabled");
    if (powered && machine && !machine.kubelet) words.push("kubelet stopped");
    if (powered && machine?.partitioned) words.push("partitioned from the control plane");
    if (powered && machine?.kubeProxy === false) words.push("kube-proxy stopped");
    for (const c of node?.pressure ?? []) words.push(c);
    el.setAttribute("aria-label", `Node ${el.dataset.name}: ${words.join(", ")}`);
  }

  removeNode(name, animate) {
    const el = this.nodeEls.get(name);
    if (!el) return;
    this.nodeEls.delete(name);
    // Pods still drawn inside go to the tray until their own deltas remove them.
    for (const podEl of el.querySelectorAll('[data-testid="pod"]')) this.trayList.append(podEl);
    el.removeAttribute("data-testid");
    el.removeAttribute("tabindex");
    if (animate && motionAllowed()) {
      const anim = el.animate([{ opacity: 1 }, { opacity: 0, transform: "scale(.9)" }], { duration: 500, fill: "forwards" });
      anim.finished.then(() => el.remove(), () => el.remove());
    } else {
      el.remove();
    }
    this.updateTray();
    this.scheduleWires();
  }

  // --- pods
  renderPod(pod, { animate }) {
    let el = this.podEls.get(pod.uid);
    const created = !el;
    if (created) {
      el = h("div", { class: "pod", tabindex: "0", role: "button", dataset: { testid: "pod", uid: pod.uid } },
        icon("i-pod-running", "icon pod-icon"), h("span", { class: "pod-name" }), h("span", { class: "pod-status" }));
      this.podEls.set(pod.uid, el);
    }
    const [look, iconName] = podLook(pod);
    if (el.dataset.look !== look) {
      if (el.dataset.look) el.classList.remove(el.dataset.look);
      el.classList.add(look);
      el.dataset.look = look;
    }
    el.dataset.name = pod.name;
    el.dataset.namespace = pod.namespace ?? "default";
    el.dataset.state = pod.status;
    el.dataset.ready = pod.ready;
    el.dataset.node = pod.nodeName ?? "";
    setIcon(el.firstElementChild, iconName);
    setText(el.children[1], shortPodName(pod));
    const statusText = `${pod.status} ${pod.ready}${pod.restarts ? ` ↻${pod.restarts}` : ""}`;
    if (el.children[2].textContent !== statusText) {
      // Break opportunities between the words of CamelCase statuses (Container|Creating).
      const words = statusText.split(/(?<=[a-z])(?=[A-Z])/);
      el.children[2].replaceChildren(...words.flatMap((w, i) => (i ? [document.createElement("wbr"), w] : [w])));
    }
    el.style.setProperty("--owner-hue", hue(workloadOf(pod)));
    decoratePod(el, pod, this.store);
    el.title = `${pod.namespace}/${pod.name}\n${pod.status}, ${pod.ready} ready${pod.restarts ? `, ${pod.restarts} restarts` : ""}\nimage ${pod.image}${pod.nodeName ? `\non ${pod.nodeName}` : ""}${pod.ips && pod.ips.length > 1 ? `\nIPs ${pod.ips.join(", ")}` : pod.ip ? `\nIP ${pod.ip}` : ""}`;
    el.setAttribute("aria-label", `Pod ${pod.name}: ${pod.status}, ${pod.ready} ready`);

    const container = this.podContainer(pod);
    if (el.parentElement !== container) {
      const moving = animate && motionAllowed() && el.isConnected;
      const first = moving ? el.getBoundingClientRect() : null;
      container.append(el);
      if (first) {
        // FLIP: the chip travels from where it was (the tray) to its node.
        const last = el.getBoundingClientRect();
        el.animate(
          [{ transform: `translate(${first.left - last.left}px, ${first.top - last.top}px)`, zIndex: 5 }, { transform: "none", zIndex: 5 }],
          { duration: 700, easing: "cubic-bezier(.2,.7,.2,1)" },
        );
      }
    }
    if (created && animate && motionAllowed()) {
      el.animate([{ opacity: 0, transform: "scale(.3)" }, { opacity: 1, transform: "none" }], { duration: 380, easing: "ease-out" });
    }
    return el;
  }

  podContainer(pod) {
    const nodeEl = pod.nodeName ? this.nodeEls.get(pod.nodeName) : null;
    return nodeEl ? nodeEl.parts.pods : this.trayList;
  }

  removePod(uid, animate) {
    const el = this.podEls.get(uid);
    if (!el) return;
    this.podEls.delete(uid);
    // From now on it is only a picture leaving: no test hook, not focusable.
    el.removeAttribute("data-testid");
    el.removeAttribute("tabindex");
    el.removeAttribute("role");
    el.setAttribute("aria-hidden", "true");
    if (animate && motionAllowed()) {
      const anim = el.animate([{ opacity: 1, transform: "none" }, { opacity: 0, transform: "scale(.2)" }], { duration: 450, easing: "ease-in", fill: "forwards" });
      anim.finished.then(() => el.remove(), () => el.remove());
    } else {
      el.remove();
    }
  }

  updateTray() {
    const count = this.trayList.querySelectorAll('[data-testid="pod"]').length;
    this.tray.classList.toggle("has-pods", count > 0);
    for (const el of this.nodeEls.values()) {
      el.parts.empty.hidden = el.parts.pods.querySelector('[data-testid="pod"]') !== null;
    }
  }

  // --- requested CPU/memory vs allocatable, computed from the pods bound to each node
  scheduleUsage() {
    if (this.usageFrame) return;
    this.usageFrame = requestAnimationFrame(() => {
      this.usageFrame = 0;
      this.flushUsage();
    });
  }

  flushUsage() {
    if (!this.dirtyUsage.size) return;
    const totals = new Map([...this.dirtyUsage].map((name) => [name, { cpu: 0, memory: 0 }]));
    this.dirtyUsage.clear();
    for (const pod of this.store.all("Pod")) {
      const t = totals.get(pod.nodeName);
      if (!t || pod.phase === "Succeeded" || pod.phase === "Failed") continue;
      t.cpu += pod.requests?.cpu ?? 0;
      t.memory += pod.requests?.memory ?? 0;
    }
    for (const [name, t] of totals) {
      const el = this.nodeEls.get(name);
      if (!el) continue;
      const alloc = this.store.get("Node", name)?.allocatable ?? { cpu: 0, memory: 0 };
      const meter = (fill, text, used, total, fmt) => {
        const pct = total ? Math.min(100, (used / total) * 100) : 0;
        fill.style.width = `${pct}%`;
        fill.classList.toggle("is-high", pct >= 85);
        setText(text, total ? `${fmt(used)} / ${fmt(total)}` : "–");
      };
      meter(el.parts.cpuFill, el.parts.cpuText, t.cpu, alloc.cpu, fmtCpu);
      meter(el.parts.memFill, el.parts.memText, t.memory, alloc.memory, fmtMem);
      // A cordoned node's "draining" badge counts its terminating pods: refresh it.
      if (this.store.get("Node", name)?.unschedulable) this.updateNode(el, this.store.get("Node", name), this.store.get("Machine", name));
    }
  }

  // --- control-plane components (a stopped component is greyed and labelled)
  renderComponents(components = {}) {
    for (const [name, running] of Object.entries(components)) {
      const el = this.component(name);
      if (!el) continue;
      el.classList.toggle("is-stopped", !running);
      const badge = el.querySelector(".comp-stopped");
      if (badge) badge.hidden = Boolean(running);
    }
  }

  // --- highlights
  glow(el) {
    if (!el) return;
    el.classList.remove("is-active");
    void el.offsetWidth; // restart the CSS animation
    el.classList.add("is-active");
    clearTimeout(el.glowTimer);
    el.glowTimer = setTimeout(() => el.classList.remove("is-active"), 900);
  }

  flash(el) {
    if (!el?.isConnected) return;
    if (!motionAllowed()) return this.glow(el);
    el.animate(
      [{ boxShadow: "0 0 0 0 rgba(50,108,229,.9)", transform: "scale(1.08)" }, { boxShadow: "0 0 0 12px rgba(50,108,229,0)", transform: "none" }],
      { duration: 700, easing: "ease-out" },
    );
  }

  /** A Lease renewal: a faint beat of the kubelet's heart, not a packet (there are many). */
  heartbeat(nodeName) {
    const kubelet = this.kubelet(nodeName);
    if (!kubelet || !motionAllowed()) return;
    const now = performance.now();
    if (now - (this.lastBeat.get(nodeName) ?? 0) < HEARTBEAT_MIN_MS) return;
    this.lastBeat.set(nodeName, now);
    kubelet.querySelector(".icon")?.animate(
      [{ transform: "scale(1)" }, { transform: "scale(1.45)" }, { transform: "scale(1)" }],
      { duration: 450, easing: "ease-out" },
    );
  }

  select(el) {
    this.selectedEl?.classList.remove("is-selected");
    this.selectedEl = el;
    el?.classList.add("is-selected");
  }

  // --- the static wires: every component talks to kube-apiserver, kubelets through a bus
  scheduleWires() {
    if (this.wiresFrame) return;
    this.wiresFrame = requestAnimationFrame(() => {
      this.wiresFrame = 0;
      this.drawWires();
    });
  }

  drawWires() {
    const api = this.component("kube-apiserver");
    if (!api) return;
    const a = this.center(api);
    const paths = [];
    const spokes = ["user", "kubectl", "kube-scheduler", "etcd", "kube-controller-manager", "cloud-controller-manager"].map((n) => this.component(n));
    spokes.push(...this.cpNodes.children);
    for (const el of spokes) {
      if (!el) continue;
      const c = this.center(el);
      paths.push(`M${c.x} ${c.y}L${a.x} ${a.y}`);
    }
    const workers = [...this.workers.children];
    if (workers.length) {
      const tops = workers.map((el) => this.center(el));
      const busY = Math.min(...tops.map((c) => c.top)) - 7;
      const xs = [a.x, ...tops.map((c) => c.x)];
      paths.push(`M${a.x} ${a.y}V${busY}`, `M${Math.min(...xs)} ${busY}H${Math.max(...xs)}`);
      for (const c of tops) paths.push(`M${c.x} ${busY}V${c.top}`);
    }
    this.wires.innerHTML = paths.map((d) => `<path d="${d}"/>`).join("");
  }
}

// -------------------------------------------------------------------------------- Selection

/** The "Selected" panel: the clicked node or pod, its actions (live) and describe text. */
class Selection {
  constructor(store, diagram) {
    this.store = store;
    this.diagram = diagram;
    this.el = document.getElementById("selection");
    this.panel = document.getElementById("object-panel");
    this.current = null; // {kind, namespace, name}
    this.signature = "";
    this.refreshTimer = 0;
    this.el.addEventListener("click", (event) => {
      if (event.target.closest('[data-action="describe"]')) this.describe();
    });
    this.el.addEventListener("keydown", (event) => {
      if (event.key === "Escape") this.returnFocus();
    });
  }

  select(ref, { focus = false } = {}) {
    this.current = ref;
    this.signature = "";
    this.render();
    this.describe();
    if (focus) this.el.querySelector("button")?.focus();
  }

  returnFocus() {
    this.diagram.selectedEl?.focus();
  }

  /** Re-render when something the panel shows changed (buttons flip: Power off -> Power on). */
  onChange(view) {
    const ref = this.current;
    if (!ref) return;
    const mine = view.name === ref.name && (view.namespace ?? "") === (ref.namespace ?? "");
    const selectedPod = ref.kind === "Pod" ? this.store.get("Pod", ref.name, ref.namespace) : null;
    const hostChanged = selectedPod && (view.kind === "Node" || view.kind === "Machine") && view.name === selectedPod.nodeName;
    if ((mine && (view.kind === ref.kind || (ref.kind === "Node" && view.kind === "Machine"))) || hostChanged) this.render();
    const involved = view.kind === "Event" && view.involved?.kind === ref.kind && view.involved?.name === ref.name;
    if ((mine && view.kind === ref.kind) || involved) this.refreshDescribeSoon();
  }

  render() {
    const ref = this.current;
    if (!ref) return;
    const model = this.model(ref);
    const signature = JSON.stringify(model);
    if (signature === this.signature) return;
    this.signature = signature;
    const focusedAction = document.activeElement?.closest?.("#selection [data-action]")?.dataset.action;

    const head = h("div", { class: "sel-head" },
      h("span", { class: "sel-kind", text: ref.kind }),
      h("span", { class: "sel-name", text: ref.name }),
      model.status ? h("span", { class: "sel-status", text: model.status }) : null);
    const children = [head];
    if (model.gone) {
      children.push(h("p", { class: "sel-gone", text: "This object no longer exists." }));
    } else {
      children.push(h("div", { class: "sel-actions" }, ...model.actions.map((a) => this.button(a))));
      if (model.host) {
        children.push(h("p", { class: "sel-sub" }, `Runs on node ${model.host.name} (${model.host.status}):`),
          h("div", { class: "sel-actions" }, ...model.host.actions.map((a) => this.button(a))));
      }
    }
    this.el.replaceChildren(...children);
    this.diagram.select(this.elementFor(ref));
    window.htmx?.process(this.el);
    if (focusedAction) this.el.querySelector(`[data-action="${focusedAction}"]`)?.focus();
  }

  elementFor(ref) {
    if (ref.kind === "Node") return this.diagram.nodeEls.get(ref.name) ?? null;
    if (ref.kind === "Pod") {
      const pod = this.store.get("Pod", ref.name, ref.namespace);
      return pod ? this.diagram.podEls.get(pod.uid) ?? null : null;
    }
    return null;
  }

  nodeActions(name) {
    const node = this.store.get("Node", name);
    const machine = this.store.get("Machine", name);
    const act = (action, label, danger = false) => ({ action, label, danger, url: fillUrl(CFG.urlNodeAction, { node: name, action }) });
    const actions = [];
    if (machine) actions.push(machine.powered ? act("power-off", "Power off", true) : act("power-on", "Power on"));
    if (node) actions.push(node.unschedulable ? act("uncordon", "Uncordon") : act("cordon", "Cordon"));
    actions.push(...nodeFailureActions(node, machine, act));
    return { node, machine, actions };
  }

  model(ref) {
    if (ref.kind === "Node") {
      const { node, machine, actions } = this.nodeActions(ref.name);
      if (!node && !machine) return { gone: true };
      const state = nodeState(node, machine);
      const status = node ? (state === "PoweredOff" ? `Powered off · ${node.status}` : node.status) : "joining";
      actions.push({ action: "remove", label: "Remove node", danger: true, url: fillUrl(CFG.urlNodeAction, { node: ref.name, action: "remove" }) });
      actions.push({ action: "describe", label: "Describe" });
      return { status, actions };
    }
    if (ref.kind === "Pod") {
      const pod = this.store.get("Pod", ref.name, ref.namespace);
      if (!pod) return { gone: true };
      const actions = [
        { action: "delete-pod", label: "Delete pod", danger: true, url: fillUrl(CFG.urlPodDelete, { ns: pod.namespace, name: pod.name }) },
        { action: "describe", label: "Describe" },
      ];
      let host = null;
      if (pod.nodeName) {
        const { node, machine, actions: hostActions } = this.nodeActions(pod.nodeName);
        if (node || machine) {
          const state = nodeState(node, machine);
          host = { name: pod.nodeName, status: state === "PoweredOff" ? "powered off" : node?.status ?? state, actions: hostActions };
        }
      }
      return { status: `${pod.status} ${pod.ready}`, actions, host };
    }
    const view = this.store.get(ref.kind, ref.name, ref.namespace);
    if (!view) return { gone: true };
    const status = view.replicas !== undefined ? `${view.readyReplicas}/${view.replicas} ready` : "";
    return { status, actions: [{ action: "describe", label: "Describe" }] };
  }

  button({ action, label, danger, url }) {
    const attrs = { type: "button", class: `btn${danger ? " btn-danger" : ""}`, dataset: { action } };
    if (url) Object.assign(attrs, { "hx-post": url, "hx-target": "#toasts" });
    const names = { "power-off": "i-power", "power-on": "i-power", cordon: "i-ban", uncordon: "i-check", remove: "i-x", "delete-pod": "i-x", describe: "i-info", ...NODE_FAILURE_ICONS };
    return h("button", attrs, icon(names[action] ?? "i-info"), label);
  }

  describe() {
    const ref = this.current;
    if (!ref || !window.htmx) return;
    const target = fillUrl(CFG.urlDescribe, { kind: ref.kind.toLowerCase(), ns: ref.namespace || "_", name: ref.name });
    // A refresh of the same object keeps the reader's place.
    const same = this.panel.querySelector(".describe")?.dataset.name === ref.name;
    const scroll = same ? this.panel.scrollTop : 0;
    window.htmx.ajax("GET", target, { target: this.panel, swap: "innerHTML" }).then(() => {
      this.panel.scrollTop = scroll;
    });
  }

  refreshDescribeSoon() {
    if (this.refreshTimer) return;
    this.refreshTimer = setTimeout(() => {
      this.refreshTimer = 0;
      this.describe();
    }, 1200);
  }
}

// ------------------------------------------------------------------------------ Deployments

/** The Deployments panel (kubectl get deploy) with Scale and Delete, kept live from deltas. */
class Deployments {
  constructor(store, { onDescribe }) {
    this.store = store;
    this.el = document.getElementById("deployments");
    this.rows = new Map();
    this.onDescribe = onDescribe;
  }

  renderAll() {
    const deployments = this.store.all("Deployment").sort((a, b) => collator.compare(Store.key(a), Store.key(b)));
    const keys = new Set(deployments.map(Store.key));
    for (const [key, row] of this.rows) {
      if (!keys.has(key)) {
        row.remove();
        this.rows.delete(key);
      }
    }
    for (const d of deployments) this.render(d);
  }

  render(d) {
    const key = Store.key(d);
    let row = this.rows.get(key);
    if (!row) {
      row = this.build(d);
      this.rows.set(key, row);
      const before = [...this.el.children].find((child) => collator.compare(child.dataset.key, key) > 0);
      this.el.insertBefore(row, before ?? null);
      window.htmx?.process(row);
    }
    const p = row.parts;
    setText(p.image, d.image);
    setText(p.ready, `${d.readyReplicas}/${d.replicas} ready`);
    p.ready.classList.toggle("is-degraded", d.readyReplicas < d.replicas);
    const sets = this.store.all("ReplicaSet")
      .filter((rs) => rs.owner?.name === d.name && rs.namespace === d.namespace && (rs.replicas > 0 || rs.readyReplicas > 0));
    renderReplicaSets(p.sets, sets);
    if (document.activeElement !== p.input && !p.input.dataset.dirty) p.input.value = d.replicas;
  }

  build(d) {
    const params = { ns: d.namespace, name: d.name };
    const input = h("input", { type: "number", name: "replicas", min: "0", max: "500", value: String(d.replicas), required: true });
    input.addEventListener("input", () => (input.dataset.dirty = "1"));
    const scale = h("form", { "hx-post": fillUrl(CFG.urlScale, params), "hx-target": "#toasts" },
      h("label", {}, "Replicas", input), h("button", { type: "submit", class: "btn btn-small" }, "Scale"));
    scale.addEventListener("htmx:afterRequest", (event) => {
      if (event.detail.xhr?.status < 300) delete input.dataset.dirty;
    });
    const name = h("button", { type: "button", class: "deploy-name", text: d.name, title: "Describe this deployment" });
    name.addEventListener("click", () => this.onDescribe({ kind: "Deployment", namespace: d.namespace, name: d.name }));
    const parts = {
      image: h("span", { class: "deploy-image" }),
      ready: h("span", { class: "deploy-ready" }),
      sets: h("div", { class: "deploy-rs" }),
      input,
    };
    const row = h("div", { class: "deploy", dataset: { key: Store.key(d), name: d.name } },
      h("div", { class: "deploy-head" }, name, parts.image, parts.ready),
      parts.sets,
      h("div", { class: "deploy-actions" }, scale,
        h("button", { type: "button", class: "btn btn-small btn-danger", "hx-post": fillUrl(CFG.urlDeploymentDelete, params), "hx-target": "#toasts" }, "Delete")));
    row.style.setProperty("--owner-hue", hue(d.name));
    row.parts = parts;
    return row;
  }
}

// --------------------------------------------------------------------------------- Timeline

/** kubectl get events, newest on top; Event deltas prepend rows, ages tick with the clock. */
class Timeline {
  constructor() {
    this.el = document.getElementById("events-rows");
    this.rows = new Map(); // event uid -> row
    // The Reload button swaps in server-rendered rows: start over from those.
    this.el.addEventListener("htmx:afterSwap", () => this.rows.clear());
  }

  reset(events, now) {
    this.rows.clear();
    const sorted = [...events].sort((a, b) => (b.lastTimestamp ?? 0) - (a.lastTimestamp ?? 0) || b.rv - a.rv);
    const rows = sorted.slice(0, MAX_EVENTS).map((ev) => this.build(ev));
    for (const [i, row] of rows.entries()) this.rows.set(sorted[i].uid, row);
    this.el.replaceChildren(...(rows.length ? rows : [h("p", { class: "ev-empty", text: "No events yet." })]));
    this.tick(now);
  }

  apply(delta, now) {
    const ev = delta.object;
    const existing = this.rows.get(ev.uid);
    if (delta.change === "DELETED") {
      existing?.remove();
      this.rows.delete(ev.uid);
      return;
    }
    existing?.remove();
    const row = this.build(ev);
    row.classList.add("is-new");
    this.rows.set(ev.uid, row);
    this.el.querySelector(".ev-empty")?.remove();
    this.el.prepend(row);
    while (this.el.children.length > MAX_EVENTS) {
      const last = this.el.lastElementChild;
      for (const [uid, r] of this.rows) if (r === last) this.rows.delete(uid);
      last.remove();
    }
    this.tick(now);
  }

  build(ev) {
    const warning = ev.type === "Warning";
    const involved = ev.involved ?? {};
    return h("div", { class: `ev${warning ? " ev-warning" : ""}`, role: "row", dataset: { uid: ev.uid } },
      h("span", { class: "ev-age", role: "cell", dataset: { ts: ev.lastTimestamp ?? "" } }),
      h("span", { class: "ev-type", role: "cell" }, icon(warning ? "i-warning" : "i-info"), ev.type),
      h("span", { class: "ev-reason", role: "cell" }, ev.reason, ev.count > 1 ? h("span", { class: "ev-count", text: ` ×${ev.count}` }) : null),
      h("span", { class: "ev-object", role: "cell", text: `${(involved.kind ?? "").toLowerCase()}/${involved.name ?? ""}` }),
      h("span", { class: "ev-message", role: "cell", text: ev.message }));
  }

  tick(now) {
    for (const cell of this.el.querySelectorAll(".ev-age[data-ts]")) {
      const ts = Number(cell.dataset.ts);
      if (cell.dataset.ts !== "" && now) setText(cell, humanDuration(now - ts));
    }
  }
}

// ------------------------------------------------------------------------------------ Clock

/** Simulated time, speed, paused badge and the time controls' state. */
class Clock {
  constructor() {
    this.box = document.querySelector('[data-testid="sim-clock"]');
    this.time = document.getElementById("clock-time");
    this.speed = document.getElementById("clock-speed");
    this.paused = document.getElementById("clock-paused");
    this.pauseButton = document.getElementById("pause-button");
    this.stepButton = document.getElementById("step-button");
    this.speedSelect = document.getElementById("speed-select");
    this.profileSelect = document.getElementById("profile-select");
    this.state = { simNow: 0, speed: 1, paused: false, profile: "classroom" };
    this.receivedAt = performance.now();
    this.shown = 0;
    const frame = () => {
      this.draw();
      requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
  }

  update(clock) {
    for (const key of ["simNow", "speed", "paused", "profile"]) if (clock[key] !== undefined) this.state[key] = clock[key];
    this.receivedAt = performance.now();
    const { speed, paused, profile } = this.state;
    setText(this.speed, `speed ${fmtSpeed(speed)}`);
    this.paused.hidden = !paused;
    this.box.dataset.paused = String(paused);
    setText(this.pauseButton.querySelector(".btn-label"), paused ? "Resume" : "Pause");
    setIcon(this.pauseButton.querySelector(".icon"), paused ? "i-play" : "i-pause");
    this.pauseButton.setAttribute("hx-vals", JSON.stringify({ paused: paused ? "false" : "true" }));
    this.stepButton.disabled = !paused;
    this.stepButton.title = paused ? "Advance the paused clock" : "Pause first: Step advances a paused clock";
    const speedValue = String(+Number(speed).toFixed(2));
    if (document.activeElement !== this.speedSelect && this.speedSelect.value !== speedValue) {
      // A speed the menu does not list (set through the API or a lesson) gets its own option,
      // so the menu never shows blank; the previous such option goes.
      this.speedSelect.querySelectorAll("option[data-unlisted]").forEach((o) => o.remove());
      if (![...this.speedSelect.options].some((o) => o.value === speedValue)) {
        const extra = h("option", { value: speedValue, text: fmtSpeed(speed) });
        extra.dataset.unlisted = "";
        const after = [...this.speedSelect.options].find((o) => Number(o.value) > Number(speedValue));
        this.speedSelect.insertBefore(extra, after || null);
      }
      this.speedSelect.value = speedValue;
    }
    if (document.activeElement !== this.profileSelect && this.profileSelect.value !== profile) this.profileSelect.value = profile;
    this.draw();
  }

  /** Simulated now, interpolated between the server's ticks (~2 per second). */
  now() {
    const { simNow, speed, paused } = this.state;
    if (paused) return simNow;
    return simNow + Math.min((performance.now() - this.receivedAt) / 1000, 0.6) * speed;
  }

  draw() {
    let now = this.now();
    // Never run backwards because of interpolation, but follow real jumps (a new snapshot).
    if (now < this.shown && this.shown - now < 5 * Math.max(1, this.state.speed)) now = this.shown;
    this.shown = now;
    if (now) setText(this.time, fmtClock(now));
  }
}

// --------------------------------------------------------------------------------- Animator

/** Plays deltas one after another as packets; draws each delta when it reaches etcd. */
class Animator {
  constructor(diagram, present) {
    this.d = diagram;
    this.present = present;
    this.layer = document.getElementById("packet-layer");
    this.trails = document.getElementById("trails");
    this.queue = [];
    this.busy = false;
    this.current = null;
    this.generation = 0;
    this.enabled = true;
  }

  get motion() {
    return this.enabled && motionAllowed();
  }

  /** Queue a delta; an "instant" one (an Event, a Lease renewal) has no packet of its own but
   *  waits its turn, so the timeline never runs ahead of the diagram. */
  push(delta, instant = false) {
    delta.receivedAt = performance.now();
    delta.generation = this.generation;
    delta.instant = instant;
    if (instant && !this.queue.length && !this.current) {
      this.flush(delta, this.motion);
      return;
    }
    this.queue.push(delta);
    if (this.queue.length > MAX_QUEUE) {
      // Too far behind: draw the oldest at once (in order: the one in flight first).
      this.flush(this.current);
      while (this.queue.length > MAX_QUEUE / 2) this.flush(this.queue.shift());
    }
    this.pump();
  }

  /** A snapshot replaced everything: forget queued deltas and packets in flight. */
  reset() {
    this.generation += 1;
    this.queue = [];
    this.current = null;
    this.layer.querySelectorAll(".packet").forEach((el) => el.remove());
    this.trails.replaceChildren();
  }

  flush(delta, animate = false) {
    if (!delta || delta.drawn || delta.generation !== this.generation) return;
    delta.drawn = true;
    this.present(delta, animate);
  }

  async pump() {
    if (this.busy) return;
    this.busy = true;
    try {
      while (this.queue.length) {
        const now = performance.now();
        while (this.queue.length && (this.queue[0].instant || !this.motion || now - this.queue[0].receivedAt > MAX_LAG_MS)) {
          const next = this.queue.shift();
          this.flush(next, next.instant && this.motion);
        }
        const delta = this.queue.shift();
        if (delta) await this.play(delta);
      }
    } finally {
      this.busy = false;
    }
  }

  draw(delta) {
    if (delta.drawn || delta.generation !== this.generation) return;
    delta.drawn = true;
    this.present(delta, true);
  }

  async play(delta) {
    this.current = delta;
    const generation = this.generation;
    const route = this.d.route(delta);
    const waiting = this.queue.reduce((n, d) => n + (d.instant ? 0 : 1), 0);
    const hop = HOP_MS * Math.max(0.22, 1 / (1 + waiting / 3));
    this.d.glow(route.source);
    if (route.direct) {
      // A machine is not an API object: the user's hand acts on it directly.
      if (delta.change === "ADDED") this.draw(delta);
      await this.hop(route.source, route.direct() ?? route.source, route.verb, route.label, hop * 1.4);
      this.draw(delta);
    } else {
      const api = this.d.component("kube-apiserver");
      const etcd = this.d.component("etcd");
      if (route.source !== api) await this.hop(route.source, api, route.verb, route.label, hop);
      if (generation !== this.generation) return;
      this.d.glow(api);
      await this.hop(api, etcd, "persist", "", hop * 0.55);
      if (generation !== this.generation) return;
      this.d.glow(etcd);
      this.draw(delta);
      for (const watcher of route.watchers) {
        this.hop(api, watcher, route.verb, route.label, hop, true).then(() => this.d.glow(watcher));
      }
      await sleep(hop * 0.3);
    }
    if (this.current === delta) this.current = null;
  }

  /** One packet from one element to another (Web Animations API on an absolute dot). */
  hop(from, to, verb, label, ms, watch = false) {
    if (!from?.isConnected || !to?.isConnected || from === to || !this.motion) return Promise.resolve();
    const a = this.d.center(from);
    const b = this.d.center(to);
    const dot = h("div", { class: verb === "persist" ? "packet packet-persist" : `packet packet-${verb}${watch ? " packet-watch" : ""}`, text: label });
    const line = document.createElementNS(SVG_NS, "line");
    for (const [k, v] of Object.entries({ x1: a.x, y1: a.y, x2: b.x, y2: b.y, class: `trail-${verb}` })) line.setAttribute(k, v);
    this.layer.append(dot);
    this.trails.append(line);
    const at = (p, s) => `translate(${p.x}px, ${p.y}px) translate(-50%, -50%) scale(${s})`;
    const move = dot.animate(
      [
        { transform: at(a, 0.6), opacity: 0 },
        { transform: at(a, 1), opacity: 1, offset: 0.12 },
        { transform: at(b, 1), opacity: 1, offset: 0.88 },
        { transform: at(b, 0.6), opacity: 0 },
      ],
      { duration: ms, easing: "ease-in-out", fill: "forwards" },
    );
    line.animate([{ opacity: 0 }, { opacity: 0.8, offset: 0.15 }, { opacity: 0.8, offset: 0.8 }, { opacity: 0 }], { duration: ms, fill: "forwards" });
    // A hidden tab may never finish an animation: never wait longer than planned.
    return Promise.race([move.finished, sleep(ms + 300)])
      .catch(() => {})
      .finally(() => {
        dot.remove();
        line.remove();
      });
  }
}

/** The kubectl box shows the last request it made, in kubectl's words ("delete pod/web-x"). */
Diagram.prototype.noteApiCall = function noteApiCall(actor, verb, view) {
  const note = this.root.querySelector("[data-kubectl-last]");
  if (!note) return;
  const who = actor === "kubectl" ? "" : `${actor.replace(/^api-client\/?/, "") || "client"}: `;
  setText(note, `${who}${verb} ${view.kind.toLowerCase()}/\u200b${view.name}`);
};

/** Where a delta's packets go: who sent it and which components watch that change. */
Diagram.prototype.route = function route(delta) {
  const view = delta.object;
  const actor = delta.actor || "user";
  const previous = this.store.get(view.kind, view.name, view.namespace);
  const source = this.actorElement(actor, view);
  if (view.kind === "Machine") {
    const label = delta.change === "ADDED" ? "add machine" : delta.change === "DELETED" ? "remove machine"
      : previous && previous.powered !== view.powered ? (view.powered ? "power on" : "power off") : "machine";
    return { source, verb: "power", label, direct: () => this.nodeEls.get(view.name), watchers: [] };
  }
  let verb = "update";
  if (delta.change === "ADDED") verb = "create";
  else if (delta.change === "DELETED") verb = "delete";
  else if (view.kind === "Pod" && view.nodeName && !previous?.nodeName) verb = "bind";
  else if (view.deleting && !previous?.deleting) verb = "delete";
  const label = `${verb} ${view.kind.toLowerCase()}`;
  if (API_CLIENT_ACTOR.test(actor)) this.noteApiCall(actor, verb, view);

  const watchers = new Set();
  const controller = (name) => {
    if (CONTROLLER_OF_ACTOR[actor] !== name) watchers.add(this.controller(name));
  };
  switch (view.kind) {
    case "Pod":
      if (!view.nodeName && delta.change !== "DELETED" && !SCHEDULER_ACTORS.has(actor)) watchers.add(this.component("kube-scheduler"));
      if (view.nodeName && actor !== `kubelet/${view.nodeName}`) watchers.add(this.kubelet(view.nodeName));
      if (view.owner?.kind === "ReplicaSet") controller("replicaset");
      break;
    case "Node":
      controller("node-lifecycle");
      if (JSON.stringify(view.taints) !== JSON.stringify(previous?.taints ?? [])) controller("taint-eviction");
      if (delta.change === "DELETED") controller("garbage-collector");
      break;
    case "ReplicaSet":
      controller("replicaset");
      controller("deployment");
      if (delta.change === "DELETED") controller("garbage-collector");
      break;
    case "Deployment":
      controller("deployment");
      if (delta.change === "DELETED") controller("garbage-collector");
      break;
    default:
      break;
  }
  watchers.delete(null);
  watchers.delete(source);
  // A stopped component watches nothing: no packet flows to it (or to its controllers).
  return { source, verb, label, watchers: [...watchers].filter((w) => !w.closest?.(".is-stopped")) };
};

// ---------------------------------------------------------------------------------- Toasts

/** Action answers land in #toasts (one at a time) and go away by themselves. */
function setUpToasts() {
  const box = document.getElementById("toasts");
  let timer = 0;
  const dismiss = () => {
    const toast = box.querySelector(".toast");
    if (!toast) return;
    toast.classList.add("is-leaving");
    setTimeout(() => toast.remove(), 300);
  };
  const arm = () => {
    clearTimeout(timer);
    const toast = box.querySelector(".toast");
    if (toast) timer = setTimeout(dismiss, toast.classList.contains("error") ? 15000 : 7000);
  };
  box.addEventListener("click", (event) => {
    if (event.target.closest(".toast-close")) dismiss();
  });
  document.body.addEventListener("htmx:afterSwap", (event) => {
    if (event.detail.target === box) arm();
  });
  const clientToast = (message, error = true) => {
    box.replaceChildren(h("div", { class: `toast${error ? " error" : ""}`, role: error ? "alert" : "status", dataset: { testid: "toast" } },
      icon(error ? "i-warning" : "i-check", "icon toast-icon"), h("div", { class: "toast-body" }, h("p", { class: "toast-message", text: message })),
      h("button", { type: "button", class: "toast-close", "aria-label": "Dismiss message" }, icon("i-x"))));
    arm();
  };
  document.addEventListener("k8sviz:toast", (event) => clientToast(event.detail.text, Boolean(event.detail.error)));
  document.body.addEventListener("htmx:responseError", (event) => {
    clientToast(`The server failed (${event.detail.xhr.status}). Please try again.`);
  });
  document.body.addEventListener("htmx:sendError", () => clientToast("Cannot reach the server. Is it running?"));
  // A successful Create Deployment empties the form for the next one.
  document.getElementById("deployment-form")?.addEventListener("htmx:afterRequest", (event) => {
    if (event.detail.xhr?.status < 300) event.target.reset?.();
  });
}

// ---------------------------------------------------------------------------- Live connection

/** The WebSocket: reconnects with backoff, resumes from the last resourceVersion. */
class Live {
  constructor(path, { onMessage, rv }) {
    this.path = path;
    this.onMessage = onMessage;
    this.rv = rv;
    this.indicator = document.querySelector('[data-testid="connection"]');
    this.attempt = 0;
    this.connectedBefore = false;
  }

  setState(state, label) {
    this.indicator.dataset.state = state;
    setText(this.indicator.querySelector(".connection-label"), label);
  }

  connect() {
    this.setState("connecting", this.connectedBefore ? "Reconnecting…" : "Connecting…");
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}${this.path}`);
    this.socket = socket;
    socket.addEventListener("open", () => {
      this.attempt = 0;
      this.setState("live", "Live");
      if (this.connectedBefore) socket.send(JSON.stringify({ type: "resume", rv: this.rv() }));
      this.connectedBefore = true;
    });
    socket.addEventListener("message", (event) => {
      let message;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      this.onMessage(message);
    });
    socket.addEventListener("close", () => {
      if (this.socket !== socket) return;
      const delay = Math.min(10000, 500 * 2 ** this.attempt) * (0.8 + Math.random() * 0.4);
      this.attempt += 1;
      this.setState("connecting", "Reconnecting…");
      setTimeout(() => this.connect(), delay);
    });
  }
}

// ------------------------------------------------------------------------------------- boot

class Dashboard {
  constructor(snapshot) {
    this.store = new Store();
    this.rv = 0; // the last resourceVersion received (drawn or queued)
    this.etcdRv = document.getElementById("etcd-rv");
    this.diagram = new Diagram(this.store, { onActivate: (el, keyboard) => this.activate(el, keyboard) });
    this.selection = new Selection(this.store, this.diagram);
    this.deployments = new Deployments(this.store, { onDescribe: (ref) => this.selection.select(ref) });
    this.timeline = new Timeline();
    this.clock = new Clock();
    this.animator = new Animator(this.diagram, (delta, animate) => this.present(delta, animate));
    this.loadSnapshot(snapshot);
    this.setUpToggle();
    setInterval(() => this.timeline.tick(this.clock.now()), 1000);
  }

  activate(el, keyboard) {
    if (el.dataset.testid === "pod") {
      this.selection.select({ kind: "Pod", namespace: el.dataset.namespace, name: el.dataset.name }, { focus: keyboard });
    } else {
      this.selection.select({ kind: "Node", namespace: "", name: el.dataset.name }, { focus: keyboard });
    }
  }

  loadSnapshot(snapshot) {
    if (snapshot.rv === this.rv && this.rv) {
      this.onClock(snapshot.cluster); // nothing changed since: keep the queue and the pictures
      return;
    }
    this.animator.reset();
    this.rv = snapshot.rv;
    this.store.load(snapshot);
    setText(this.etcdRv, String(snapshot.rv));
    this.diagram.renderAll();
    this.deployments.renderAll();
    this.timeline.reset(this.store.all("Event"), snapshot.cluster.simNow);
    this.onClock(snapshot.cluster);
    this.selection.signature = "";
    this.selection.render();
    document.dispatchEvent(new CustomEvent("k8sviz:snapshot", { detail: snapshot })); // traffic.js
  }

  onMessage(message) {
    if (message.type === "snapshot") this.loadSnapshot(message);
    else if (message.type === "clock") this.onClock(message);
    else if (message.type === "delta") this.onDelta(message);
    else if (message.type === "traffic") document.dispatchEvent(new CustomEvent("k8sviz:traffic", { detail: message })); // traffic.js
    else if (message.type === "notice") showNotice(message);
    else if (message.type === "follow") document.dispatchEvent(new CustomEvent("k8sviz:follow", { detail: message }));
    else if (message.type === "lesson") document.dispatchEvent(new CustomEvent("k8sviz:lesson", { detail: message })); // lesson.js
  }

  onClock(clock) {
    this.clock.update(clock);
    if (clock.components) this.diagram.renderComponents(clock.components);
    document.dispatchEvent(new CustomEvent("k8sviz:clock", { detail: clock })); // control_plane.js
    // The profile or the overrides changed (in another browser, or through the profile
    // selector): reload the Timings panel, unless the user is typing in it. A panel this
    // browser just redrew from its own Apply already carries the new key.
    const panel = document.getElementById("timings-panel");
    if (clock.timingsKey !== undefined && panel && panel.dataset.timingsKey !== clock.timingsKey
        && !panel.contains(document.activeElement)) {
      document.body.dispatchEvent(new CustomEvent("timings-changed"));
    }
  }

  onDelta(delta) {
    if (delta.rv <= this.rv) return;
    this.rv = delta.rv;
    // Events (the timeline's) and Lease renewals (a heartbeat) get no packet: there are many.
    this.animator.push(delta, delta.object.kind === "Event" || delta.object.kind === "Lease");
  }

  /** Draw a delta (called by the animator when its packet reaches etcd). */
  present(delta, animate) {
    const view = delta.object;
    const previous = this.store.apply(delta.change, view);
    if (view.kind === "Event") {
      this.timeline.apply(delta, this.clock.now());
      this.selection.onChange(view);
      return;
    }
    if (view.kind === "Lease") {
      if (animate && delta.change !== "DELETED") this.diagram.heartbeat(view.name);
      return;
    }
    setText(this.etcdRv, String(delta.rv));
    const el = this.diagram.apply(delta, previous, animate);
    if (animate && el) this.diagram.flash(el);
    if (view.kind === "Deployment" || view.kind === "ReplicaSet") this.deployments.renderAll();
    this.selection.onChange(view);
    document.dispatchEvent(new CustomEvent("k8sviz:delta", { detail: view }));
  }

  /** The diagram's zoom (50%-200%), remembered per browser; a leader's zoom is followed. */
  setUpZoom() {
    const level = document.getElementById("zoom-level");
    if (!level) return;
    this.zoom = Number(localStorage.getItem("k8sviz.zoom")) || 1;
    const apply = (zoom, { report = true } = {}) => {
      this.zoom = Math.min(2, Math.max(0.5, Math.round(zoom * 10) / 10));
      document.documentElement.style.setProperty("--stage-zoom", String(this.zoom));
      level.textContent = `${Math.round(this.zoom * 100)}%`;
      localStorage.setItem("k8sviz.zoom", String(this.zoom));
      if (report) document.dispatchEvent(new CustomEvent("k8sviz:zoomed", { detail: this.zoom }));
    };
    this.setZoom = (zoom) => apply(zoom, { report: false });
    apply(this.zoom, { report: false });
    document.getElementById("zoom-in")?.addEventListener("click", () => apply(this.zoom + 0.1));
    document.getElementById("zoom-out")?.addEventListener("click", () => apply(this.zoom - 0.1));
  }

  setUpToggle() {
    // Projector: large diagram, few panels (on by default for a class's projector link).
    const projector = document.getElementById("projector-toggle");
    if (projector) {
      const stored = localStorage.getItem("k8sviz.projector");
      projector.checked = stored === null ? projector.dataset.default === "on" : stored === "true";
      document.body.classList.toggle("projector", projector.checked);
      projector.addEventListener("change", () => {
        document.body.classList.toggle("projector", projector.checked);
        localStorage.setItem("k8sviz.projector", String(projector.checked));
      });
    }
    this.setUpZoom();
    const toggle = document.getElementById("animate-toggle");
    const saved = localStorage.getItem("k8sviz.animate");
    if (saved !== null) toggle.checked = saved === "true";
    this.animator.enabled = toggle.checked;
    toggle.addEventListener("change", () => {
      this.animator.enabled = toggle.checked;
      localStorage.setItem("k8sviz.animate", String(toggle.checked));
    });
  }
}

const dashboard = new Dashboard(JSON.parse(document.getElementById("snapshot").textContent));
setUpToasts();
watchRolloutPanel();
watchHpaPanel();
watchLessonPanel();
if (CFG.live === "true") {
  const live = new Live(CFG.wsPath, { onMessage: (m) => dashboard.onMessage(m), rv: () => dashboard.rv });
  live.connect();
  setUpFollowing(dashboard, live);
}
// For the browser console during a lesson or a bug hunt.
window.k8sviz = dashboard;


/** A worker's message for everyone watching (e.g. "settled after 42s"): a toast like an
 * action's answer (setUpToasts). */
function showNotice(message) {
  document.dispatchEvent(new CustomEvent("k8sviz:toast", { detail: message }));
}


/** Follow mode (docs/classroom.md): whoever may change the cluster reports what they select;
 * read-only followers (students, the projector) select the same, and move when the class
 * switches clusters, unless they untick "follow the teacher". */
function setUpFollowing(dashboard, live) {
  const readOnly = CFG.readOnly === "true";
  if (!readOnly) {
    const select = dashboard.selection.select.bind(dashboard.selection);
    const report = (message) => {
      if (live.socket?.readyState === WebSocket.OPEN) live.socket.send(JSON.stringify({ type: "follow", ...message }));
    };
    dashboard.selection.select = (ref, options) => {
      select(ref, options);
      report({ selected: ref });
    };
    document.addEventListener("k8sviz:zoomed", (event) => report({ zoom: event.detail }));
    // The side panel in view: the first whose top is at or below the column's top.
    const side = document.querySelector(".side");
    let scrollTimer = 0;
    let lastPanel = "";
    side?.addEventListener("scroll", () => {
      clearTimeout(scrollTimer);
      scrollTimer = setTimeout(() => {
        const top = side.getBoundingClientRect().top;
        const panel = [...side.querySelectorAll(":scope > section.panel[aria-labelledby]")]
          .find((el) => el.getBoundingClientRect().bottom > top + 40);
        const id = panel?.getAttribute("aria-labelledby") ?? "";
        if (id && id !== lastPanel) {
          lastPanel = id;
          report({ panel: id });
        }
      }, 400);
    });
    return;
  }
  const toggle = document.getElementById("follow-toggle");
  const following = () => !toggle || toggle.checked;
  document.addEventListener("k8sviz:follow", (event) => {
    const message = event.detail;
    if (!following()) return;
    if (message.cluster && message.cluster !== CFG.cluster) {
      location.assign(`/clusters/${encodeURIComponent(message.cluster)}/`);
    } else if (message.selected) {
      dashboard.selection.select(message.selected);
    } else if (message.zoom) {
      dashboard.setZoom?.(message.zoom);
    } else if (message.panel) {
      document.getElementById(message.panel)?.closest("section.panel")?.scrollIntoView({ block: "start", behavior: "smooth" });
    }
  });
}
