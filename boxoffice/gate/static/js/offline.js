// The offline gate in the browser: signed gate bundles and BX2 ticket payloads, checked exactly as
// boxoffice.ticketing.bundle.OfflineGate checks them (tests/gate/test_page_verifier.py compares the two verdict by
// verdict), with WebCrypto's Ed25519 and SHA-256. Nothing here touches the network or the page.
//
// Payload: "BX2:" + base45(body 32 bytes | Ed25519 signature 64 bytes), 148 characters.
// body = kid 2 | ticket id 16 | event tag 3 | organisation tag 3 | issued_at u32 | valid_until u32 (big-endian)
// signed message = "BX2:" + body + event id (16 bytes) + organisation id (UTF-8)
// Verdict order: malformed, wrong_event, revoked (withdrawn key), unknown_key, bad_signature, revoked (listed),
// expired, valid.

export const PREFIX = "BX2:";
export const PAYLOAD_LENGTH = 148;
export const BUNDLE_FORMAT = "boxoffice-gate-bundle";
const B45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";
const KID_BYTES = 2;
const TAG_BYTES = 3;
const BODY_LEN = KID_BYTES + 16 + 2 * TAG_BYTES + 8;
const RAW_LEN = BODY_LEN + 64;
// What Python's str.strip() removes (str.isspace), so that both sides trim a scanned text alike.
const PY_SPACE = new Set(
  "\t\n\v\f\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a" +
    "\u2028\u2029\u202f\u205f\u3000",
);
const utf8 = new TextEncoder();
const B45_VALUE = new Map([...B45].map((c, i) => [c, i]));

export class BundleError extends Error {
  constructor(reason, detail = "") {
    super(detail ? `${reason}: ${detail}` : reason);
    this.reason = reason; // unsigned | unknown_key | bad_signature | malformed | wrong_event | older
  }
}

export function pyStrip(text) {
  let start = 0;
  let end = text.length;
  while (start < end && PY_SPACE.has(text[start])) start += 1;
  while (end > start && PY_SPACE.has(text[end - 1])) end -= 1;
  return text.slice(start, end);
}

/** The 96 bytes of a payload's base45 part, or null unless it is exactly 48 groups of 3 in range. */
export function b45decodeGroups(text) {
  if (text.length !== (RAW_LEN / 2) * 3) return null;
  const out = new Uint8Array(RAW_LEN);
  for (let g = 0; g < RAW_LEN / 2; g += 1) {
    const [a, b, c] = [0, 1, 2].map((k) => B45_VALUE.get(text[3 * g + k]));
    if (a === undefined || b === undefined || c === undefined) return null;
    const value = a + b * 45 + c * 2025;
    if (value > 0xffff) return null;
    out[2 * g] = value >> 8;
    out[2 * g + 1] = value & 0xff;
  }
  return out;
}

