// The status drawer: presync's directory with live presence, search, a
// presence filter, click-to-dial and a person's decision journal. Plain
// JavaScript against presync's /v1 API on the same origin; nothing is
// loaded from anywhere else.
//
// The API token is kept in sessionStorage (this tab only); it can also be
// handed over in the URL fragment (#token=...&tenant=...&agent=...), which
// the browser never sends to a server, and is removed from the address bar
// at once.
"use strict";

const PAGE = 200;
const $ = (id) => document.getElementById(id);

const state = {
  token: sessionStorage.getItem("presync.token") || "",
  tenant: localStorage.getItem("presync.tenant") || "",
  agent: localStorage.getItem("presync.agent") || "",
  query: "",
  presence: "",
  cursor: null,
  rows: new Map(), // person id -> row element
  people: new Map(), // person id -> person JSON
  lastEventId: "",
  stream: null,
  panelPerson: null,
  loadSeq: 0,
};

// -- start ---------------------------------------------------------------

function readFragment() {
  if (!location.hash || location.hash.length < 2) {
    return;
  }
  const args = new URLSearchParams(location.hash.slice(1));
  if (args.get("token")) {
    state.token = args.get("token");
    sessionStorage.setItem("presync.token", state.token);
  }
  if (args.get("tenant")) {
    state.tenant = args.get("tenant");
    localStorage.setItem("presync.tenant", state.tenant);
  }
  if (args.get("agent")) {
    state.agent = args.get("agent");
    localStorage.setItem("presync.agent", state.agent);
  }
  history.replaceState(null, "", location.pathname + location.search);
}

async function start() {
  readFragment();
  $("token").value = state.token;
  $("agent").value = state.agent;
  bindControls();
  if (!state.token) {
    showMessage("Enter the API token in Settings.");
    $("settings").open = true;
    return;
  }
  await chooseTenant();
  if (state.tenant) {
    await reload();
  }
}

function bindControls() {
  let timer = null;
  $("search").addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      state.query = $("search").value.trim();
      reload();
    }, 200);
  });
  $("presence").addEventListener("change", () => {
    state.presence = $("presence").value;
    reload();
  });
  $("more").addEventListener("click", () => loadPage(false));
  $("close-panel").addEventListener("click", closePanel);
  $("settings-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    state.token = $("token").value.trim();
    sessionStorage.setItem("presync.token", state.token);
    state.agent = $("agent").value.trim();
    localStorage.setItem("presync.agent", state.agent);
    if ($("tenant").value) {
      state.tenant = $("tenant").value;
      localStorage.setItem("presync.tenant", state.tenant);
    }
    $("settings").open = false;
    await chooseTenant();
    await reload();
  });
}

// -- API -----------------------------------------------------------------

async function api(path, options = {}) {
  const headers = Object.assign({ Authorization: "Bearer " + state.token },
                                options.headers || {});
  const res = await fetch(path, Object.assign({}, options, { headers }));
  let body = null;
  const type = res.headers.get("Content-Type") || "";
  if (type.startsWith("application/json")) {
    body = await res.json();
  } else {
    body = await res.text();
  }
  if (res.status === 401) {
    $("settings").open = true;
    throw new Error("The API token was not accepted.");
  }
  return { status: res.status, body };
}

function tenantPath(rest) {
  return "/v1/tenants/" + encodeURIComponent(state.tenant) + rest;
}

async function chooseTenant() {
  try {
    const { status, body } = await api("/v1/tenants");
    if (status !== 200) {
      showMessage("Could not list tenants (" + status + ").");
      return;
    }
    const select = $("tenant");
    select.textContent = "";
    for (const t of body.tenants) {
      const o = document.createElement("option");
      o.value = t.id;
      o.textContent = t.id + (t.ready ? "" : " (starting)");
      select.appendChild(o);
    }
    const ids = body.tenants.map((t) => t.id);
    if (!ids.includes(state.tenant)) {
      state.tenant = ids[0] || "";
    }
    select.value = state.tenant;
  } catch (e) {
    showMessage(e.message);
  }
}

// -- the list ------------------------------------------------------------

async function reload() {
  state.cursor = null;
  await loadPage(true);
}

