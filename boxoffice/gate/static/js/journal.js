// The journal: what this device let through (entries admitted, exits), kept in IndexedDB. Offline entries wait
// there until POST /v1/scans/batch has them; online answers stay as what this device knows of a ticket until a
// newer gate bundle holds them. What the server judged otherwise stays listed until the staff clear it.

import { api, Refused } from "./api.js";
import { journal } from "./store.js";

const UPLOAD_CHUNK = 100;
let flushing = null;

/** An offline entry the server judged otherwise (a double entry, a revoked ticket), or refused outright. */
export const disputed = (e) => Boolean((e.server && e.server.result !== e.result) || e.rejected);
const waiting = (e) => e.pending && !e.rejected;

export const remember = (entry) => journal.add(entry);

export async function pendingCount() {
  return (await journal.all()).filter(waiting).length;
}

export async function disputes() {
  return (await journal.all()).filter(disputed);
}

export async function clearDisputes() {
  await journal.delete((await disputes()).filter((e) => !e.pending || e.rejected).map((e) => e.id));
}

/** Forget what the server had before a bundle fetched at `fetchedAt` was made: that bundle holds it. */
export async function forgetCovered(eventId, fetchedAt) {
  const covered = (await journal.forEvent(eventId)).filter((e) => !e.pending && e.uploadedAt <= fetchedAt);
  await journal.delete(covered.filter((e) => !disputed(e)).map((e) => e.id));
}

/** Each ticket's state as this device knows it on top of `bundle` (fetched at `fetchedAt`), by ticket id. */
export async function seenSince(eventId, bundle, fetchedAt) {
  const seen = new Map();
  const entries = (await journal.forEvent(eventId)).sort((a, b) => a.scanned_at.localeCompare(b.scanned_at));
  for (const e of entries) {
    if (!e.ticket_id || (!e.pending && e.uploadedAt <= fetchedAt)) continue;
    const s = seen.get(e.ticket_id) || {
      admitted: bundle.admitted_ticket_ids.includes(e.ticket_id),
      inside: bundle.inside_ticket_ids.includes(e.ticket_id),
    };
    if (e.result === "admitted" || e.result === "already_admitted") {
      s.admitted = true;
      s.inside = e.result === "admitted" ? true : e.inside !== false;
      s.firstAt ||= e.first_scanned_at || e.scanned_at;
      s.firstGate ||= e.first_gate_id || e.gate_id;
      s.lastAt = e.last_scanned_at || e.scanned_at;
      s.lastGate = e.last_gate_id || e.gate_id;
    } else if (e.result === "exited") {
      s.inside = false;
    }
    seen.set(e.ticket_id, s);
  }
  return seen;
}

async function uploadChunk(token, entries) {
  const body = {
    event_id: entries[0].event_id,
    gate_id: entries[0].gate_id,
    scans: entries.map((e) => ({ id: e.id, direction: e.direction, scanned_at: e.scanned_at, payload: e.payload })),
  };
  let answer;
  try {
    answer = await api.upload(token, body);
  } catch (error) {
    if (!(error instanceof Refused) || ![409, 422].includes(error.status)) throw error;
    // A batch the server will never take (a wrong clock, an id it knows from elsewhere): kept, listed, not retried.
    const named = new Set(error.problem.scan_ids || entries.map((e) => e.id));
    for (const e of entries) if (named.has(e.id)) await journal.put({ ...e, rejected: error.code });
    return { uploaded: 0, problem: `Offline scans refused by the server: ${error.message}` };
  }
  const byId = new Map(entries.map((e) => [e.id, e]));
  for (const r of answer.results) {
    await journal.put({ ...byId.get(r.id), pending: false, uploadedAt: Date.now(), server: r });
  }
  return { uploaded: answer.results.length, problem: null };
}

/** Upload every waiting entry, 100 at a time per event and gate; one upload at a time. Throws `Unreachable`, or
 * `Refused` for a token the server refuses (the entries keep waiting). */
export function flush(token) {
  flushing ||= (async () => {
    const groups = new Map();
    for (const e of (await journal.all()).filter(waiting)) {
      const key = `${e.event_id} ${e.gate_id}`;
      groups.set(key, [...(groups.get(key) || []), e]);
    }
    const done = { uploaded: 0, problem: null };
    for (const entries of groups.values()) {
      for (let i = 0; i < entries.length; i += UPLOAD_CHUNK) {
        const step = await uploadChunk(token, entries.slice(i, i + UPLOAD_CHUNK));
        done.uploaded += step.uploaded;
        done.problem ||= step.problem;
      }
    }
    return done;
  })().finally(() => {
    flushing = null;
  });
  return flushing;
}
