// The Lesson panel (templates/cluster/lesson.html) reloaded when it changes, never polled:
// the server pushes {"type": "lesson"} over the live socket when a step runs or (to the
// teacher and the projector only) when a student answers; a finished lesson's goal is checked
// again when the cluster changes; a reconnect reloads it (messages may have been missed).

const GOAL_EVERY_MS = 3000; // a finished lesson's goal, at most this often while things change
const TALLY_EVERY_MS = 500; // thirty answers in a second are one reload

/** Reload the panel through htmx ("lesson-changed" is in its hx-trigger), at most once per
 * `wait` ms, and never under the user's fingers. */
function reloader() {
  let timer = null;
  return (wait) => {
    if (timer || !document.getElementById("lesson-panel")) return;
    timer = setTimeout(() => {
      timer = null;
      document.body.dispatchEvent(new CustomEvent("lesson-changed"));
    }, wait);
  };
}

export function watchLessonPanel() {
  const reload = reloader();
  document.addEventListener("k8sviz:lesson", (event) => {
    reload(event.detail.audience === "tally" ? TALLY_EVERY_MS : 0);
  });
  document.addEventListener("k8sviz:snapshot", () => {
    // The socket (re)connected: whatever was pushed before it joined was not seen here.
    reload(0);
  });
  document.addEventListener("k8sviz:delta", () => {
    const body = document.getElementById("lesson-panel-body");
    if (body && body.dataset.finished === "true") reload(GOAL_EVERY_MS);
  });
}