async function loadPage(fresh) {
  const seq = ++state.loadSeq;
  const args = new URLSearchParams({ limit: String(PAGE) });
  if (state.query) {
    args.set("q", state.query);
  }
  if (state.presence) {
    args.set("presence", state.presence);
  }
  if (!fresh && state.cursor) {
    args.set("cursor", state.cursor);
  }
  let answer;
  try {
    answer = await api(tenantPath("/directory?" + args));
  } catch (e) {
    showMessage(e.message);
    return;
  }
  if (seq !== state.loadSeq) {
    return; // a newer search started meanwhile
  }
  const { status, body } = answer;
  if (status === 503) {
    showMessage("presync is still starting; retrying…");
    setTimeout(() => reload(), 2000);
    return;
  }
  if (status !== 200) {
    showMessage((body && body.error) || "Error " + status);
    return;
  }
  if (fresh) {
    $("people").textContent = "";
    state.rows.clear();
    state.people.clear();
  }
  for (const p of body.people) {
    addRow(p);
  }
  state.cursor = body.next_cursor;
  $("more").hidden = !body.next_cursor;
  $("count").textContent = body.total + (body.total === 1 ? " person" : " people");
  showMessage(body.total === 0 ? "Nobody matches." : "");

  // The first page also (re)starts the live stream from the moment it
  // was read, so no change falls between the two.
  if (fresh) {
    startStream(body.events_from);
  }
}

function addRow(p) {
  const row = $("row").content.firstElementChild.cloneNode(true);
  row.dataset.person = p.id;
  row.querySelector(".name").textContent = p.display_name;
  row.querySelector(".name").addEventListener("click", () => openPanel(p.id));
  const badges = row.querySelector(".badges");
  if (p.teams) {
    badges.appendChild(badge("Teams", "teams"));
  }
  if (p.connect) {
    badges.appendChild(badge("Connect", "connect"));
  }
  row.querySelector(".email").textContent = p.email || "";
  row.querySelector(".number").textContent = p.number || "";
  const call = row.querySelector(".call");
  if (p.dialable) {
    call.title = "Call " + p.number;
    call.addEventListener("click", () => placeCall(p, call));
  } else {
    call.disabled = true;
    call.title = p.not_dialable_reason || "No dialable number";
  }
  $("people").appendChild(row);
  state.rows.set(p.id, row);
  state.people.set(p.id, p);
  showState(row, p.state);
}

function badge(text, kind) {
  const b = document.createElement("span");
  b.className = "badge " + kind;
  b.textContent = text;
  return b;
}

function describeState(s) {
  const parts = [];
  if (s.teams) {
    parts.push(s.teams.availability + (s.teams.activity &&
      s.teams.activity !== s.teams.availability ? " · " + s.teams.activity : ""));
  }
  if (s.connect_state) {
    parts.push("Connect: " + s.connect_state);
  }
  return parts.join(" — ") || "unknown";
}

function showState(row, s) {
  const dot = row.querySelector(".dot");
  dot.dataset.presence = s.presence;
  dot.title = s.presence;
  row.querySelector(".state").textContent = describeState(s);
  row.dataset.presence = s.presence;
  // With a presence filter, a person who no longer matches is hidden.
  row.classList.toggle("hidden",
                       state.presence !== "" && s.presence !== state.presence);
}

// -- live presence -------------------------------------------------------

function setLive(on) {
  const live = $("live");
  live.textContent = on ? "live" : "reconnecting";
  live.className = "live " + (on ? "on" : "off");
}

function startStream(from) {
  if (state.stream) {
    state.stream.abort();
  }
  state.lastEventId = from || "";
  const ctrl = new AbortController();
  state.stream = ctrl;
  readStream(ctrl);
}

// EventSource cannot send an Authorization header, so the stream is read
// with fetch and parsed here (text/event-stream framing).
async function readStream(ctrl) {
  let retry = 3000;
  while (!ctrl.signal.aborted) {
    try {
      const headers = { Authorization: "Bearer " + state.token };
      if (state.lastEventId) {
        headers["Last-Event-ID"] = state.lastEventId;
      }
      const res = await fetch(tenantPath("/directory/events"),
                              { headers, signal: ctrl.signal });
      if (res.status !== 200 || !res.body) {
        throw new Error("stream answered " + res.status);
      }
      setLive(true);
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) {
          break;
        }
        buffer += decoder.decode(value, { stream: true });
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const r = handleBlock(block);
          if (r) {
            retry = r;
          }
        }
      }
    } catch (e) {
      if (ctrl.signal.aborted) {
        return;
      }
    }
    setLive(false);
    await new Promise((done) => setTimeout(done, retry));
  }
}

function handleBlock(block) {
  let event = "message";
  let data = "";
  let retry = 0;
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) {
      continue; // a comment: heartbeat
    }
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "id") {
      state.lastEventId = value;
    } else if (field === "event") {
      event = value;
    } else if (field === "data") {
      data += (data ? "\n" : "") + value;
    } else if (field === "retry" && /^\d+$/.test(value)) {
      retry = Number(value);
    }
  }
  if (event === "presence" && data) {
    onPresence(JSON.parse(data));
  } else if (event === "directory" || event === "reset") {
    scheduleReload();
  }
  return retry;
}

function onPresence(change) {
  const row = state.rows.get(change.person);
  if (row) {
    const p = state.people.get(change.person);
    p.state = change.state;
    showState(row, change.state);
  } else if (state.presence !== "" && !state.query &&
             change.state.presence === state.presence) {
    // Someone not listed now matches the presence filter.
    scheduleReload();
  }
  if (state.panelPerson === change.person) {
    refreshPanelSoon();
  }
}

