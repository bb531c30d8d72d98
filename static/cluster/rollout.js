// Rollouts in the diagram: a revision badge and colour on every pod of a Deployment (from its
// ReplicaSet's deployment.kubernetes.io/revision), the ReplicaSets side by side with their
// revision numbers in the Deployments panel, and the live refresh of the rollout panel
// (templates/cluster/rollout.html) while Deployment / ReplicaSet deltas arrive.

/** Hues of revisions 1, 2, 3, ... (cycling); the same list as REVISION_HUES in
 * cluster/rollout_selectors.py, so the panel and the diagram agree. */
export const REVISION_HUES = [210, 28, 145, 280, 350, 55];

export function revisionHue(revision) {
  const n = Math.max(parseInt(revision, 10) || 1, 1);
  return REVISION_HUES[(n - 1) % REVISION_HUES.length];
}

function replicaSetOf(store, pod) {
  if (pod.owner?.kind !== "ReplicaSet") return null;
  return store.get("ReplicaSet", pod.owner.name, pod.namespace) ?? store.all("ReplicaSet").find(
    (rs) => rs.name === pod.owner.name && (rs.namespace ?? "default") === (pod.namespace ?? "default"));
}

/** Give a pod chip its revision badge ("r2", text and colour: never colour alone). */
export function decoratePod(el, pod, store) {
  const rs = replicaSetOf(store, pod);
  el.dataset.rs = pod.owner?.kind === "ReplicaSet" ? pod.owner.name : "";
  let badge = el.querySelector(".pod-rev");
  if (!rs || !rs.revision) {
    badge?.remove();
    delete el.dataset.revision;
    el.style.removeProperty("--rev-hue");
    return;
  }
  if (!badge) {
    badge = document.createElement("span");
    badge.className = "pod-rev";
    el.append(badge);
  }
  const text = `r${rs.revision}`;
  if (badge.textContent !== text) badge.textContent = text;
  badge.title = `revision ${rs.revision} (replicaset ${rs.name})`;
  el.dataset.revision = rs.revision;
  el.style.setProperty("--rev-hue", String(revisionHue(rs.revision)));
}

/** The ReplicaSets of one Deployment, newest revision first, as coloured chips. */
export function renderReplicaSets(container, sets) {
  const sorted = [...sets].sort((a, b) => (parseInt(b.revision, 10) || 0) - (parseInt(a.revision, 10) || 0));
  const key = sorted.map((rs) => `${rs.name}:${rs.revision}:${rs.readyReplicas}/${rs.replicas}`).join(" ");
  if (container.dataset.key === key) return;
  container.dataset.key = key;
  if (!sorted.length) {
    container.textContent = "no replicaset yet";
    return;
  }
  container.replaceChildren(...sorted.map((rs) => {
    const chip = document.createElement("span");
    chip.className = "rs-chip";
    chip.dataset.testid = "rs-chip";
    chip.dataset.revision = rs.revision || "";
    chip.style.setProperty("--rev-hue", String(revisionHue(rs.revision)));
    chip.title = `replicaset ${rs.name}${rs.image ? `\nimage ${rs.image}` : ""}`;
    chip.textContent = `rev ${rs.revision || "?"} · ${rs.readyReplicas}/${rs.replicas}`;
    const name = document.createElement("small");
    name.textContent = rs.name;
    chip.append(name);
    return chip;
  }));
}

/** Redraw the rollout panel's status part when its Deployment or one of its ReplicaSets
 * changes (at most every 300 ms), unless a request is already on its way. */
export function watchRolloutPanel() {
  let timer = null;
  const refresh = () => {
    timer = null;
    const status = document.getElementById("rollout-status");
    if (!status || !window.htmx) return;
    window.htmx.ajax("GET", status.dataset.url, { target: "#rollout-status", swap: "outerHTML" });
  };
  document.addEventListener("k8sviz:delta", (event) => {
    const view = event.detail;
    const panel = document.getElementById("rollout-panel-body");
    if (!panel) return;
    const ns = view.namespace ?? "default";
    if (ns !== panel.dataset.namespace) return;
    const ours = (view.kind === "Deployment" && view.name === panel.dataset.name)
      || (view.kind === "ReplicaSet" && view.owner?.name === panel.dataset.name);
    if (ours && !timer) timer = setTimeout(refresh, 300);
    if (view.kind === "ReplicaSet") {
      const store = window.k8sviz?.store;
      if (!store) return;
      for (const el of document.querySelectorAll(`.pod[data-rs="${CSS.escape(view.name)}"]`)) {
        const pod = store.all("Pod").find((p) => p.uid === el.dataset.uid);
        if (pod) decoratePod(el, pod, store);
      }
    }
  });
}
