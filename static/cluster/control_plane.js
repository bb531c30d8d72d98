/**
 * The control-plane components in the diagram: click (or Enter on) kube-scheduler,
 * kube-controller-manager, cloud-controller-manager, etcd or kube-apiserver to Stop or Start it; a stopped one is struck
 * through, badged "stopped", and says what waits on it ("3 pods waiting to be scheduled").
 *
 * State comes from the clock messages (``components`` and ``backlog``, see cluster/broadcast.py),
 * which diagram.js re-dispatches as a "k8sviz:clock" DOM event, and at first from the page's
 * embedded snapshot. The buttons post with htmx; the answer is a toast, and the picture changes
 * only when the next clock message says so, like everything else on the page.
 */
const app = document.getElementById("app");
const ACTION_URL = app?.dataset.urlComponentAction;
const COMPONENTS = ["kube-scheduler", "kube-apiserver", "etcd", "kube-controller-manager", "cloud-controller-manager"];
const WHAT = {
  "kube-scheduler": "New pods stay Pending: nothing binds them to a node.",
  "kube-controller-manager": "Nobody replaces deleted pods or marks silent nodes NotReady.",
  "cloud-controller-manager": "New LoadBalancer Services keep EXTERNAL-IP <pending>: nobody asks the cloud for an address.",
  etcd: "Every write through the API server fails; running pods keep running.",
  "kube-apiserver": "Nothing can reach the API: kubectl, controllers and kubelets wait.",
};

const state = { components: {}, backlog: {} };

const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

function waitingText(name, info) {
  switch (name) {
    case "kube-scheduler":
      return `${plural(info?.pods ?? 0, "pod")} waiting to be scheduled`;
    case "kube-controller-manager":
      return `${plural(info?.changes ?? 0, "change")} not processed yet`;
    case "cloud-controller-manager":
      return `${plural(info?.services ?? 0, "load balancer")} pending`;
    case "etcd":
      return "writes refused";
    case "kube-apiserver":
      return "API unreachable";
    default:
      return "";
  }
}

function el(tag, attrs = {}, text = "") {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  if (text) node.textContent = text;
  return node;
}

/** The parts this module adds to a component box: the waiting line and the Stop/Start menu. */
function parts(box) {
  let waiting = box.querySelector(":scope .comp-waiting");
  if (!waiting) {
    waiting = el("span", { class: "comp-waiting", "data-testid": "comp-waiting", role: "status" });
    waiting.hidden = true;
    (box.querySelector(":scope > .comp-head") ?? box).append(waiting);
  }
  let menu = box.querySelector(":scope > .comp-menu");
  if (!menu) {
    menu = el("div", { class: "comp-menu", role: "group", "aria-label": `${box.dataset.component} actions` });
    menu.hidden = true;
    box.append(menu);
  }
  return { waiting, menu };
}

function render(name) {
  const box = app.querySelector(`.control-plane [data-component="${name}"]`);
  if (!box) return;
  const running = state.components[name] !== false;
  const { waiting, menu } = parts(box);
  box.dataset.running = String(running);
  box.setAttribute("aria-label", `${name}, ${running ? "running" : "stopped"}: press Enter to ${running ? "stop" : "start"} it`);
  waiting.hidden = running;
  waiting.textContent = running ? "" : waitingText(name, state.backlog[name]);
  const action = running ? "stop" : "start";
  const button = menu.querySelector("button");
  if (!button || button.dataset.action !== action) {
    const next = el("button", {
      type: "button",
      class: `btn btn-small${running ? " btn-danger" : " btn-primary"}`,
      "data-action": action,
      "data-testid": "component-toggle",
      "hx-post": ACTION_URL.replace("__component__", name).replace("__action__", action),
      "hx-target": "#toasts",
    }, `${running ? "Stop" : "Start"} ${name}`);
    next.addEventListener("htmx:afterRequest", () => close(box));
    menu.replaceChildren(el("p", { class: "comp-menu-note" }, running ? `Stopping it: ${WHAT[name]}` : "Started again, it catches up on what it missed."), next);
    window.htmx?.process(menu);
  }
}

function renderAll() {
  for (const name of COMPONENTS) render(name);
}

function close(box) {
  const menu = box.querySelector(":scope > .comp-menu");
  if (menu) menu.hidden = true;
  box.setAttribute("aria-expanded", "false");
}

function toggle(box, keyboard) {
  const { menu } = parts(box);
  const opening = menu.hidden;
  for (const other of app.querySelectorAll(".control-plane [data-component]")) close(other);
  if (!opening) return;
  menu.hidden = false;
  box.setAttribute("aria-expanded", "true");
  if (keyboard) menu.querySelector("button")?.focus();
}

function onClock(clock) {
  if (clock.components) state.components = clock.components;
  if (clock.backlog) state.backlog = clock.backlog;
  renderAll();
}

if (app && ACTION_URL) {
  const link = el("link", { rel: "stylesheet", href: new URL("./control_plane.css", import.meta.url).href });
  document.head.append(link);
  for (const name of COMPONENTS) {
    const box = app.querySelector(`.control-plane [data-component="${name}"]`);
    if (!box) continue;
    box.classList.add("comp-clickable");
    box.setAttribute("tabindex", "0");
    box.setAttribute("role", "button");
    box.setAttribute("aria-expanded", "false");
    box.addEventListener("click", (event) => {
      if (event.target.closest(".comp-menu")) return;
      toggle(box, false);
    });
    box.addEventListener("keydown", (event) => {
      if (event.target !== box) {
        if (event.key === "Escape") { close(box); box.focus(); }
        return;
      }
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        toggle(box, true);
      } else if (event.key === "Escape") close(box);
    });
  }
  // A click anywhere else closes an open menu.
  document.addEventListener("click", (event) => {
    if (event.target.closest?.(".control-plane [data-component]")) return;
    for (const box of app.querySelectorAll('.control-plane [data-component][aria-expanded="true"]')) close(box);
  });
  const snapshot = JSON.parse(document.getElementById("snapshot")?.textContent || "{}");
  onClock(snapshot.cluster ?? {});
  document.addEventListener("k8sviz:clock", (event) => onClock(event.detail));
}
