// The scanner page: setup, scans online through POST /v1/scans, offline from the last trusted gate bundle, and the
// upload of what it let through offline (POST /v1/scans/batch) once the API answers again. README.md beside this
// folder says what the page trusts.

import { api, Unreachable } from "./api.js";
import { Camera } from "./camera.js";
import { signal, unlockSound } from "./feedback.js";
import { clearDisputes, disputes, flush, pendingCount, remember, seenSince } from "./journal.js";
import { allowsReentry, decide, pyStrip } from "./offline.js";
import { forgetEverything, kv, settings } from "./store.js";
import { Trust } from "./trust.js";
import { addHistory, describe, message, refusalText, showAnswer, showDisputes, showStatus } from "./ui.js";

const $ = (id) => document.getElementById(id);
const LET_THROUGH = new Set(["admitted", "exited"]);
const BUNDLE_EVERY_MS = 60_000;
const PROBE_EVERY_MS = 5_000;

const state = {
  online: navigator.onLine !== false,
  problem: "",
  direction: settings.get("direction", "entry"),
};
const trust = new Trust();
let camera = null;

const token = () => settings.get("token");
const eventId = () => settings.get("event");
const gateName = () => settings.get("gate", "gate-1");

async function render() {
  showStatus({
    online: state.online,
    bundleAt: trust.bundle && trust.bundle.generated_at,
    pending: await pendingCount(),
    problem: state.problem,
  });
  const reentry = allowsReentry(trust.bundle);
  $("direction").hidden = !reentry;
  if (!reentry) state.direction = "entry";
  for (const button of document.querySelectorAll("button[data-direction]")) {
    button.setAttribute("aria-pressed", String(button.dataset.direction === state.direction));
  }
  const events = (await kv.get("events")) || [];
  const chosen = events.find((e) => e.id === eventId());
  $("event-name").textContent = chosen ? chosen.name : trust.bundle ? trust.bundle.event.name : "No event chosen";
  document.body.dataset.direction = state.direction;
  document.body.dataset.configured = token() && eventId() ? "yes" : "no";
  if ($("answer").dataset.kind === "idle") {
    const ready = token() && eventId();
    $("answer-title").textContent = ready ? "Ready" : "Set up this gate";
    $("answer-detail").textContent = ready
      ? "Show a ticket's QR code to the camera, or type its code."
      : "Paste a scanner token, name the gate and choose the event below.";
  }
  showDisputes(await disputes());
}

// --- online and offline ----------------------------------------------------------------------------------------

function goOffline(why) {
  if (state.online) console.info("offline:", why);
  state.online = false;
  render();
}

async function goOnline() {
  state.online = true;
  await refresh();
}

async function refresh() {
  state.problem = "";
  try {
    await trust.trustKeys(await api.keys());
    if (token()) {
      await kv.put("events", await api.events(token()));
      await flushJournal();
      if (eventId()) {
        const started = Date.now();
        await trust.store(await api.bundle(token(), eventId()), started, eventId());
      }
    }
  } catch (error) {
    if (error instanceof Unreachable) goOffline(error.message);
    else state.problem = refusalText(error);
  }
  await fillEvents();
  await render();
}

async function probe() {
  if (state.online) return;
  try {
    await api.alive();
    await goOnline();
  } catch {
    // still offline
  }
}

async function flushJournal() {
  const done = await flush(token());
  if (done.problem) state.problem = done.problem;
  if (done.uploaded) message(`Uploaded ${done.uploaded} offline scan(s)`);
}

// --- a scan ----------------------------------------------------------------------------------------------------

function looksLikePayload(text) {
  return pyStrip(text).toUpperCase().startsWith("BX");
}

async function answerOffline(text) {
  if (!looksLikePayload(text)) {
    return { answer: { result: "cannot_check", detail: "Typed codes need the network: scan the QR code" } };
  }
  if (!trust.gate) {
    return { answer: { result: "cannot_check", detail: "No gate bundle on this device: connect once to fetch it" } };
  }
  const verdict = await trust.gate.verify(text, new Date());
  const seen = await seenSince(eventId(), trust.bundle, trust.fetchedAt);
  const answer = decide(verdict, state.direction, trust.bundle, seen);
  if (LET_THROUGH.has(answer.result)) {
    const at = new Date().toISOString();
    await remember({
      id: crypto.randomUUID(),
      event_id: eventId(),
      gate_id: gateName(),
      direction: state.direction,
      payload: pyStrip(text),
      ticket_id: answer.ticket_id,
      scanned_at: at,
      result: answer.result,
      pending: true,
    });
  }
  return { answer, offline: true };
}

async function answerOnline(text, typed) {
  const named = typed && !looksLikePayload(text) ? { ticket_code: text } : { payload: text };
  await flushJournal(); // the server first learns what this device let through offline
  const body = { event_id: eventId(), gate_id: gateName(), direction: state.direction, ...named };
  const answer = await api.scan(token(), body);
  if (answer.ticket_id && ["admitted", "already_admitted", "exited"].includes(answer.result)) {
    const { ticket_id, result, first_scanned_at, first_gate_id, last_scanned_at, last_gate_id, inside } = answer;
    await remember({
      ...{ id: crypto.randomUUID(), event_id: eventId(), gate_id: gateName(), direction: state.direction },
      ...{ ticket_id, result, first_scanned_at, first_gate_id, last_scanned_at, last_gate_id, inside },
      ...{ scanned_at: answer.scanned_at, pending: false, uploadedAt: Date.now() },
    });
  }
  return { answer };
}