const hex = (bytes) => [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");

export function uuidString(bytes) {
  const h = hex(bytes);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function uuidBytes(id) {
  const h = String(id).replace(/-/g, "").toLowerCase();
  if (!/^[0-9a-f]{32}$/.test(h)) throw new BundleError("malformed", `not a UUID: ${id}`);
  return Uint8Array.from(h.match(/../g), (b) => parseInt(b, 16));
}

const concat = (...parts) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};

async function tag(label, bytes) {
  const digest = await crypto.subtle.digest("SHA-256", concat(utf8.encode(label), bytes));
  return new Uint8Array(digest).slice(0, TAG_BYTES);
}

function b64urlDecode(text) {
  const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const bin = atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

/** kid → WebCrypto Ed25519 verify key, from a JWK list or {keys: [...]} (keys.json or a bundle's keys). */
export async function importKeys(jwks) {
  const list = Array.isArray(jwks) ? jwks : (jwks && jwks.keys) || [];
  const keys = new Map();
  for (const jwk of list) {
    if (!jwk || jwk.kty !== "OKP" || jwk.crv !== "Ed25519" || typeof jwk.kid !== "string") {
      throw new BundleError("malformed", "a key is not an Ed25519 JWK with a kid");
    }
    const key = await crypto.subtle.importKey("jwk", { kty: "OKP", crv: "Ed25519", x: jwk.x }, { name: "Ed25519" }, false, [
      "verify",
    ]);
    keys.set(jwk.kid, key);
  }
  return keys;
}

/** RFC 8785 for what a bundle holds (objects, arrays, strings, integers, booleans, null): sorted keys, no spaces. */
export function canonicalJson(value) {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(",")}}`;
  }
  if (typeof value === "number" && !Number.isInteger(value)) throw new BundleError("malformed", "a float");
  return JSON.stringify(value);
}

/** The kid that signed `bundle`, if its signature holds with one of `trusted` (kid → key); BundleError if not. */
export async function verifyBundleSignature(bundle, trusted) {
  const signature = bundle && bundle.signature;
  if (!signature || typeof signature !== "object") throw new BundleError("unsigned");
  const { alg, kid, sig } = signature;
  if (alg !== "EdDSA" || typeof kid !== "string" || typeof sig !== "string") throw new BundleError("bad_signature");
  const key = trusted.get(kid);
  if (!key) throw new BundleError("unknown_key", kid);
  const unsigned = { ...bundle };
  delete unsigned.signature;
  let ok = false;
  try {
    ok = await crypto.subtle.verify({ name: "Ed25519" }, key, b64urlDecode(sig), utf8.encode(canonicalJson(unsigned)));
  } catch {
    ok = false;
  }
  if (!ok) throw new BundleError("bad_signature");
  return kid;
}

/** A gate holding one bundle: `verify(payload, now)` gives OfflineGate.verify's verdict {valid, reason, ticketId}. */
export class OfflineGate {
  static async create(bundle) {
    if (!bundle || typeof bundle.organization_id !== "string" || !bundle.organization_id) {
      throw new BundleError("malformed", "organization_id must be a non-empty string");
    }
    const eventBytes = uuidBytes(bundle.event_id);
    const gate = new OfflineGate();
    gate.keys = await importKeys(bundle.keys);
    gate.revoked = new Set((bundle.revoked_ticket_ids || []).map((t) => uuidString(uuidBytes(t))));
    gate.withdrawn = new Set((bundle.withdrawn_kids || []).map(String));
    gate.tags = concat(
      await tag("boxoffice-event:", eventBytes),
      await tag("boxoffice-organization:", utf8.encode(bundle.organization_id)),
    );
    gate.tail = concat(eventBytes, utf8.encode(bundle.organization_id));
    return gate;
  }

  async verify(payload, now) {
    let text = pyStrip(String(payload));
    if (!/^[\x00-\x7f]*$/.test(text)) return { valid: false, reason: "malformed" };
    text = text.toUpperCase();
    if (text.length !== PAYLOAD_LENGTH || !text.startsWith(PREFIX)) return { valid: false, reason: "malformed" };
    const raw = b45decodeGroups(text.slice(PREFIX.length));
    if (raw === null) return { valid: false, reason: "malformed" };
    const body = raw.slice(0, BODY_LEN);
    const tags = body.slice(KID_BYTES + 16, KID_BYTES + 16 + 2 * TAG_BYTES);
    if (!tags.every((b, i) => b === this.tags[i])) return { valid: false, reason: "wrong_event" };
    const kid = hex(body.slice(0, KID_BYTES));
    if (this.withdrawn.has(kid)) return { valid: false, reason: "revoked" };
    const key = this.keys.get(kid);
    if (!key) return { valid: false, reason: "unknown_key" };
    const message = concat(utf8.encode(PREFIX), body, this.tail);
    if (!(await crypto.subtle.verify({ name: "Ed25519" }, key, raw.slice(BODY_LEN), message))) {
      return { valid: false, reason: "bad_signature" };
    }
    const ticketId = uuidString(body.slice(KID_BYTES, KID_BYTES + 16));
    if (this.revoked.has(ticketId)) return { valid: false, reason: "revoked", ticketId };
    const validUntil = new DataView(body.buffer, body.byteOffset + BODY_LEN - 4, 4).getUint32(0);
    if (Math.floor(now.getTime() / 1000) > validUntil) return { valid: false, reason: "expired", ticketId };
    return { valid: true, reason: "valid", ticketId };
  }
}

/** `bundle` checked before use: its signature by a `trusted` key, its format and its event; BundleError if not. */
export async function checkBundle(bundle, trusted, eventId) {
  const kid = await verifyBundleSignature(bundle, trusted);
  if (bundle.format !== BUNDLE_FORMAT || bundle.version !== 1) throw new BundleError("malformed", "not a gate bundle");
  if (eventId && bundle.event_id !== eventId) throw new BundleError("wrong_event", "the bundle is for another event");
  if (Number.isNaN(Date.parse(bundle.generated_at))) throw new BundleError("malformed", "generated_at");
  return kid;
}

// What a refusal of the offline verifier is, in the words of POST /v1/scans.
const REFUSALS = {
  malformed: ["invalid", "malformed"],
  unknown_key: ["invalid", "unknown_key"],
  bad_signature: ["invalid", "bad_signature"],
  wrong_event: ["wrong_event", null],
  revoked: ["revoked", null],
  expired: ["expired", null],
};

/**
 * The door's answer offline, as POST /v1/scans would give it: the verdict, then the ticket's state as the bundle
 * saw it (admitted_ticket_ids, inside_ticket_ids) with `seen` (what this device let through since, by ticket id:
 * {admitted, inside, firstAt, firstGate, lastAt, lastGate}) and the check-in policy.
 */
export function decide(verdict, direction, bundle, seen) {
  if (!verdict.valid) {
    const [result, reason] = REFUSALS[verdict.reason];
    return { result, reason, ticket_id: verdict.ticketId || null };
  }
  const id = verdict.ticketId;
  const local = seen.get(id);
  const admitted = Boolean(local ? local.admitted : bundle.admitted_ticket_ids.includes(id));
  const inside = Boolean(local ? local.inside : bundle.inside_ticket_ids.includes(id));
  const policy = (bundle.policy_exceptions || {})[id] || bundle.checkin_policy;
  const known = { ticket_id: id, first_scanned_at: local?.firstAt || null, first_gate_id: local?.firstGate || null };
  const last = { last_scanned_at: local?.lastAt || null, last_gate_id: local?.lastGate || null };
  if (direction === "exit") {
    return inside ? { result: "exited", ...known, ...last } : { result: "not_inside", ...known, ...last };
  }
  if (!admitted) return { result: "admitted", ...known };
  if (inside) return { result: "already_admitted", ...known, ...last };
  if (policy === "reentry") return { result: "admitted", ...known };
  return { result: "already_admitted", reason: "reentry_not_allowed", ...known, ...last };
}

/** Does the event let a ticket back in after an exit scan (for any of its ticket types)? */
export function allowsReentry(bundle) {
  if (!bundle) return false;
  const policies = [bundle.checkin_policy, ...Object.values(bundle.ticket_type_policies || {})];
  return policies.includes("reentry");
}