let reloadTimer = null;
function scheduleReload() {
  clearTimeout(reloadTimer);
  reloadTimer = setTimeout(() => reload(), 500);
}

// -- calls ---------------------------------------------------------------

function newToken() {
  if (window.crypto && crypto.randomUUID) {
    return crypto.randomUUID();
  }
  return "ui-" + Date.now() + "-" + Math.floor(Math.random() * 1e9);
}

async function placeCall(p, button) {
  if (!state.agent) {
    toast("Set 'Calling as' in Settings first.", true);
    $("settings").open = true;
    return;
  }
  button.disabled = true;
  try {
    const { status, body } = await api(tenantPath("/calls"), {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ agent: state.agent, person: p.id,
                             client_token: newToken() }),
    });
    if (status === 201) {
      toast("Calling " + p.display_name + " at " + body.number + "…");
    } else {
      toast((body && (body.reason || body.error)) || "Error " + status, true);
    }
  } catch (e) {
    toast(e.message, true);
  } finally {
    button.disabled = false;
  }
}

function toast(text, error = false) {
  const t = $("toast");
  t.textContent = text;
  t.className = "toast" + (error ? " error" : "");
  t.hidden = false;
  clearTimeout(t.timer);
  t.timer = setTimeout(() => { t.hidden = true; }, 5000);
}

// -- a person's panel ----------------------------------------------------

async function openPanel(id) {
  state.panelPerson = id;
  $("panel").hidden = false;
  await refreshPanel();
}

function closePanel() {
  state.panelPerson = null;
  $("panel").hidden = true;
}

let panelTimer = null;
function refreshPanelSoon() {
  clearTimeout(panelTimer);
  panelTimer = setTimeout(refreshPanel, 300);
}

async function refreshPanel() {
  const id = state.panelPerson;
  if (!id) {
    return;
  }
  const { status, body } = await api(tenantPath("/people/" +
                                                encodeURIComponent(id)));
  if (id !== state.panelPerson) {
    return;
  }
  const root = $("panel-body");
  root.textContent = "";
  if (status !== 200) {
    root.appendChild(text("p", (body && body.error) || "Error " + status));
    return;
  }
  const p = body.person;
  root.appendChild(text("h2", p.display_name));
  const dl = document.createElement("dl");
  const add = (k, v) => {
    dl.appendChild(text("dt", k));
    dl.appendChild(text("dd", v));
  };
  add("Shows", p.state.presence);
  add("Teams", p.teams ? (p.state.teams ? p.state.teams.availability + " / " +
      p.state.teams.activity : "not read yet") : "no Teams account");
  add("Connect", p.connect ? (p.state.connect_state || "not known")
                           : "no Connect agent");
  add("Number", p.dialable ? p.number + " (" + p.number_source + ")"
                           : "not dialable: " + p.not_dialable_reason);
  if (body.sync) {
    const s = body.sync;
    add("Session", s.session || "not known yet");
    if (s.pending_writes.teams) {
      add("Pending", "Teams " + s.pending_writes.teams);
    }
    if (s.pending_writes.connect) {
      add("Pending", "Connect " + s.pending_writes.connect);
    }
    for (const h of s.holds) {
      add("Hold", h.direction.replace(/_/g, " ") + ": " + h.value +
          (h.due_in_ms !== undefined ? " in " + Math.ceil(h.due_in_ms / 1000) + " s" : ""));
    }
    if (s.deferred) {
      add("Deferred", "waits for the contact to end");
    }
    if (s.restore_to) {
      add("Restore", s.restore_to);
    }
    if (s.loop.paused_until) {
      add("Paused", "until " + s.loop.paused_until);
    }
  } else {
    add("Sync", body.sync_error || "not available");
  }
  root.appendChild(dl);

  root.appendChild(text("h2", "Decisions"));
  const table = document.createElement("table");
  table.className = "journal";
  const entries = body.journal.slice().reverse();
  if (entries.length === 0) {
    root.appendChild(text("p", "No decisions yet."));
  }
  for (const e of entries) {
    const tr = document.createElement("tr");
    tr.appendChild(text("td", new Date(e.at).toLocaleTimeString()));
    const d = text("td", e.decision);
    d.className = "decision";
    tr.appendChild(d);
    tr.appendChild(text("td", e.direction.replace(/_/g, " ")));
    tr.appendChild(text("td", e.detail));
    table.appendChild(tr);
  }
  root.appendChild(table);
}

function text(tag, value) {
  const el = document.createElement(tag);
  el.textContent = value;
  return el;
}

function showMessage(msg) {
  const m = $("message");
  m.textContent = msg;
  m.hidden = !msg;
}

start();
