/* Time travel (docs/replay.md): the scrubber fetches the cluster as it was at a
 * resourceVersion and redraws the diagram from it; Play walks forward through the history. */

const bar = document.getElementById("replay-bar");
const scrubber = document.getElementById("replay-rv");
const label = document.getElementById("replay-label");
const play = document.getElementById("replay-play");

let pending = null; // the newest rv asked for while a fetch runs
let busy = false;
let timer = 0;

async function show(rv) {
  if (busy) {
    pending = rv;
    return;
  }
  busy = true;
  try {
    const response = await fetch(`${bar.dataset.url}?rv=${rv}`, { headers: { Accept: "application/json" } });
    if (response.ok) {
      const snapshot = await response.json();
      window.k8sviz?.loadSnapshot(snapshot);
      const time = new Date(snapshot.cluster.simNow * 1000).toISOString().slice(11, 19);
      label.textContent = `rv ${snapshot.rv} · ${time}`;
    }
  } finally {
    busy = false;
    if (pending !== null) {
      const next = pending;
      pending = null;
      show(next);
    }
  }
}

function stop() {
  clearInterval(timer);
  timer = 0;
  play.textContent = "▶ Play";
}

if (bar && scrubber && !scrubber.disabled) {
  scrubber.addEventListener("input", () => show(Number(scrubber.value)));
  play.addEventListener("click", () => {
    if (timer) {
      stop();
      return;
    }
    if (Number(scrubber.value) >= Number(scrubber.max)) scrubber.value = scrubber.min;
    play.textContent = "❚❚ Pause";
    timer = setInterval(() => {
      const next = Math.min(Number(scrubber.value) + 1, Number(scrubber.max));
      scrubber.value = String(next);
      show(next);
      if (next >= Number(scrubber.max)) stop();
    }, 150);
  });
}
