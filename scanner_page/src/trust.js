// Loading what offline verification needs: the JWKS and the signed status bundle. Fetched when
// online (through the service worker, which falls back to its cache), verified, then kept in
// IndexedDB; when the network fails the last verified copies are used. A bundle older (lower
// seq) than the one already held is refused, so a replayed old bundle cannot hide a revocation.

import { trustedBundleKey, verifyBundle } from "./bundle.js";
import { makeVerifier } from "./ed25519.js";
import { kv } from "./store.js";
import { BUNDLE_PATH, JWKS_PATH } from "./config.js";
import { keysFromJwks, OfflineVerifier } from "./verdict.js";

async function fetchBytes(url) {
  const resp = await fetch(url, { cache: "no-cache" });
  if (!resp.ok) throw new Error(`HTTP ${resp.status}`);
  return new Uint8Array(await resp.arrayBuffer());
}

async function fetchJson(url) {
  const resp = await fetch(url, { cache: "no-cache" });
  if (!resp.ok) throw new Error(`HTTP ${resp.status}`);
  return resp.json();
}

/** Build the verifier; returns {verifier, bundleInfo, errors, loadMs}. Never throws. */
export async function loadTrust({ bundleUrl = BUNDLE_PATH } = {}) {
  const started = performance.now();
  const errors = [];
  let jwks = null;
  try {
    jwks = await fetchJson(JWKS_PATH);
    await kv.set("jwks", jwks);
  } catch (err) {
    errors.push(`jwks: ${err.message}`);
    jwks = (await kv.get("jwks")) || null;
  }
  const jwksKeys = await keysFromJwks(jwks);
  let previousKeys = new Map();
  const bundleVerifierFor = async (kid) => {
    const key = trustedBundleKey(kid, jwksKeys, previousKeys);
    return key ? makeVerifier(key.publicKey) : null;
  };
  const stored = await kv.get("bundle");
  let bundle = null;
  if (stored) {
    try {
      bundle = await verifyBundle(stored.bytes, bundleVerifierFor);
      previousKeys = bundle.keys;
    } catch (err) {
      errors.push(`stored bundle: ${err.message}`);
    }
  }
  try {
    const bytes = await fetchBytes(bundleUrl);
    const fresh = await verifyBundle(bytes, bundleVerifierFor);
    if (!bundle || fresh.seq >= bundle.seq) {
      bundle = fresh;
      await kv.set("bundle", { bytes, fetchedAt: Date.now() });
    } else {
      errors.push(`bundle: older than the one held (no. ${fresh.seq} < ${bundle.seq})`);
    }
  } catch (err) {
    errors.push(`bundle: ${err.message}`);
  }
  const verifier = new OfflineVerifier({ jwksKeys, bundle });
  return { verifier, errors, loadMs: performance.now() - started };
}
