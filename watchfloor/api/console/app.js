// The operator console: live wall, alert feed, alerts, incidents, zones, search.
// Plain JavaScript module; it uses the public HTTP API and WebSocket only.

const state = {
  cameras: new Map(), // name -> camera as GET /api/cameras gives it
  alerts: [], // newest first
  selected: null, // alert id
  socket: null,
  page: null,
  timeZone: new URLSearchParams(location.search).get("tz") || undefined,
};

const main = document.getElementById("main");
const toastBox = document.getElementById("toast");

// ---- small helpers ---------------------------------------------------------

function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(node.dataset, value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function svg(tag, attrs = {}) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, value);
  return node;
}

async function api(path, { method = "GET", body } = {}) {
  const response = await fetch(path, {
    method,
    headers: {
      // Who acts, for the audit log, also where a body has no "by".
      "X-Watchfloor-Actor": operator(),
      ...(body ? { "content-type": "application/json" } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = text; }
  if (!response.ok) {
    const detail = data && data.detail ? data.detail : `${response.status} ${response.statusText}`;
    throw new Error(typeof detail === "string" ? detail : JSON.stringify(detail));
  }
  return data;
}

function formatTime(iso, withDate = true) {
  if (!iso) return "";
  const options = withDate
    ? { dateStyle: "short", timeStyle: "medium" }
    : { timeStyle: "medium" };
  return new Intl.DateTimeFormat(undefined, { ...options, timeZone: state.timeZone })
    .format(new Date(iso));
}

function timeNode(iso, withDate = true) {
  return h("time", { datetime: iso }, formatTime(iso, withDate));
}

function toast(message, bad = false) {
  toastBox.textContent = message;
  toastBox.classList.toggle("bad", bad);
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { toastBox.textContent = ""; }, 6000);
}

function operator() {
  return document.getElementById("operator").value.trim() || "operator";
}

function alertLabel(alert) {
  return `Alert ${alert.id}: ${alert.rule} on ${alert.camera}`;
}

// ---- alert handling ------------------------------------------------------------

const MOVES = {
  new: ["acknowledge", "resolve", "dismiss", "escalate"],
  acknowledged: ["resolve", "dismiss", "escalate"],
  escalated: ["resolve"],
  resolved: [],
  dismissed: [],
};

function upsertAlert(alert) {
  const index = state.alerts.findIndex((a) => a.id === alert.id);
  const known = index >= 0;
  const { type, change, ...fields } = alert;
  if (known) state.alerts[index] = { ...state.alerts[index], ...fields };
  else {
    state.alerts.push(fields);
    state.alerts.sort((a, b) => (b.start > a.start ? 1 : b.start < a.start ? -1 : b.id - a.id));
  }
  return !known;
}

function askDialog(id, alertId) {
  const dialog = document.getElementById(id);
  dialog.querySelector("[data-alert-id]").textContent = alertId;
  const form = dialog.querySelector("form");
  form.reset();
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      resolve(dialog.returnValue === "ok" ? new FormData(form) : null);
    }, { once: true });
  });
}

// Ask a yes-or-no question in the page's confirm dialog; true for yes.
function confirmDialog(title, text) {
  const dialog = document.getElementById("confirm-dialog");
  dialog.querySelector("#confirm-title").textContent = title;
  dialog.querySelector("#confirm-text").textContent = text;
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
  });
}

async function act(alertId, verb) {
  const alert = state.alerts.find((a) => a.id === alertId);
  const body = { by: operator() };
  if (verb === "dismiss") {
    const form = await askDialog("dismiss-dialog", alertId);
    if (!form) return;
    body.reason = form.get("reason").trim();
    if (!body.reason) { toast("A dismissal needs a reason; nothing was changed.", true); return; }
  } else if (verb === "escalate") {
    const form = await askDialog("escalate-dialog", alertId);
    if (!form) return;
    body.severity = form.get("severity");
    const note = form.get("note").trim();
    if (note) body.note = note;
  }
  try {
    const answer = await api(`/api/alerts/${alertId}/${verb}`, { method: "POST", body });
    const changed = answer.alert || answer;
    upsertAlert(changed);
    if (verb === "escalate") {
      toast(`Alert ${alertId} escalated into incident ${answer.incident.id}.`);
    } else {
      toast(`Alert ${alertId}: ${changed.status}.`);
    }
    refresh();
  } catch (error) {
    toast(`${alert ? alertLabel(alert) : `Alert ${alertId}`}: ${error.message}`, true);
  }
}

function actionButtons(alert) {
  const allowed = alert ? MOVES[alert.status] || [] : [];
  const button = (verb, label, key) => h("button", {
    type: "button",
    "data-action": verb,
    "aria-keyshortcuts": key,
    disabled: !allowed.includes(verb),
    onclick: () => alert && act(alert.id, verb),
  }, label, " ", h("kbd", {}, key));
  return h("div", { class: "actions", role: "group", "aria-label": "Alert actions" },
    button("acknowledge", "Acknowledge", "a"),
    button("dismiss", "Dismiss…", "d"),
    button("resolve", "Resolve", "r"),
    button("escalate", "Escalate…", "e"));
}

// ---- live updates --------------------------------------------------------------

let reconnectDelay = 1000;

