// What the page keeps on the device. Small settings (token, gate name, chosen event) in localStorage; the trusted
// keys, gate bundles and the journal of scans this device let through in IndexedDB (bundles of large events pass
// localStorage's few megabytes).

const DB_NAME = "boxoffice-gate";
const DB_VERSION = 1;
const SETTINGS = "boxoffice-gate:";

export const settings = {
  get(name, fallback = "") {
    const value = localStorage.getItem(SETTINGS + name);
    return value === null ? fallback : value;
  },
  set(name, value) {
    if (value === null || value === undefined || value === "") localStorage.removeItem(SETTINGS + name);
    else localStorage.setItem(SETTINGS + name, String(value));
  },
  clear() {
    for (const key of Object.keys(localStorage)) if (key.startsWith(SETTINGS)) localStorage.removeItem(key);
  },
};

let opened = null;

function open() {
  opened ||= new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, DB_VERSION);
    request.onupgradeneeded = () => {
      const db = request.result;
      db.createObjectStore("kv"); // "keys" (keys.json as last fetched), "bundle:<event id>", "events"
      const journal = db.createObjectStore("journal", { keyPath: "id" });
      journal.createIndex("event", "event_id");
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  return opened;
}

async function run(storeName, mode, work) {
  const db = await open();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(storeName, mode);
    const result = work(tx.objectStore(storeName));
    tx.oncomplete = () => resolve(result && "result" in result ? result.result : undefined);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

export const kv = {
  get: (key) => run("kv", "readonly", (s) => s.get(key)),
  put: (key, value) => run("kv", "readwrite", (s) => s.put(value, key)),
  delete: (key) => run("kv", "readwrite", (s) => s.delete(key)),
};

/** Scans this device let through (entries admitted, exits), online or offline, until a newer bundle holds them. */
export const journal = {
  add: (entry) => run("journal", "readwrite", (s) => s.put(entry)),
  put: (entry) => run("journal", "readwrite", (s) => s.put(entry)),
  forEvent: (eventId) => run("journal", "readonly", (s) => s.index("event").getAll(eventId)),
  all: () => run("journal", "readonly", (s) => s.getAll()),
  delete: (ids) =>
    run("journal", "readwrite", (s) => {
      for (const id of ids) s.delete(id);
    }),
};

export async function forgetEverything() {
  settings.clear();
  const db = await open();
  await Promise.all(
    ["kv", "journal"].map(
      (name) =>
        new Promise((resolve, reject) => {
          const tx = db.transaction(name, "readwrite");
          tx.objectStore(name).clear();
          tx.oncomplete = resolve;
          tx.onerror = () => reject(tx.error);
        }),
    ),
  );
}
