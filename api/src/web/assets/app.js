// Bifrost pages: local times, rows of unfinished runs that refresh themselves, a live
// log tail over the event stream, and a run form that checks its JSON before sending.
// Served from this origin only (the Content-Security-Policy allows no inline script).
"use strict";

const LEVELS = ["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"];
// Lines a live tail keeps in the page; older ones leave it (the download has them all).
const MAX_LINES = 2000;

function localTimes(root) {
  for (const t of root.querySelectorAll("time[datetime]")) {
    const d = new Date(t.getAttribute("datetime"));
    if (!isNaN(d)) t.textContent = d.toLocaleString();
  }
}

// Runs page: every 2 s, fetch the rows still unfinished and swap them in; stop when
// none is left.
function refreshRuns() {
  const table = document.getElementById("runs");
  if (!table) return;
  const tick = async () => {
    const ids = [...table.querySelectorAll("tr[data-unfinished]")].map((r) => r.dataset.id);
    if (ids.length === 0) return;
    try {
      const r = await fetch("/runs/rows?ids=" + ids.join(","), { credentials: "same-origin" });
      if (r.ok && !r.redirected) {
        const doc = new DOMParser().parseFromString(await r.text(), "text/html");
        for (const fresh of doc.querySelectorAll("tr[data-id]")) {
          const old = document.getElementById("run-" + fresh.dataset.id);
          if (old) {
            const row = document.importNode(fresh, true);
            localTimes(row);
            old.replaceWith(row);
          }
        }
      }
    } catch (_) {
      // Try again at the next tick.
    }
    setTimeout(tick, 2000);
  };
  setTimeout(tick, 2000);
}

function lineElement(entry) {
  const li = document.createElement("li");
  li.dataset.level = entry.level;
  li.dataset.id = entry.id;
  const t = document.createElement("time");
  t.setAttribute("datetime", entry.timestamp);
  t.title = entry.timestamp + " UTC";
  t.textContent = new Date(entry.timestamp).toLocaleString();
  const level = document.createElement("span");
  level.className = "level " + entry.level.toLowerCase();
  level.textContent = entry.level;
  const msg = document.createElement("span");
  msg.className = "msg";
  msg.textContent = entry.message;
  li.append(t, " ", level, " ", msg);
  if (entry.metadata) {
    const meta = document.createElement("span");
    meta.className = "meta";
    meta.textContent = JSON.stringify(entry.metadata);
    li.append(" ", meta);
  }
  // The page's arrival time, for whoever measures the latency of a line.
  li.dataset.arrived = String(Date.now());
  return li;
}

// Run page: the level filter, follow, jump to end, and the live tail.
function runPage() {
  const log = document.getElementById("log");
  if (!log) return;
  const level = document.getElementById("level");
  const follow = document.getElementById("follow");
  const state = document.getElementById("log-state");
  const applyLevel = () => {
    const min = LEVELS.indexOf(level.value);
    for (const li of log.children) li.hidden = LEVELS.indexOf(li.dataset.level) < min;
  };
  const toEnd = () => {
    log.scrollTop = log.scrollHeight;
  };
  level.addEventListener("change", applyLevel);
  document.getElementById("jump").addEventListener("click", () => {
    toEnd();
    log.lastElementChild?.scrollIntoView({ block: "end" });
  });
  toEnd();
  const url = log.dataset.events;
  if (!url) return;
  const source = new EventSource(url);
  source.addEventListener("log", (ev) => {
    const li = lineElement(JSON.parse(ev.data));
    li.hidden = LEVELS.indexOf(li.dataset.level) < LEVELS.indexOf(level.value);
    log.append(li);
    if (log.childElementCount > MAX_LINES) {
      log.firstElementChild.remove();
      const note = document.getElementById("truncated");
      if (note) note.textContent = "Showing the last " + MAX_LINES + " lines; the download has them all.";
    }
    if (follow.checked) toEnd();
  });
  source.addEventListener("end", async (ev) => {
    source.close();
    const end = JSON.parse(ev.data);
    state.textContent = end.error ? "The log stopped: " + end.error : "The run has ended.";
    try {
      const r = await fetch(log.dataset.summary, { credentials: "same-origin" });
      if (r.ok && !r.redirected) {
        const doc = new DOMParser().parseFromString(await r.text(), "text/html");
        const fresh = doc.getElementById("summary");
        if (fresh) {
          const section = document.importNode(fresh, true);
          localTimes(section);
          document.getElementById("summary").replaceWith(section);
        }
      }
    } catch (_) {
      state.textContent += " Reload the page for its final details.";
    }
  });
  source.onerror = () => {
    if (source.readyState === EventSource.CONNECTING) state.textContent = "Reconnecting…";
  };
  source.onopen = () => {
    state.textContent = "Following the log…";
  };
}

// Workflows page: the input must be JSON; the local start time is sent as UTC.
function runForm() {
  const form = document.getElementById("run-form");
  if (!form) return;
  const input = form.elements.input;
  const error = document.getElementById("input-error");
  const check = () => {
    try {
      JSON.parse(input.value.trim() === "" ? "{}" : input.value);
      error.textContent = "";
      input.removeAttribute("aria-invalid");
      return true;
    } catch (e) {
      error.textContent = "The input is not JSON: " + e.message;
      input.setAttribute("aria-invalid", "true");
      return false;
    }
  };
  input.addEventListener("input", () => {
    if (error.textContent) check();
  });
  form.addEventListener("submit", (ev) => {
    if (!check()) {
      ev.preventDefault();
      input.focus();
      return;
    }
    const local = form.elements.at_local.value;
    form.elements.at.value = local ? new Date(local).toISOString() : "";
  });
}

document.addEventListener("DOMContentLoaded", () => {
  localTimes(document);
  refreshRuns();
  runPage();
  runForm();
});