function connectLive() {
  const connection = document.getElementById("connection");
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/api/live`);
  state.socket = socket;
  socket.addEventListener("open", () => {
    reconnectDelay = 1000;
    connection.textContent = "live";
    connection.className = "connection online";
    loadAlerts().then(refresh); // catch up on anything missed while away
  });
  socket.addEventListener("close", () => {
    connection.textContent = `disconnected; retrying in ${reconnectDelay / 1000} s`;
    connection.className = "connection offline";
    setTimeout(connectLive, reconnectDelay);
    reconnectDelay = Math.min(reconnectDelay * 2, 30000);
  });
  socket.addEventListener("message", (event) => {
    const message = JSON.parse(event.data);
    if (message.type === "hello") {
      for (const status of message.cameras) setCameraStatus(status);
    } else if (message.type === "camera") {
      setCameraStatus(message);
    } else if (message.type === "alert") {
      const isNew = upsertAlert(message);
      if (isNew && message.change === "raised") announce(message);
      refresh(isNew ? message.id : null);
    }
  });
}

function setCameraStatus(status) {
  const camera = state.cameras.get(status.camera);
  if (camera) camera.status = { ...camera.status, ...status };
  else state.cameras.set(status.camera, { name: status.camera, status });
  const label = document.querySelector(`[data-camera-state="${CSS.escape(status.camera)}"]`);
  if (label) showCameraState(label, state.cameras.get(status.camera).status);
}

function showCameraState(node, status) {
  if (!status) { node.textContent = "no status"; node.dataset.state = "unknown"; return; }
  node.dataset.state = status.state;
  node.textContent = `${status.state} since ${formatTime(status.since, false)}`;
  node.title = status.last_error || "";
}

let unseen = 0;

function announce(alert) {
  if (document.hidden) {
    unseen += 1;
    document.title = `(${unseen}) Watchfloor`;
  }
  if (document.getElementById("sound").checked) beep();
}

document.addEventListener("visibilitychange", () => {
  if (!document.hidden) { unseen = 0; document.title = "Watchfloor"; }
});

function beep() {
  try {
    const context = new AudioContext();
    const tone = context.createOscillator();
    const gain = context.createGain();
    tone.frequency.value = 880;
    gain.gain.setValueAtTime(0.2, context.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.001, context.currentTime + 0.4);
    tone.connect(gain).connect(context.destination);
    tone.start();
    tone.stop(context.currentTime + 0.4);
  } catch { /* no audio output */ }
}

async function loadAlerts() {
  const page = await api("/api/alerts?limit=50");
  for (const alert of page.items) upsertAlert(alert);
}

async function loadCameras() {
  const cameras = await api("/api/cameras");
  for (const camera of cameras) {
    const known = state.cameras.get(camera.name);
    state.cameras.set(camera.name, { ...camera, status: camera.status || known?.status });
  }
  return cameras;
}

// ---- pages ---------------------------------------------------------------------

function refresh(freshId = null) {
  if (state.page === "live") renderFeed(freshId);
  else if (state.page === "alert") renderAlertPage(true);
}

async function livePage() {
  const wall = h("section", { class: "wall", "aria-label": "Cameras" });
  const feed = h("section", { class: "feed", "aria-labelledby": "feed-title" },
    h("header", {}, h("h1", { id: "feed-title" }, "Alerts"),
      h("div", { id: "feed-actions" })),
    h("ul", { class: "alerts", id: "alert-list", role: "listbox", "aria-label": "Alerts, newest first" }));
  main.replaceChildren(h("div", { class: "live" }, wall, feed));
  renderFeed();

  const cameras = await loadCameras();
  if (state.page !== "live") return;
  if (!cameras.length) wall.append(h("p", { class: "empty" }, "The site has no cameras."));
  for (const camera of cameras) {
    const stateNode = h("span", { class: "camera-state", "data-camera-state": camera.name });
    showCameraState(stateNode, state.cameras.get(camera.name).status);
    let view;
    if (camera.analyse) {
      view = h("img", {
        src: `/api/cameras/${encodeURIComponent(camera.name)}/live.mjpeg`,
        alt: `Live view of camera ${camera.name}, with tracked objects and zones`,
        "data-live": camera.name,
      });
      view.addEventListener("error", () => {
        // The stream ends when the server restarts or the camera is away: retry.
        setTimeout(() => {
          if (view.isConnected) view.src = `/api/cameras/${encodeURIComponent(camera.name)}/live.mjpeg?t=${Date.now()}`;
        }, 3000);
      });
    } else {
      view = h("p", { class: "empty" }, "Recorded only (not analysed): no live view.");
    }
    wall.append(h("figure", { class: "tile", "data-camera": camera.name }, view,
      h("figcaption", {}, h("strong", {}, camera.name), stateNode)));
  }
  await loadAlerts();
  renderFeed();
}

function renderFeed(freshId = null) {
  const list = document.getElementById("alert-list");
  if (!list) return;
  if (state.selected === null && state.alerts.length) state.selected = state.alerts[0].id;
  const items = state.alerts.map((alert) => {
    const selected = alert.id === state.selected;
    return h("li", {
      class: `alert-item${alert.id === freshId ? " fresh" : ""}`,
      role: "option",
      "aria-selected": selected ? "true" : "false",
      "data-alert": alert.id,
      "data-status": alert.status,
    },
    h("button", {
      type: "button",
      class: "pick",
      "aria-label": `${alertLabel(alert)}, ${alert.status}, ${formatTime(alert.start)}`,
      onclick: () => { state.selected = alert.id; renderFeed(); },
      ondblclick: () => { location.hash = `#/alerts/${alert.id}`; },
    },
    alert.snapshot_url
      ? h("img", { src: alert.snapshot_url, alt: `Snapshot of ${alertLabel(alert)}`, loading: "lazy" })
      : h("span", { class: "meta" }, "no snapshot"),
    h("span", { class: "rule" }, alert.rule),
    h("span", { class: "meta" }, `${alert.camera} · ${alert.label} · `, timeNode(alert.start)),
    h("span", {}, h("span", { class: "badge", "data-status": alert.status }, alert.status))),
    h("a", { class: "open", href: `#/alerts/${alert.id}` }, "Open"));
  });
  list.replaceChildren(...(items.length ? items : [h("li", { class: "empty" }, "No alerts yet.")]));
  const focused = document.activeElement;
  const selected = state.alerts.find((a) => a.id === state.selected);
  document.getElementById("feed-actions").replaceChildren(
    h("p", { class: "meta" }, selected ? `Selected: ${alertLabel(selected)}` : "No alert selected",
      " · ", h("kbd", {}, "j"), "/", h("kbd", {}, "k"), " move, ", h("kbd", {}, "Enter"), " open"),
    actionButtons(selected));
  if (focused && !focused.isConnected && selected) {
    list.querySelector(`[data-alert="${selected.id}"] .pick`)?.focus();
  }
}

let shownAlert = null;
const PATH_POLL_MS = 2000; // an ongoing alert's path grows; its page follows it

async function alertPage(id) {
  main.replaceChildren(h("p", {}, "Loading…"));
  try {
    const alert = await api(`/api/alerts/${id}`);
    upsertAlert(alert);
    state.selected = alert.id;
    shownAlert = alert.id;
    renderAlertPage();
    followOngoing(id);
  } catch (error) {
    main.replaceChildren(h("p", { class: "error" }, error.message));
  }
}

// While the shown alert goes on, fetch it now and then to draw its path as it grows.
function followOngoing(id) {
  setTimeout(async () => {
    const alert = state.alerts.find((a) => a.id === id);
    if (state.page !== "alert" || shownAlert !== id || !alert || alert.end) return;
    try {
      upsertAlert(await api(`/api/alerts/${id}`));
      renderAlertPage(true);
    } catch { /* the next live message or poll will do */ }
    followOngoing(id);
  }, PATH_POLL_MS);
}

function seconds(value) {
  return `${value.toFixed(1)} s`;
}

function pathLabel(alert) {
  const path = alert.path;
  const [t0, x0, y0] = path[0];
  const [t1, x1, y1] = path[path.length - 1];
  const at = (x, y) => `${Math.round(x * 100)} % across, ${Math.round(y * 100)} % down`;
  const when = (t) => (t < 0 ? `${seconds(-t)} before the alert` : `${seconds(t)} after it began`);
  return `Path of the ${alert.label}'s feet, ${path.length} points: from ${at(x0, y0)}, ${when(t0)} `
    + `(ring), to ${at(x1, y1)}, ${when(t1)} (arrow)`;
}

// The track's path over the snapshot: a ring where its feet were first, a
// line through where they went, a dot and an arrow head where they were last.
function pathOverlay(alert, picture) {
  const overlay = svg("svg", {
    class: "track-path",
    role: "img",
    preserveAspectRatio: "none",
    "aria-label": pathLabel(alert),
    "data-points": alert.path.length,
  });
  const paint = () => {
    // Pixel units of the picture, so that rings stay round and arrows square.
    const width = picture.naturalWidth || 1000;
    const height = picture.naturalHeight || 750;
    const size = Math.max(width, height) / 100;
    const points = alert.path.map(([, x, y]) => [x * width, y * height]);
    const title = svg("title");
    title.textContent = pathLabel(alert);
    overlay.setAttribute("viewBox", `0 0 ${width} ${height}`);
    overlay.replaceChildren(title,
      svg("polyline", { class: "path", points: points.map((p) => p.join(",")).join(" "), "stroke-width": size * 0.4 }),
      svg("circle", { class: "path-start", cx: points[0][0], cy: points[0][1], r: size, "stroke-width": size * 0.4 }),
      ...pathEnd(points, size));
  };
  paint();
  picture.addEventListener("load", paint);
  return overlay;
}

// A dot on the latest point and, when the track moved, an arrow head on it
// pointing the way it last went.
function pathEnd(points, size) {
  const [x, y] = points[points.length - 1];
  const marks = [svg("circle", { class: "path-end", cx: x, cy: y, r: size * 0.6 })];
  const from = points.slice(0, -1).reverse().find(([px, py]) => Math.hypot(x - px, y - py) >= size * 2);
  if (!from) return marks;
  const length = Math.hypot(x - from[0], y - from[1]);
  const [dx, dy] = [(x - from[0]) / length, (y - from[1]) / length];
  const back = [x - dx * size * 2.5, y - dy * size * 2.5];
  const side = [-dy * size * 1.2, dx * size * 1.2];
  marks.push(svg("polygon", {
    class: "path-arrow",
    points: [[x + dx * size, y + dy * size], [back[0] + side[0], back[1] + side[1]], [back[0] - side[0], back[1] - side[1]]]
      .map((p) => p.join(",")).join(" "),
  }));
  return marks;
}

