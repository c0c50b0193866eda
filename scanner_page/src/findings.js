// Findings: kept in IndexedDB first, then POSTed to /api/v1/findings when online. Each carries a
// client_id made once (crypto.randomUUID) before the first attempt, so a retry after a lost answer
// never makes a second finding: the server answers 200 with the stored one. One sync at a time.

import { findingsQueue } from "./store.js";

let syncing = null;

export function newFinding({ serial, code, verdict, possibleCopy, shop, note, position }) {
  return {
    client_id: crypto.randomUUID(),
    serial: serial || null,
    code: code || null,
    verdict,
    possible_copy: Boolean(possibleCopy),
    shop,
    note: note || "",
    position: position || null,
    observed_at: new Date().toISOString(),
    state: "queued", // queued | sent | rejected
    error: null,
  };
}

export async function queueFinding(finding) {
  await findingsQueue.put(finding);
  return finding;
}

function payload(f) {
  const body = {
    client_id: f.client_id,
    verdict: f.verdict,
    possible_copy: f.possible_copy,
    shop: f.shop,
    note: f.note,
    observed_at: f.observed_at,
  };
  if (f.serial) body.serial = f.serial;
  if (f.code) body.code = f.code;
  if (f.position) body.position = f.position;
  return body;
}

/** Send every queued finding; returns {sent, rejected, waiting}. Network errors leave them queued. */
export function syncFindings({ token, fetchImpl = fetch } = {}) {
  if (!syncing) {
    syncing = doSync(token, fetchImpl).finally(() => {
      syncing = null;
    });
  }
  return syncing;
}

async function doSync(token, fetchImpl) {
  const result = { sent: 0, rejected: 0, waiting: 0 };
  const items = (await findingsQueue.all()).filter((f) => f.state === "queued");
  if (!token) {
    result.waiting = items.length;
    return result;
  }
  for (const f of items) {
    let resp;
    try {
      resp = await fetchImpl("/api/v1/findings", {
        method: "POST",
        headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
        body: JSON.stringify(payload(f)),
      });
    } catch {
      result.waiting++;
      continue; // offline: try again on the next sync
    }
    if (resp.status === 201 || resp.status === 200) {
      const stored = await resp.json();
      await findingsQueue.put({ ...f, state: "sent", server_id: stored.id, error: null });
      result.sent++;
    } else if (resp.status >= 500 || resp.status === 429 || resp.status === 401) {
      result.waiting++; // the server or the sign-in is the problem, not the finding: keep it
    } else {
      let detail = `HTTP ${resp.status}`;
      try {
        detail = (await resp.json()).detail || detail;
      } catch {
        /* not JSON */
      }
      await findingsQueue.put({ ...f, state: "rejected", error: detail });
      result.rejected++;
    }
  }
  return result;
}

export async function listFindings() {
  const all = await findingsQueue.all();
  return all.sort((a, b) => (a.observed_at < b.observed_at ? 1 : -1));
}
