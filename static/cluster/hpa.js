// The autoscaling panel (templates/cluster/hpa.html) refreshed live: its status part is
// redrawn when the panel's Deployment or a HorizontalPodAutoscaler of its namespace changes.

/** Redraw the panel's status part (at most every 400 ms) on a delta that concerns it, unless
 * the user is typing in one of its forms. */
export function watchHpaPanel() {
  let timer = null;
  const refresh = () => {
    timer = null;
    const status = document.getElementById("hpa-status");
    if (!status || !window.htmx) return;
    if (status.contains(document.activeElement) && document.activeElement.tagName === "INPUT") return;
    window.htmx.ajax("GET", status.dataset.url, { target: "#hpa-status", swap: "outerHTML" });
  };
  document.addEventListener("k8sviz:delta", (event) => {
    const view = event.detail;
    const panel = document.getElementById("hpa-panel-body");
    if (!panel) return;
    if ((view.namespace ?? "default") !== panel.dataset.namespace) return;
    const ours = view.kind === "HorizontalPodAutoscaler"
      || (view.kind === "Deployment" && view.name === panel.dataset.name);
    if (ours && !timer) timer = setTimeout(refresh, 400);
  });
}