function snapshotView(alert) {
  if (!alert.snapshot_url) return h("p", { class: "meta" }, "No snapshot.");
  const picture = h("img", { src: alert.snapshot_url, alt: `Snapshot of ${alertLabel(alert)}: the frame with the object's box and the zone` });
  const path = alert.path && alert.path.length ? pathOverlay(alert, picture) : null;
  return h("div", { class: "snapshot" }, picture, path);
}

function renderAlertPage(update = false) {
  const alert = state.alerts.find((a) => a.id === shownAlert);
  if (!alert) return;
  const video = main.querySelector("video");
  if (update && video && !video.paused) {
    // Leave a playing clip alone; refresh the facts, buttons and path only.
    main.querySelector("[data-facts]").replaceWith(facts(alert));
    main.querySelector(".actions").replaceWith(actionButtons(alert));
    main.querySelector(".snapshot")?.replaceWith(snapshotView(alert));
    return;
  }
  let clip;
  if (alert.clip_state === "ready" && alert.clip_url) {
    clip = h("video", { src: alert.clip_url, controls: true, preload: "metadata", "aria-label": `Clip of ${alertLabel(alert)}` });
  } else if (alert.clip_state === "failed") {
    clip = h("p", { class: "error" }, `The clip could not be cut: ${alert.clip_error || "unknown reason"}`);
  } else {
    clip = h("p", { class: "meta", "data-clip-pending": true }, "The clip is being cut; it appears here when ready.");
  }
  main.replaceChildren(
    h("p", {}, h("a", { href: "#/live" }, "← Live")),
    h("h1", {}, alertLabel(alert)),
    actionButtons(alert),
    h("div", { class: "detail" },
      h("section", { class: "panel", "aria-label": "Snapshot" },
        h("h2", {}, "Snapshot and path"),
        snapshotView(alert)),
      h("section", { class: "panel", "aria-label": "Clip" }, h("h2", {}, "Clip"), clip)),
    facts(alert));
}

function facts(alert) {
  const rows = [
    ["Status", h("span", { class: "badge", "data-status": alert.status }, alert.status)],
    ["Rule", `${alert.rule} (${alert.kind})`],
    ["Camera", alert.camera],
    ["Where", alert.zone || alert.line || "—"],
    ["Object", `${alert.label}, score ${alert.score.toFixed(2)}`],
    ["Started", timeNode(alert.start)],
    ["Ended", alert.end ? timeNode(alert.end) : "ongoing"],
    ["Path", pathSummary(alert)],
    ["Last change", alert.status_at ? [timeNode(alert.status_at), ` by ${alert.status_by}`] : "—"],
    ["Note", alert.status_note || "—"],
  ];
  return h("dl", { class: "facts panel", "data-facts": true },
    rows.flatMap(([term, value]) => [h("dt", {}, term), h("dd", {}, value)]));
}

function pathSummary(alert) {
  const path = alert.path || [];
  if (!path.length) return "—";
  const span = path[path.length - 1][0] - path[0][0];
  return `${path.length} points over ${seconds(span)} of the track (ring: first seen; arrow: last)`;
}

async function incidentsPage() {
  main.replaceChildren(h("h1", {}, "Incidents"), h("p", {}, "Loading…"));
  try {
    const page = await api("/api/incidents?limit=100");
    const rows = page.items.map((incident) => h("tr", {},
      h("td", {}, h("a", { href: `#/incidents/${incident.id}` }, `#${incident.id} ${incident.title}`)),
      h("td", {}, incident.severity),
      h("td", {}, h("span", { class: "badge" }, incident.status)),
      h("td", {}, incident.commander || "—"),
      h("td", {}, timeNode(incident.created_at))));
    main.replaceChildren(h("h1", {}, "Incidents"), rows.length
      ? h("table", {}, h("thead", {}, h("tr", {}, ["Incident", "Severity", "Status", "Commander", "Created"].map((t) => h("th", { scope: "col" }, t)))), h("tbody", {}, rows))
      : h("p", { class: "empty" }, "No incidents. Escalate an alert to open one."));
  } catch (error) {
    main.replaceChildren(h("h1", {}, "Incidents"), h("p", { class: "error" }, error.message));
  }
}

const INCIDENT_STEPS = ["triage", "contained", "eradicated", "recovered", "closed"];

async function incidentPage(id) {
  main.replaceChildren(h("p", {}, "Loading…"));
  let incident; let timeline;
  try {
    [incident, timeline] = await Promise.all([
      api(`/api/incidents/${id}`), api(`/api/incidents/${id}/timeline`)]);
  } catch (error) {
    main.replaceChildren(h("p", { class: "error" }, error.message));
    return;
  }
  const entries = Array.isArray(timeline) ? timeline : timeline.items || timeline.entries || [];
  const at = INCIDENT_STEPS.indexOf(incident.status);
  const next = incident.status === "closed" ? ["triage"] : INCIDENT_STEPS.slice(at + 1);
  const reason = h("input", { id: "move-reason", "aria-label": "Reason (when skipping steps)", placeholder: "reason, when skipping steps", size: 30 });
  const moves = next.map((to, i) => h("button", {
    type: "button",
    class: i === 0 ? "primary" : null,
    onclick: async () => {
      const body = { to, by: operator() };
      if (reason.value.trim()) body[i === 0 ? "note" : "reason"] = reason.value.trim();
      try { await api(`/api/incidents/${id}/status`, { method: "POST", body }); incidentPage(id); }
      catch (error) { toast(error.message, true); }
    },
  }, incident.status === "closed" ? "Reopen (triage)" : `→ ${to}`));
  const noteText = h("textarea", { id: "note-text", rows: 3, required: true });
  const links = incident.links.map((link) => {
    const clipUrl = link.alert?.clip_url
      || (link.clip ? `/api/cameras/${encodeURIComponent(link.clip.camera)}/footage?start=${encodeURIComponent(link.clip.start)}&end=${encodeURIComponent(link.clip.end)}` : null);
    return h("li", { class: "panel" },
      h("p", {}, `${link.kind} ${link.target_id}`, link.alert ? [" — ", h("a", { href: `#/alerts/${link.alert.id}` }, alertLabel(link.alert))] : ""),
      clipUrl ? h("video", { src: clipUrl, controls: true, preload: "metadata", "aria-label": `Clip of ${link.kind} ${link.target_id}`, style: "max-width: 32rem; width: 100%" }) : null);
  });
  main.replaceChildren(
    h("p", {}, h("a", { href: "#/incidents" }, "← Incidents")),
    h("h1", {}, `Incident #${incident.id}: ${incident.title}`),
    h("dl", { class: "facts panel" },
      h("dt", {}, "Status"), h("dd", {}, h("span", { class: "badge" }, incident.status)),
      h("dt", {}, "Severity"), h("dd", {}, incident.severity),
      h("dt", {}, "Commander"), h("dd", {}, incident.commander || "—"),
      h("dt", {}, "Created"), h("dd", {}, timeNode(incident.created_at), ` by ${incident.created_by}`),
      h("dt", {}, "Evidence"), h("dd", {}, h("a", { href: `/api/incidents/${id}/export?by=${encodeURIComponent(operator())}` }, "Export evidence (ZIP)"), " · ",
        h("a", { href: `/api/incidents/${id}/report?format=html` }, "Report"))),
    h("section", { class: "panel", "aria-label": "Next steps" }, h("h2", {}, "Next steps"),
      h("div", { class: "actions" }, moves, reason)),
    h("section", { "aria-label": "Linked footage" }, h("h2", {}, "Linked alerts and clips"),
      links.length ? h("ul", { class: "timeline" }, links) : h("p", { class: "meta" }, "Nothing linked.")),
    h("section", { class: "panel", "aria-label": "Notes" }, h("h2", {}, "Notes"),
      h("ul", { class: "timeline" }, incident.notes.map((note) => h("li", {}, timeNode(note.created_at), ` ${note.author}: `, note.text))),
      h("form", { class: "stack", onsubmit: async (event) => {
        event.preventDefault();
        try { await api(`/api/incidents/${id}/notes`, { method: "POST", body: { text: noteText.value, by: operator() } }); incidentPage(id); }
        catch (error) { toast(error.message, true); }
      } }, h("label", { for: "note-text" }, "Add a note"), noteText, h("button", { type: "submit" }, "Add note"))),
    h("section", { class: "panel", "aria-label": "Timeline" }, h("h2", {}, "Timeline"),
      h("ul", { class: "timeline" }, entries.map((entry) => h("li", {}, timeNode(entry.time), ` ${entry.kind}: ${entry.summary}`, entry.actor ? ` (${entry.actor})` : "")))));
}