async function handle(text, typed = false) {
  if (!eventId() || !token()) {
    $("setup").open = true;
    message("Paste a scanner token and choose the event first", true);
    return;
  }
  let outcome = null;
  if (state.online) {
    try {
      outcome = await answerOnline(text, typed);
    } catch (error) {
      if (!(error instanceof Unreachable)) {
        const card = { kind: "stop", title: "Not checked", detail: refusalText(error), meta: [] };
        showAnswer(card);
        signal("invalid");
        return;
      }
      goOffline(error.message);
    }
  }
  outcome ||= await answerOffline(text);
  const card = describe(outcome.answer, { offline: outcome.offline, bundleAt: trust.bundle?.generated_at });
  showAnswer(card);
  addHistory(card);
  signal(outcome.answer.result);
  await render();
}

// --- the page's controls ---------------------------------------------------------------------------------------

async function fillEvents() {
  const events = (await kv.get("events")) || [];
  const select = $("event");
  const options = events.map((e) => new Option(`${e.name} · ${new Date(e.starts_at).toLocaleDateString()}`, e.id));
  select.replaceChildren(new Option("Choose the event…", ""), ...options);
  select.value = eventId();
}

function wire() {
  $("token").value = token();
  $("gate").value = gateName();
  $("setup").open = !token() || !eventId();

  $("setup-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    unlockSound();
    settings.set("token", $("token").value.trim());
    settings.set("gate", $("gate").value.trim() || "gate-1");
    const chosen = $("event").value;
    if (chosen !== eventId()) settings.set("event", chosen);
    state.problem = (await trust.loadStored(eventId())) || "";
    message("Saved");
    await refresh();
    if (token() && eventId() && !state.problem) $("setup").open = false;
  });
  $("event").addEventListener("change", async () => {
    settings.set("event", $("event").value);
    state.problem = (await trust.loadStored(eventId())) || "";
    await refresh();
    if (token() && eventId() && !state.problem) $("setup").open = false;
  });
  $("refresh").addEventListener("click", async () => {
    state.online = true;
    await refresh();
    message(state.online ? "Gate bundle refreshed" : "The API cannot be reached", !state.online);
  });
  $("bundle-file").addEventListener("change", async (event) => {
    const [file] = event.target.files;
    if (!file) return;
    try {
      const bundle = JSON.parse(await file.text());
      if (!eventId()) settings.set("event", bundle.event_id);
      await trust.store(bundle, Date.parse(bundle.generated_at), eventId());
      message(`Gate bundle of ${new Date(bundle.generated_at).toLocaleString()} loaded from the file`);
    } catch (error) {
      message(`This file was refused: ${error.reason || error.message}`, true);
    }
    event.target.value = "";
    await render();
  });
  $("forget").addEventListener("click", async () => {
    await forgetEverything();
    location.reload();
  });
  $("code-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    unlockSound();
    const text = $("code").value.trim();
    if (!text) return;
    $("code").value = "";
    await handle(text, true);
  });
  for (const button of document.querySelectorAll("button[data-direction]")) {
    button.addEventListener("click", () => {
      state.direction = button.dataset.direction;
      settings.set("direction", state.direction);
      render();
    });
  }
  $("camera-toggle").addEventListener("click", async () => {
    unlockSound();
    await toggleCamera(!camera.running);
  });
  $("rescan").addEventListener("click", () => camera.rearm());
  $("clear-disputes").addEventListener("click", async () => {
    await clearDisputes();
    await render();
  });
  window.addEventListener("online", probe);
  window.addEventListener("offline", () => goOffline("the device lost its network"));
}

async function toggleCamera(on) {
  const button = $("camera-toggle");
  try {
    if (on) {
      button.textContent = "Starting…";
      await camera.start();
      $("decoder").textContent = camera.decoder.name;
    } else {
      camera.stop();
    }
    settings.set("camera", on ? "on" : "");
  } catch (error) {
    message(`The camera could not start: ${error.message}`, true);
  }
  button.textContent = camera.running ? "Stop camera" : "Start camera";
  document.body.dataset.camera = camera.running ? "on" : "off";
}

async function start() {
  const version = document.querySelector('meta[name="gate-version"]').content;
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register(`/gate/sw.js?v=${version}`, { scope: "/gate" }).catch((error) => {
      console.warn("no offline copy of the page", error);
    });
  }
  camera = new Camera($("video"), (text) => handle(text));
  wire();
  await trust.loadKeys();
  state.problem = (await trust.loadStored(eventId())) || "";
  await fillEvents();
  await render();
  if (state.online) await refresh();
  if (settings.get("camera") === "on") await toggleCamera(true);
  setInterval(probe, PROBE_EVERY_MS); // offline: is the API back?
  setInterval(() => state.online && refresh(), BUNDLE_EVERY_MS);
  setInterval(render, 15_000);
  document.body.dataset.ready = "yes";
}

start();
