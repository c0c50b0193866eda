// IndexedDB: the last verified JWKS and bundle (so verdicts work offline even if the service
// worker cache is cleared), settings (language, shop, API token) and the queue of findings.

const DB_NAME = "ocop-scanner";
const DB_VERSION = 1;
let dbPromise;

function open() {
  if (!dbPromise) {
    dbPromise = new Promise((resolve, reject) => {
      const req = indexedDB.open(DB_NAME, DB_VERSION);
      req.onupgradeneeded = () => {
        const db = req.result;
        if (!db.objectStoreNames.contains("kv")) db.createObjectStore("kv");
        if (!db.objectStoreNames.contains("findings")) db.createObjectStore("findings", { keyPath: "client_id" });
      };
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }
  return dbPromise;
}

async function run(storeName, mode, fn) {
  const db = await open();
  return new Promise((resolve, reject) => {
    const tx = db.transaction(storeName, mode);
    const req = fn(tx.objectStore(storeName));
    tx.oncomplete = () => resolve(req ? req.result : undefined);
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error);
  });
}

export const kv = {
  get: (key) => run("kv", "readonly", (s) => s.get(key)),
  set: (key, value) => run("kv", "readwrite", (s) => s.put(value, key)),
  delete: (key) => run("kv", "readwrite", (s) => s.delete(key)),
};

export const findingsQueue = {
  all: () => run("findings", "readonly", (s) => s.getAll()),
  put: (item) => run("findings", "readwrite", (s) => s.put(item)),
  delete: (clientId) => run("findings", "readwrite", (s) => s.delete(clientId)),
};