const RULE_KINDS = {
  zone: ["restricted_area", "loitering", "occupancy"],
  line: ["line_crossing"],
};
const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const DIRECTION_NAMES = {
  a_to_b: "a → b (left of a→b to its right)",
  b_to_a: "b → a (right of a→b to its left)",
  any: "either way",
};

// A number from an input, or undefined when it is left empty.
function numberOf(input) {
  return input.value.trim() === "" ? undefined : Number(input.value);
}

async function zonesPage() {
  const cameras = (await loadCameras()).filter((c) => c.analyse);
  if (state.page !== "zones") return;
  if (!cameras.length) { main.replaceChildren(h("h1", {}, "Zones"), h("p", { class: "empty" }, "No analysed camera.")); return; }
  const points = [];
  const select = h("select", { id: "zone-camera" }, cameras.map((c) => h("option", { value: c.name }, c.name)));
  const shape = h("select", { id: "draw-shape" },
    h("option", { value: "zone" }, "Zone (polygon)"), h("option", { value: "line" }, "Line (two points)"));
  const picture = h("img", { alt: "The camera's current frame; click to add the corners, drag one to move it", id: "zone-frame" });
  const overlay = svg("svg", { viewBox: "0 0 1 1", preserveAspectRatio: "none", role: "img", "aria-label": "Zone drawing" });
  const message = h("p", { role: "status", id: "zone-message", class: "meta" }, "Click on the picture to place the zone's corners; drag a corner to move it.");
  const nameLabel = h("label", { for: "zone-name" }, "Zone name");
  const name = h("input", { id: "zone-name", required: true, pattern: "[a-z0-9][a-z0-9_-]*", placeholder: "e.g. loading-dock" });
  const ruleName = h("input", { id: "rule-name", placeholder: "e.g. dock-restricted" });
  const kind = h("select", { id: "rule-kind" });
  const classes = h("input", { id: "rule-classes", value: "person", list: "rule-class-names" });
  const classNames = h("datalist", { id: "rule-class-names" },
    ["person", "car", "truck", "bus", "bicycle", "motorcycle", "dog"].map((c) => h("option", { value: c })));
  const dwell = h("input", { id: "rule-dwell", type: "number", min: 0, step: 0.5, value: 1 });
  const cooldown = h("input", { id: "rule-cooldown", type: "number", min: 0, step: 1, value: 0 });
  const limit = h("input", { id: "rule-limit", type: "number", min: 0, step: 1, placeholder: "seconds" });
  const maxObjects = h("input", { id: "rule-max-objects", type: "number", min: 0, step: 1 });
  const direction = h("select", { id: "rule-direction" },
    Object.entries(DIRECTION_NAMES).map(([value, text]) => h("option", { value, selected: value === "any" }, text)));
  const scheduled = h("input", { id: "rule-scheduled", type: "checkbox" });
  const days = WEEKDAYS.map((day) => h("input", { type: "checkbox", value: day, id: `rule-day-${day}`, checked: true }));
  const start = h("input", { id: "rule-start", type: "time", value: "18:00" });
  const end = h("input", { id: "rule-end", type: "time", value: "06:00" });
  const timezone = h("input", { id: "rule-timezone", value: state.timeZone || Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC" });
  const scheduleBox = h("fieldset", { class: "stack", id: "rule-schedule", hidden: true },
    h("legend", {}, "Armed in these weekly hours"),
    h("div", { class: "actions" }, days.map((box) => h("label", { for: box.id }, box, ` ${box.value}`))),
    h("label", { for: "rule-start" }, "From (local time)"), start,
    h("label", { for: "rule-end" }, "Until (at or before the start: into the next day)"), end,
    h("label", { for: "rule-timezone" }, "Time zone (IANA name)"), timezone);
  // Fields only some kinds use, shown only for them.
  const kindFields = {
    dwell: [h("label", { for: "rule-dwell" }, "Minimum dwell (s)"), dwell],
    limit: [h("label", { for: "rule-limit" }, "Loitering limit (s)"), limit],
    maxObjects: [h("label", { for: "rule-max-objects" }, "Most objects inside before an alert"), maxObjects],
    direction: [h("label", { for: "rule-direction" }, "Direction that counts"), direction],
  };
  const fieldsOf = {
    restricted_area: ["dwell"], loitering: ["limit"], occupancy: ["dwell", "maxObjects"], line_crossing: ["direction"],
  };
  let saved = [];
  let savedLines = [];
  let savedRules = []; // rules as GET /api/rules gives them
  let shapes = []; // the camera's zones and lines as the API gives them, with kind
  let editing = null; // { kind, name, item, rule } while a saved one is edited; rule null: a new one
  const savedList = h("ul", { id: "saved-shapes", class: "saved-shapes", "aria-label": "Saved zones and lines of this camera" });
  // While a saved zone or line is edited: its rules, one of them (or a new one) in the fields.
  const rulesLegend = h("legend", { id: "shape-rules-title" }, "Rules");
  const ruleList = h("ul", { id: "rule-list", class: "saved-shapes", "aria-labelledby": "shape-rules-title" });
  const addRuleButton = h("button", { type: "button", id: "rule-add", onclick: () => newRule() }, "Add a rule");
  const ruleMessage = h("p", { id: "rule-message", role: "status", class: "meta" });
  const rulesBox = h("fieldset", { class: "stack", id: "shape-rules", hidden: true },
    rulesLegend, ruleList, h("div", { class: "actions" }, addRuleButton), ruleMessage);
  const saveButton = h("button", { type: "submit", class: "primary", id: "zone-save" }, "Save");
  const cancelButton = h("button", { type: "button", id: "edit-cancel", hidden: true, onclick: () => stopEditing() }, "Stop editing");
  let dragging = null; // index of the point being moved
  let quietUntil = 0; // the click that ends a drag adds no point

  function showKindFields() {
    for (const [field, nodes] of Object.entries(kindFields)) {
      for (const node of nodes) node.hidden = !fieldsOf[kind.value].includes(field);
    }
  }
  function setShape() {
    kind.replaceChildren(...RULE_KINDS[shape.value].map((k) => h("option", { value: k }, k)));
    nameLabel.textContent = shape.value === "line" ? "Line name" : "Zone name";
    message.textContent = shape.value === "line"
      ? "Click twice on the picture to place the line's ends a and b; drag an end to move it."
      : "Click on the picture to place the zone's corners; drag a corner to move it.";
    message.className = "meta";
    points.length = 0;
    showKindFields();
    draw();
  }

  // Arrow heads across a line's middle, to the side its direction crosses to.
  function arrows(a, b, way) {
    const aspect = picture.naturalWidth && picture.naturalHeight ? picture.naturalWidth / picture.naturalHeight : 4 / 3;
    const mid = [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2];
    // The right of a→b on the picture, measured in pixels so it is square to the line.
    let px = -(b[1] - a[1]) / aspect;
    let py = (b[0] - a[0]) * aspect;
    const length = Math.hypot(px * aspect, py) || 1;
    px = (px / length) * 0.08; py = (py / length) * 0.08;
    const heads = [];
    const head = (sign) => {
      const tip = [mid[0] + sign * px, mid[1] + sign * py];
      const back = [mid[0] + sign * px * 0.6, mid[1] + sign * py * 0.6];
      const side = [-(py) * 0.3 / aspect, px * 0.3 * aspect];
      heads.push(svg("line", { class: "arrow", x1: mid[0], y1: mid[1], x2: tip[0], y2: tip[1] }));
      heads.push(svg("polygon", {
        class: "arrow",
        "data-direction": sign > 0 ? "a_to_b" : "b_to_a",
        points: [tip, [back[0] + side[0], back[1] + side[1]], [back[0] - side[0], back[1] - side[1]]]
          .map((p) => p.join(",")).join(" "),
      }));
    };
    if (way !== "b_to_a") head(1);
    if (way !== "a_to_b") head(-1);
    return heads;
  }

  function draw() {
    overlay.replaceChildren();
    // The one being edited is drawn as the draft, with its points to drag.
    const edited = (kindOf, name) => editing && editing.kind === kindOf && editing.name === name;
    for (const zone of saved.filter((z) => z.camera === select.value && !edited("zone", z.name))) {
      overlay.append(svg("polygon", { class: "saved", "data-zone": zone.name, points: zone.polygon.map((p) => p.join(",")).join(" ") }));
    }
    for (const line of savedLines.filter((l) => l.camera === select.value && !edited("line", l.name))) {
      const [a, b] = line.points;
      overlay.append(svg("line", { class: "saved", x1: a[0], y1: a[1], x2: b[0], y2: b[1] }));
    }
    if (shape.value === "zone" && points.length) {
      overlay.append(svg("polygon", { class: "draft", points: points.map((p) => p.join(",")).join(" ") }));
    }
    if (shape.value === "line" && points.length === 2) {
      const [a, b] = points;
      overlay.append(svg("line", { class: "draft", x1: a[0], y1: a[1], x2: b[0], y2: b[1] }),
        ...arrows(a, b, direction.value));
    }
    points.forEach(([x, y], index) => {
      const handle = svg("circle", { cx: x, cy: y, r: 0.006, "data-point": index });
      handle.addEventListener("pointerdown", (event) => {
        event.preventDefault();
        event.stopPropagation();
        dragging = index;
        overlay.setPointerCapture(event.pointerId);
      });
      overlay.append(handle);
    });
    if (shape.value === "line") {
      points.forEach(([x, y], index) => {
        const text = svg("text", { x: x + 0.01, y: y - 0.01, class: "end" });
        text.textContent = index === 0 ? "a" : "b";
        overlay.append(text);
      });
    }
  }
  function where(event) {
    const box = overlay.getBoundingClientRect();
    const clamp = (v) => Math.min(1, Math.max(0, v));
    return [+clamp((event.clientX - box.left) / box.width).toFixed(4),
      +clamp((event.clientY - box.top) / box.height).toFixed(4)];
  }
  async function load() {
    picture.src = `/api/cameras/${encodeURIComponent(select.value)}/frame.jpg?t=${Date.now()}`;
    const [zones, lines, rules] = await Promise.all(["/api/zones", "/api/lines", "/api/rules"]
      .map((path) => api(path).catch(() => [])));
    saved = zones.map((z) => z.definition).filter(Boolean);
    savedLines = lines.map((l) => l.definition).filter(Boolean);
    savedRules = rules;
    shapes = [...zones.map((z) => ({ ...z, kind: "zone" })), ...lines.map((l) => ({ ...l, kind: "line" }))]
      .filter((item) => item.definition && item.definition.camera === select.value);
    listShapes();
    if (editing) {
      // The chosen rule as now saved; the list as now saved.
      const chosen = editing.rule && savedRules.find((r) => r.name === editing.rule.name);
      if (editing.rule && chosen) editing.rule = chosen;
      listRules();
    }
    draw();
  }

  // The rules that watch a zone or line.
  function rulesOf(kindOf, shapeName) {
    return savedRules.filter((r) => r.definition && r.definition[kindOf] === shapeName);
  }

  function listShapes() {
    const items = shapes.map((item) => {
      const rules = rulesOf(item.kind, item.name).map((r) => r.name);
      const label = `${item.kind} ${item.name}`;
      return h("li", { "data-shape": `${item.kind}:${item.name}`, "aria-current": editing && editing.kind === item.kind && editing.name === item.name ? "true" : null },
        h("span", {}, h("strong", {}, item.name), ` ${item.kind}`,
          h("span", { class: "meta" }, rules.length ? ` · rules: ${rules.join(", ")}` : " · no rule",
            item.source === "site" ? " · site file (read-only)" : "")),
        h("span", { class: "actions" },
          h("button", { type: "button", "data-edit": item.name, "aria-label": `Edit ${label}`, onclick: () => startEditing(item) }, "Edit"),
          h("button", { type: "button", "data-delete": item.name, "aria-label": `Delete ${label}…`, onclick: () => remove(item) }, "Delete…")));
    });
    savedList.replaceChildren(...(items.length ? items : [h("li", { class: "meta" }, "None yet on this camera.")]));
  }

  // Fill the rule fields from a saved rule's definition.
  function showRule(definition) {
    kind.value = definition.kind;
    classes.value = definition.classes.join(", ");
    dwell.value = definition.min_dwell ?? "";
    cooldown.value = definition.cooldown ?? 0;
    limit.value = definition.limit_s ?? "";
    maxObjects.value = definition.max_objects ?? "";
    direction.value = definition.direction || "any";
    const hours = definition.schedule && definition.schedule.windows[0];
    scheduled.checked = Boolean(hours);
    scheduleBox.hidden = !hours;
    if (hours) {
      for (const box of days) box.checked = hours.days.includes(box.value);
      start.value = hours.start.slice(0, 5);
      end.value = hours.end.slice(0, 5);
      timezone.value = definition.schedule.timezone;
    }
    showKindFields();
  }

  // What a rule does, in a few words, for the list of a shape's rules.
  function ruleSummary(rule) {
    const d = rule.definition;
    if (!d) return rule.problem || "not valid";
    const parts = [d.classes.join(", ")];
    if (d.kind === "restricted_area") parts.push(`inside ${d.min_dwell} s`);
    if (d.kind === "loitering") parts.push(`inside over ${d.limit_s} s`);
    if (d.kind === "occupancy") parts.push(`more than ${d.max_objects} inside for ${d.min_dwell} s`);
    if (d.kind === "line_crossing") parts.push(d.direction === "any" ? "either way" : d.direction.replace("_to_", " → "));
    if (d.cooldown) parts.push(`cooldown ${d.cooldown} s`);
    parts.push(d.schedule ? "on a schedule" : "always armed");
    if (d.enabled === false) parts.push("disabled");
    if (rule.source === "site") parts.push("site file (read-only)");
    return parts.join(" · ");
  }

  function listRules() {
    if (!editing) { rulesBox.hidden = true; return; }
    const what = `${editing.kind} ${editing.name}`;
    rulesLegend.textContent = `Rules of ${what}`;
    addRuleButton.textContent = `Add a rule to ${what}`;
    addRuleButton.setAttribute("aria-pressed", editing.rule ? "false" : "true");
    const items = rulesOf(editing.kind, editing.name).map((rule) => {
      const chosen = editing.rule && editing.rule.name === rule.name;
      return h("li", { "data-rule": rule.name, "aria-current": chosen ? "true" : null },
        h("span", {}, h("strong", {}, rule.name), ` ${rule.definition ? rule.definition.kind : ""}`,
          h("span", { class: "meta" }, ` · ${ruleSummary(rule)}`)),
        h("span", { class: "actions" },
          h("button", { type: "button", "data-rule-edit": rule.name, "aria-pressed": chosen ? "true" : "false", disabled: !rule.definition, onclick: () => chooseRule(rule) }, `Edit rule ${rule.name}`),
          h("button", { type: "button", "data-rule-remove": rule.name, "aria-label": `Remove rule ${rule.name}…`, onclick: () => removeRule(rule) }, "Remove…")));
    });
    ruleList.replaceChildren(...(items.length ? items : [h("li", { class: "meta" }, "No rule yet.")]));
    rulesBox.hidden = false;
  }

  function tellRule(text, bad = false) {
    ruleMessage.textContent = text;
    ruleMessage.className = bad ? "error" : "meta";
  }

  // Put a saved rule in the fields; saving replaces it (PUT).
  function chooseRule(rule) {
    editing.rule = rule;
    ruleName.value = rule.name;
    ruleName.disabled = true; // a rule keeps its name
    showRule(rule.definition);
    listRules();
    tellRule(`Rule ${rule.name} is in the fields: change them, then save.`);
  }

  // Empty fields for another rule on the edited shape; saving makes it (POST).
  function newRule() {
    editing.rule = null;
    ruleName.value = "";
    ruleName.disabled = false;
    showRule({ kind: RULE_KINDS[editing.kind][0], classes: ["person"], min_dwell: 1, cooldown: 0, direction: "any", schedule: null });
    listRules();
    tellRule(`A new rule for ${editing.kind} ${editing.name}: name it, set its fields, then save.`);
    ruleName.focus();
  }

  async function removeRule(rule) {
    const what = `${editing.kind} ${editing.name}`;
    const ok = await confirmDialog(`Delete rule ${rule.name}?`,
      `${what[0].toUpperCase()}${what.slice(1)} and its other rules are kept. Alerts already raised are kept.`);
    if (!ok || !editing) return;
    try {
      await api(`/api/rules/${encodeURIComponent(rule.name)}`, { method: "DELETE" });
    } catch (error) {
      tellRule(`Rule ${rule.name} not deleted: ${error.message}`, true);
      return;
    }
    await load();
    if (!editing) return;
    const removedChosen = editing.rule && editing.rule.name === rule.name;
    if (removedChosen) {
      const [first] = rulesOf(editing.kind, editing.name);
      if (first) chooseRule(first); else newRule();
    } else {
      listRules();
    }
    tellRule(`Deleted rule ${rule.name}.`);
  }

  function startEditing(item) {
    const definition = item.definition;
    const [rule] = rulesOf(item.kind, item.name).filter((r) => r.definition);
    editing = { kind: item.kind, name: item.name, item, rule: rule || null };
    shape.value = item.kind;
    setShape();
    points.push(...(item.kind === "zone" ? definition.polygon : definition.points).map((p) => [...p]));
    name.value = item.name;
    ruleName.value = rule ? rule.name : "";
    if (rule) showRule(rule.definition);
    // A saved one keeps its name, camera and shape; its rule keeps its name.
    for (const input of [name, select, shape]) input.disabled = true;
    ruleName.disabled = Boolean(rule);
    saveButton.textContent = `Save changes to ${item.kind} ${item.name}`;
    cancelButton.hidden = false;
    message.textContent = `Editing ${item.kind} ${item.name}: drag its points, pick one of its rules or add one, then save.`;
    message.className = "meta";
    tellRule(rule ? `Rule ${rule.name} is in the fields.` : "No rule yet: name one to add it.");
    listShapes();
    listRules();
    draw();
    picture.scrollIntoView({ block: "nearest" });
  }

  function stopEditing() {
    editing = null;
    for (const input of [name, select, shape, ruleName]) input.disabled = false;
    name.value = "";
    ruleName.value = "";
    saveButton.textContent = "Save";
    cancelButton.hidden = true;
    tellRule("");
    setShape();
    listShapes();
    listRules();
  }

  async function remove(item) {
    const rules = rulesOf(item.kind, item.name).map((r) => r.name);
    const what = `${item.kind} ${item.name}`;
    const ok = await confirmDialog(`Delete ${what}?`, rules.length
      ? `Its ${rules.length === 1 ? "rule" : "rules"} ${rules.join(", ")} will be deleted first. Alerts already raised are kept.`
      : "Alerts already raised are kept.");
    if (!ok) return;
    const deleted = [];
    try {
      // The API refuses to delete a zone or line that a rule still uses.
      for (const rule of rules) {
        await api(`/api/rules/${encodeURIComponent(rule)}`, { method: "DELETE" });
        deleted.push(`rule ${rule}`);
      }
      await api(`/api/${item.kind}s/${encodeURIComponent(item.name)}`, { method: "DELETE" });
      deleted.push(what);
      message.textContent = `Deleted ${deleted.join(" and ")}.`;
      message.className = "meta";
    } catch (error) {
      message.textContent = `${what} not deleted: ${error.message}`
        + (deleted.length ? ` (deleted before that: ${deleted.join(", ")})` : "");
      message.className = "error";
    }
    if (editing && editing.kind === item.kind && editing.name === item.name) {
      const text = [message.textContent, message.className];
      stopEditing();
      [message.textContent, message.className] = text;
    }
    load();
  }
  overlay.addEventListener("pointermove", (event) => {
    if (dragging === null) return;
    points[dragging] = where(event);
    draw();
  });
  overlay.addEventListener("pointerup", () => {
    if (dragging !== null) quietUntil = Date.now() + 400;
    dragging = null;
  });
  overlay.addEventListener("click", (event) => {
    if (Date.now() < quietUntil) return;
    if (shape.value === "line" && points.length >= 2) {
      message.textContent = "A line has two ends: drag one to move it, or Clear to start again.";
      message.className = "error";
      return;
    }
    points.push(where(event));
    draw();
  });
  select.addEventListener("change", () => { points.length = 0; editing = null; load(); });
  shape.addEventListener("change", setShape);
  kind.addEventListener("change", showKindFields);
  direction.addEventListener("change", draw);
  scheduled.addEventListener("change", () => { scheduleBox.hidden = !scheduled.checked; });

  function ruleBody(target) {
    const body = {
      name: ruleName.value.trim(), kind: kind.value, ...target,
      classes: classes.value.split(",").map((c) => c.trim()).filter(Boolean),
      cooldown: numberOf(cooldown) ?? 0,
    };
    const fields = fieldsOf[kind.value];
    if (fields.includes("dwell")) body.min_dwell = numberOf(dwell);
    if (fields.includes("limit")) body.limit_s = numberOf(limit);
    if (fields.includes("maxObjects")) body.max_objects = numberOf(maxObjects);
    if (fields.includes("direction")) body.direction = direction.value;
    if (scheduled.checked) {
      body.schedule = {
        timezone: timezone.value.trim() || "UTC",
        windows: [{ days: days.filter((box) => box.checked).map((box) => box.value), start: start.value, end: end.value }],
      };
    }
    return body;
  }

  // The rule's body for a PUT: the saved rule with the form's fields over it.
  function changedRule(rule, target) {
    const body = { ...rule.definition, ...ruleBody(target) };
    if (!scheduled.checked) body.schedule = null;
    return body;
  }

  async function saveChanges() {
    const { kind: kindOf, name: shapeName, item, rule } = editing;
    const path = `/api/${kindOf}s/${encodeURIComponent(shapeName)}`;
    const target = { [kindOf]: shapeName };
    const shapeBody = { ...item.definition, [kindOf === "zone" ? "polygon" : "points"]: points };
    const noun = kindOf === "zone" ? "Zone" : "Line";
    // Said under the picture and beside the rule fields alike.
    const refused = (error) => {
      message.textContent = `Not saved: ${error.message}`;
      message.className = "error";
      tellRule(message.textContent, true);
    };
    try {
      await api(path, { method: "PUT", body: shapeBody });
    } catch (error) {
      refused(error);
      return;
    }
    let text = `${noun} ${shapeName} saved.`;
    const added = ruleName.value.trim();
    try {
      if (rule) await api(`/api/rules/${encodeURIComponent(rule.name)}`, { method: "PUT", body: changedRule(rule, target) });
      else if (added) await api("/api/rules", { method: "POST", body: ruleBody(target) });
      if (rule || added) text += ` Rule ${rule ? rule.name : added} saved.`;
    } catch (error) {
      // The shape and its rule change together or not at all.
      try { await api(path, { method: "PUT", body: item.definition }); } catch { /* kept */ }
      refused(error);
      return;
    }
    stopEditing();
    message.textContent = text;
    message.className = "meta";
    load();
  }

  async function save(event) {
    event.preventDefault();
    if (editing) { await saveChanges(); return; }
    const isLine = shape.value === "line";
    if (!isLine && points.length < 3) {
      message.textContent = `The zone has ${points.length} points; a polygon needs at least 3. Nothing was saved.`;
      message.className = "error";
      return;
    }
    if (isLine && points.length !== 2) {
      message.textContent = `The line has ${points.length} ends; it needs 2. Nothing was saved.`;
      message.className = "error";
      return;
    }
    const noun = isLine ? "Line" : "Zone";
    const path = isLine ? "/api/lines" : "/api/zones";
    const shapeName = name.value.trim();
    try {
      await api(path, { method: "POST", body: isLine
        ? { name: shapeName, camera: select.value, points }
        : { name: shapeName, camera: select.value, polygon: points } });
    } catch (error) {
      message.textContent = `Not saved: ${error.message}`;
      message.className = "error";
      return;
    }
    let text = `${noun} ${shapeName} saved.`;
    if (ruleName.value.trim()) {
      try {
        await api("/api/rules", { method: "POST", body: ruleBody(isLine ? { line: shapeName } : { zone: shapeName }) });
        text += ` Rule ${ruleName.value.trim()} saved.`;
      } catch (error) {
        // The zone or line and its rule are saved together or not at all.
        try { await api(`${path}/${encodeURIComponent(shapeName)}`, { method: "DELETE" }); } catch { /* kept */ }
        message.textContent = `Not saved: ${error.message}`;
        message.className = "error";
        return;
      }
    }
    message.textContent = text;
    message.className = "meta";
    points.length = 0;
    load();
  }

  main.replaceChildren(h("h1", {}, "Zones"),
    h("div", { class: "detail" },
      h("div", {}, h("div", { class: "editor" }, picture, overlay), message,
        h("section", { class: "panel", "aria-labelledby": "saved-title" },
          h("h2", { id: "saved-title" }, "Saved zones and lines"), savedList)),
      h("form", { class: "stack panel", onsubmit: save },
        h("label", { for: "zone-camera" }, "Camera"), select,
        h("label", { for: "draw-shape" }, "Draw"), shape,
        h("div", { class: "actions" },
          h("button", { type: "button", onclick: () => { points.pop(); draw(); } }, "Undo point"),
          h("button", { type: "button", onclick: () => { points.length = 0; draw(); } }, "Clear"),
          h("button", { type: "button", onclick: load }, "New frame")),
        nameLabel, name, rulesBox,
        h("label", { for: "rule-name" }, "Rule name (optional: no rule without it)"), ruleName,
        h("label", { for: "rule-kind" }, "Rule kind"), kind,
        h("label", { for: "rule-classes" }, "Object classes (comma-separated)"), classes, classNames,
        kindFields.dwell, kindFields.limit, kindFields.maxObjects, kindFields.direction,
        h("label", { for: "rule-cooldown" }, "Cooldown after an alert (s)"), cooldown,
        h("label", { for: "rule-scheduled" }, scheduled, " Armed only on a weekly schedule"), scheduleBox,
        h("div", { class: "actions" }, saveButton, cancelButton))));
  picture.addEventListener("load", draw, { once: true });
  setShape();
  load();
}

// The values GET /api/events allows for colours and directions of travel.
const COLOURS = ["black", "white", "grey", "red", "orange", "yellow", "green", "blue", "purple", "pink", "brown"];
const TRAVEL = ["left", "right", "towards", "away", "stationary"];

function choices(id, anyText, values) {
  return h("select", { id }, h("option", { value: "" }, anyText), values.map((v) => h("option", { value: v }, v)));
}

async function searchPage() {
  const query = h("input", { id: "search-q", size: 40, placeholder: "e.g. person on plaza after 18:00" });
  const camera = choices("search-camera", "any camera", []);
  const label = h("input", { id: "search-label", size: 10, list: "search-labels", placeholder: "any" });
  const labels = h("datalist", { id: "search-labels" },
    ["person", "car", "truck", "bus", "bicycle", "motorcycle", "dog"].map((c) => h("option", { value: c })));
  const upper = choices("search-upper", "any", COLOURS);
  const lower = choices("search-lower", "any", COLOURS);
  const travel = choices("search-direction", "any", TRAVEL);
  const since = h("input", { id: "search-since", type: "datetime-local", step: 1 });
  const until = h("input", { id: "search-until", type: "datetime-local", step: 1 });
  const minScore = h("input", { id: "search-min-score", type: "number", min: 0, max: 1, step: 0.05, size: 5 });
  const hasClip = h("input", { id: "search-has-clip", type: "checkbox" });
  const field = (input, text) => h("label", { class: "field", for: input.id }, text, " ", input);
  const filters = h("fieldset", { class: "filters actions", "aria-label": "Filters" },
    field(camera, "Camera"), field(label, "Object"), labels,
    field(upper, "Upper colour"), field(lower, "Lower colour"), field(travel, "Direction"),
    field(since, "Since"), field(until, "Until"), field(minScore, "Score at least"),
    h("label", { class: "field", for: hasClip.id }, hasClip, " Has footage"));
  loadCameras().then((known) => {
    camera.append(...known.map((c) => h("option", { value: c.name }, c.name)));
  }).catch(() => {});
  const results = h("ul", { id: "search-results", class: "results", "aria-label": "Events found, newest first" });
  const summary = h("p", { id: "search-summary", class: "meta", role: "status" });
  const player = h("section", { id: "search-player", class: "panel", "aria-label": "Footage", hidden: true });
  const journey = h("section", { id: "journey", class: "panel", "aria-label": "Journey", hidden: true });

  function play(url, title) {
    const video = h("video", { src: url, controls: true, autoplay: true, muted: true, preload: "auto", "aria-label": title });
    video.muted = true; // the attribute alone does not mute a video made by script
    video.addEventListener("error", () => {
      // Footage is served once recorded segments cover its time.
      player.append(h("p", { class: "error" }, `${title} cannot be played yet: it is not recorded, or not all of it.`));
    });
    player.replaceChildren(h("h2", {}, title), video);
    player.hidden = false;
    player.scrollIntoView({ block: "nearest" });
  }

  async function showJourney(identityId) {
    journey.hidden = false;
    journey.replaceChildren(h("h2", {}, `Journey of identity ${identityId}`), h("p", {}, "Loading…"));
    let answer;
    try { answer = await api(`/api/identities/${identityId}/journey`); } catch (error) {
      journey.replaceChildren(h("h2", {}, `Journey of identity ${identityId}`), h("p", { class: "error" }, error.message));
      return;
    }
    const stops = answer.appearances;
    const first = Math.min(...stops.map((a) => Date.parse(a.start)));
    const last = Math.max(...stops.map((a) => Date.parse(a.end)));
    const span = Math.max(last - first, 1);
    // Each appearance sits on the time line where it starts, as wide as it lasts.
    const marks = [];
    const strip = stops.map((stop) => {
      const title = `Footage of identity ${identityId} on ${stop.camera}`;
      const left = ((Date.parse(stop.start) - first) / span) * 100;
      const width = Math.max(((Date.parse(stop.end) - Date.parse(stop.start)) / span) * 100, 1);
      marks.push(h("span", {
        class: "mark",
        style: `left: ${left.toFixed(2)}%; width: ${width.toFixed(2)}%`,
        title: `${stop.camera}, ${formatTime(stop.start)}`,
      }));
      return h("li", { class: "stop", "data-track": stop.track_id },
        stop.snapshot_url
          ? h("img", { src: stop.snapshot_url, alt: `Snapshot of track ${stop.track_id} on ${stop.camera}`, loading: "lazy" })
          : h("span", { class: "meta" }, "no snapshot"),
        h("strong", {}, stop.camera),
        h("span", { class: "meta" }, timeNode(stop.start), " – ", timeNode(stop.end, false)),
        h("button", { type: "button", "data-play": stop.track_id, onclick: () => play(stop.footage_url, title) }, "Play"));
    });
    journey.replaceChildren(
      h("h2", {}, `Journey of identity ${identityId}`),
      h("p", { class: "meta" }, `${answer.identity.label}, seen by ${answer.identity.cameras.join(", ")} from `,
        timeNode(answer.identity.first_seen), " to ", timeNode(answer.identity.last_seen)),
      h("div", { class: "time-line", "aria-hidden": "true" }, marks),
      h("ol", { class: "journey", "aria-label": "Appearances in time order" }, strip));
  }

  function result(event) {
    const title = `Footage of ${event.label} on ${event.camera}`;
    const url = event.footage && event.footage.url;
    return h("li", { class: "result", "data-event": event.id },
      h("button", {
        type: "button",
        class: "pick",
        disabled: !url,
        "aria-label": `${event.label} ${event.kind} on ${event.camera}, ${formatTime(event.time)}: play its footage`,
        onclick: () => play(url, title),
      },
      event.snapshot_url
        ? h("img", { src: event.snapshot_url, alt: `Snapshot of event ${event.id}`, loading: "lazy" })
        : h("span", { class: "meta no-snapshot" }, "no snapshot"),
      h("span", {}, timeNode(event.time)),
      h("span", { class: "meta" }, `${event.camera} · ${event.label} ${event.kind}`)),
      event.identity_id !== null && event.identity_id !== undefined
        ? h("button", { type: "button", class: "link", "data-journey": event.identity_id, onclick: () => showJourney(event.identity_id) },
          `Journey of identity ${event.identity_id}`)
        : null);
  }

  async function run(event) {
    event?.preventDefault();
    const params = new URLSearchParams({ limit: "50" });
    if (query.value.trim()) params.set("q", query.value.trim());
    // The filters take precedence over what the text says.
    if (camera.value) params.set("camera", camera.value);
    if (label.value.trim()) params.set("label", label.value.trim().toLowerCase());
    if (upper.value) params.set("upper_colour", upper.value);
    if (lower.value) params.set("lower_colour", lower.value);
    if (travel.value) params.set("direction", travel.value);
    // datetime-local gives this browser's local time; the API takes an offset.
    if (since.value) params.set("since", new Date(since.value).toISOString());
    if (until.value) params.set("until", new Date(until.value).toISOString());
    if (minScore.value.trim()) params.set("min_score", minScore.value.trim());
    if (hasClip.checked) params.set("has_clip", "true");
    params.set("timezone", state.timeZone || Intl.DateTimeFormat().resolvedOptions().timeZone);
    try {
      const page = await api(`/api/events?${params}`);
      results.replaceChildren(...page.items.map(result));
      summary.textContent = page.items.length
        ? `${page.items.length} events${page.next ? " (more on later pages)" : ""}.`
        : "No events match.";
      if (page.interpreted && page.interpreted.unused.length) {
        summary.textContent += ` Not understood: ${page.interpreted.unused.join(", ")}.`;
      }
      summary.className = "meta";
    } catch (error) {
      results.replaceChildren();
      summary.textContent = error.message;
      summary.className = "error";
    }
  }
  main.replaceChildren(h("h1", {}, "Search events"),
    h("form", { class: "actions", onsubmit: run, role: "search" },
      h("label", { for: "search-q" }, "Search"), query, h("button", { type: "submit", class: "primary" }, "Search"),
      filters),
    summary, player, journey, results);
  run();
}

// ---- routing and keys ------------------------------------------------------------

function route() {
  const [, page = "live", id] = location.hash.split("/");
  const pages = {
    live: () => livePage(),
    alerts: () => (id ? alertPage(Number(id)) : livePage()),
    incidents: () => (id ? incidentPage(Number(id)) : incidentsPage()),
    zones: () => zonesPage(),
    search: () => searchPage(),
  };
  state.page = page === "alerts" && id ? "alert" : page in pages ? page : "live";
  const current = state.page === "alert" ? "live" : state.page;
  for (const link of document.querySelectorAll(".bar nav a")) {
    if (link.dataset.page === current) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  (pages[page] || pages.live)();
}

document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  if (event.target.closest("input, textarea, select, dialog")) return;
  if (state.page !== "live" && state.page !== "alert") return;
  const id = state.page === "alert" ? shownAlert : state.selected;
  const verbs = { a: "acknowledge", d: "dismiss", r: "resolve", e: "escalate" };
  if (verbs[event.key] && id !== null) {
    event.preventDefault();
    const alert = state.alerts.find((a) => a.id === id);
    if (alert && !(MOVES[alert.status] || []).includes(verbs[event.key])) {
      toast(`${alertLabel(alert)} is ${alert.status}: it cannot be ${verbs[event.key]}ed from here.`, true);
      return;
    }
    act(id, verbs[event.key]);
  } else if (state.page === "live" && (event.key === "j" || event.key === "k" || event.key === "ArrowDown" || event.key === "ArrowUp")) {
    if (!state.alerts.length) return;
    event.preventDefault();
    const at = Math.max(0, state.alerts.findIndex((a) => a.id === state.selected));
    const step = event.key === "j" || event.key === "ArrowDown" ? 1 : -1;
    state.selected = state.alerts[Math.min(state.alerts.length - 1, Math.max(0, at + step))].id;
    renderFeed();
    document.querySelector(`[data-alert="${state.selected}"] .pick`)?.focus();
  } else if (state.page === "live" && event.key === "Enter" && state.selected !== null && !event.target.closest("button, a")) {
    location.hash = `#/alerts/${state.selected}`;
  }
});

async function start() {
  // Times in the site's time zone when the site file sets one (or ?tz=).
  try {
    const health = await api("/api/health");
    if (!state.timeZone && health.timezone) state.timeZone = health.timezone;
  } catch (error) {
    // The browser's time zone will do.
  }
  const name = document.getElementById("operator");
  name.value = localStorage.getItem("watchfloor.operator") || "operator";
  name.addEventListener("change", () => localStorage.setItem("watchfloor.operator", name.value.trim()));
  const sound = document.getElementById("sound");
  sound.checked = localStorage.getItem("watchfloor.sound") === "on";
  sound.addEventListener("change", () => localStorage.setItem("watchfloor.sound", sound.checked ? "on" : "off"));
  api("/openapi.json").then((spec) => {
    if (spec.paths && spec.paths["/api/events"]) document.getElementById("nav-search").hidden = false;
  }).catch(() => {});
  window.addEventListener("hashchange", route);
  route();
  connectLive();
}

start();
