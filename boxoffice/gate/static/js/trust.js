// What the page trusts: the keys of this server's keys.json (as last fetched, kept in IndexedDB), and a gate bundle
// only once one of those keys signed it, it is for the chosen event and it is not older than the one held.

import { forgetCovered } from "./journal.js";
import { BundleError, checkBundle, importKeys, OfflineGate } from "./offline.js";
import { kv } from "./store.js";

export class Trust {
  constructor() {
    this.keys = new Map(); // kid → WebCrypto key
    this.bundle = null;
    this.fetchedAt = 0; // this device's clock when the bundle's request left (imported file: its generated_at)
    this.gate = null; // an OfflineGate over `bundle`
  }

  async loadKeys() {
    const keys = await kv.get("keys");
    this.keys = keys ? await importKeys(keys) : new Map();
  }

  /** keys.json as just fetched from this server: trusted from now on (it replaces the previous set). */
  async trustKeys(keys) {
    this.keys = await importKeys(keys);
    await kv.put("keys", keys);
  }

  async use(bundle, fetchedAt, eventId) {
    await checkBundle(bundle, this.keys, eventId);
    if (this.bundle && Date.parse(bundle.generated_at) < Date.parse(this.bundle.generated_at)) {
      throw new BundleError("older", "this device holds a newer bundle");
    }
    this.gate = await OfflineGate.create(bundle);
    this.bundle = bundle;
    this.fetchedAt = fetchedAt;
  }

  /** The stored bundle of `eventId`, checked again; a problem to show when it fails (it is then discarded). */
  async loadStored(eventId) {
    this.bundle = this.gate = null;
    const stored = eventId && (await kv.get(`bundle:${eventId}`));
    if (!stored) return null;
    try {
      await this.use(stored.bundle, stored.fetchedAt, eventId);
      return null;
    } catch (error) {
      await kv.delete(`bundle:${eventId}`);
      return `The stored gate bundle was refused (${error.reason || error.message}) and discarded`;
    }
  }

  /** Check, hold and keep `bundle` (BundleError if refused); the journal forgets what the bundle now holds. */
  async store(bundle, fetchedAt, eventId) {
    await this.use(bundle, fetchedAt, eventId);
    await kv.put(`bundle:${bundle.event_id}`, { bundle, fetchedAt });
    await forgetCovered(bundle.event_id, fetchedAt);
  }
}
