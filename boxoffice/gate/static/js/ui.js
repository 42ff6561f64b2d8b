// What the door staff read: the answer in a few big words, then when and where, then the small print.

import { KIND } from "./feedback.js";

const $ = (id) => document.getElementById(id);

export function when(iso) {
  if (!iso) return "";
  const at = new Date(iso);
  const time = at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
  const today = new Date().toDateString() === at.toDateString();
  return today ? time : `${at.toLocaleDateString([], { day: "numeric", month: "short" })} ${time}`;
}

export function age(iso) {
  const seconds = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (seconds < 90) return "1 min old";
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)} min old`;
  if (seconds < 36 * 3600) return `${Math.round(seconds / 3600)} h old`;
  return `${Math.round(seconds / 86400)} days old`;
}

const REASONS = {
  voided: "Voided by the organiser",
  refunded: "Refunded: no longer valid",
  withdrawn_key: "Signed by a withdrawn key",
  bad_signature: "Not an authentic ticket: the signature does not match",
  malformed: "Not a ticket of this system",
  not_found: "No ticket with this code",
  unknown_key: "Signed by a key this gate does not know",
  reentry_not_allowed: "Single entry: it went out and may not come back in",
  never_admitted: "This ticket has not come in",
};

const TITLES = {
  admitted: "Admitted",
  already_admitted: "Already admitted",
  revoked: "Revoked",
  wrong_event: "Wrong event",
  expired: "Expired",
  invalid: "Invalid",
  exited: "Exited",
  not_inside: "Not inside",
  cannot_check: "Cannot check",
};

const ICONS = { go: "✓", out: "→", warn: "!", stop: "✕", idle: "▦" };

/** The answer card for one scan: {kind, title, detail, meta}. `ctx.offline`: decided from the bundle. */
export function describe(answer, ctx = {}) {
  const kind = answer.result === "exited" ? "out" : KIND[answer.result] || "warn"; // an exit: blue, not green
  const title = TITLES[answer.result] || answer.result;
  let detail = REASONS[answer.reason] || answer.detail || "";
  const lines = [];
  if (answer.result === "admitted") {
    if (answer.replayed) {
      detail = `Read again: this gate admitted it at ${when(answer.last_scanned_at || answer.first_scanned_at)}`;
      lines.push("Not counted as a new entry");
    } else {
      detail = answer.scan_count > 1 ? `Back in: entry no. ${answer.scan_count}` : "Let them in";
    }
  } else if (answer.result === "already_admitted") {
    if (answer.first_scanned_at) {
      detail = `First in at ${when(answer.first_scanned_at)} at ${answer.first_gate_id || "a gate"}`;
    } else if (ctx.offline) {
      detail = `Admitted before ${when(ctx.bundleAt)} (this gate's bundle)`;
    }
    if (answer.last_gate_id && answer.last_scanned_at && answer.last_scanned_at !== answer.first_scanned_at) {
      lines.push(`Last in at ${when(answer.last_scanned_at)} at ${answer.last_gate_id}`);
    }
    if (answer.reason === "reentry_not_allowed") lines.push(REASONS.reentry_not_allowed);
  } else if (answer.result === "wrong_event") {
    detail = "This ticket is for another event";
  } else if (answer.result === "expired") {
    detail = "This ticket's validity has ended";
  } else if (answer.result === "revoked" && !detail) {
    detail = "Voided or refunded";
  } else if (answer.result === "exited") {
    detail = "Out; they may come back in";
  }
  if (ctx.offline) lines.push(`Checked offline against the bundle of ${when(ctx.bundleAt)}`);
  if (answer.ticket_id) lines.push(`Ticket ${answer.ticket_id.slice(0, 8)}`);
  return { kind, title, detail, meta: lines };
}

export function showAnswer(card) {
  const box = $("answer");
  box.dataset.kind = card.kind;
  box.classList.remove("flash");
  void box.offsetWidth; // restart the flash animation
  box.classList.add("flash");
  $("answer-icon").textContent = ICONS[card.kind] || "";
  $("answer-title").textContent = card.title;
  $("answer-detail").textContent = card.detail;
  const meta = $("answer-meta");
  meta.replaceChildren(...card.meta.map((line) => Object.assign(document.createElement("span"), { textContent: line })));
}

export function addHistory(card, at = new Date()) {
  const list = $("history");
  const item = document.createElement("li");
  item.dataset.kind = card.kind;
  const time = Object.assign(document.createElement("time"), { textContent: when(at.toISOString()) });
  const title = Object.assign(document.createElement("strong"), { textContent: card.title });
  const detail = Object.assign(document.createElement("span"), { textContent: card.detail });
  item.append(time, title, detail);
  if (card.meta.some((m) => m.startsWith("Checked offline"))) {
    item.append(Object.assign(document.createElement("em"), { textContent: "offline" }));
  }
  list.prepend(item);
  while (list.children.length > 25) list.lastElementChild.remove();
}

/** The status line: online or offline, the bundle's age, what waits to be uploaded. */
export function showStatus({ online, bundleAt, pending, problem }) {
  const status = $("status");
  status.dataset.state = problem ? "problem" : online ? "online" : "offline";
  const parts = [online ? "Online" : "OFFLINE"];
  if (!bundleAt) parts.push("no bundle yet");
  else parts.push(online ? `bundle ${when(bundleAt).slice(0, -3)}` : `bundle ${age(bundleAt)}`);
  if (pending) parts.push(`${pending} to upload`);
  status.textContent = parts.join(" · ");
  status.title = problem || "";
  $("offline-banner").hidden = online;
  $("offline-banner-age").textContent = bundleAt ? `the gate bundle of ${when(bundleAt)} (${age(bundleAt)})` : "no gate bundle";
}

export function message(text, isError = false) {
  const box = $("setup-message");
  box.textContent = text;
  box.dataset.error = isError ? "yes" : "no";
}

/** What to tell the staff when a call was refused (a Refused or a BundleError). */
export function refusalText(error) {
  if (error.status) {
    if (error.status === 401) return "The scanner token was refused (expired or not for this server): paste a new one";
    if (error.status === 403) return "This token may not scan: ask for a scanner token";
    if (error.status === 404) return "This event is not your organisation's";
    return `${error.code}: ${error.message}`;
  }
  if (error.reason) return `Gate bundle refused: ${error.reason}`;
  return String(error.message || error);
}

/** Offline entries the server judged otherwise, or refused. */
export function showDisputes(list) {
  $("disputes").hidden = list.length === 0;
  $("dispute-list").replaceChildren(
    ...list.map((e) => {
      const item = document.createElement("li");
      let said = e.server ? e.server.result.replace(/_/g, " ") : `not recorded (${e.rejected})`;
      if (e.server && e.server.first_gate_id) said += ` (first in at ${when(e.server.first_scanned_at)} at ${e.server.first_gate_id})`;
      const ticket = e.ticket_id ? `ticket ${e.ticket_id.slice(0, 8)}, ` : "";
      item.textContent = `${when(e.scanned_at)} at ${e.gate_id}, ${ticket}let through offline; server: ${said}`;
      return item;
    }),
  );
}
