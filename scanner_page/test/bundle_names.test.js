// Test vector 2 (tests/assets/status_bundle_v1_names.bin, docs/status-bundle.md): the sections
// added after version 1 shipped. The JS reader decodes the validity, the pending key and the
// name tables, and reproduces the documented verdicts, names and lot codes.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { bundleExpired, lotCode, productName, trustedBundleKey, verifyBundle } from "../src/bundle.js";
import { fromHex, toHex } from "../src/codec.js";
import { nobleVerifier } from "../src/ed25519.js";
import { OfflineVerifier } from "../src/verdict.js";

const asset = (name) => new URL(`../../tests/assets/${name}`, import.meta.url);
const META = JSON.parse(readFileSync(asset("status_bundle_v1_names.json")));
const V1 = JSON.parse(readFileSync(asset("status_bundle_v1.json")));
const STAMPS = JSON.parse(readFileSync(asset("stamp_vectors.json")));
const FILE = new Uint8Array(readFileSync(asset("status_bundle_v1_names.bin")));
const TEST_KEY = { kid: V1.signing_kid, publicKey: fromHex(V1.signing_public_key_hex), state: "active" };
const JWKS = new Map([[TEST_KEY.kid, TEST_KEY]]);
const day = (iso) => Date.parse(`${iso}T00:00:00Z`) / 86400000;

async function load() {
  return verifyBundle(FILE, async (kid) => {
    const key = trustedBundleKey(kid, JWKS);
    return key ? nobleVerifier(key.publicKey) : null;
  });
}

test("the file is the one the JSON describes", async () => {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", FILE));
  assert.equal(toHex(digest), META.sha256);
  assert.equal(FILE.length, META.size);
});

test("validity, the pending key and the name tables decode as documented", async () => {
  const b = await load();
  const d = META.decoded;
  assert.equal(b.seq, BigInt(d.seq));
  assert.equal(b.validUntil, d.valid_until);
  assert.deepEqual(Object.fromEntries([...b.keys].map(([kid, k]) => [kid, k.state])), d.keys);
  assert.deepEqual(b.names.producers.all(), d.producers);
  for (const [index, [name, producer]] of Object.entries(d.names)) {
    assert.deepEqual(productName(b, Number(index)), { name, producer });
  }
  for (const index of d.unnamed) assert.equal(productName(b, index), null);
  for (const [index, code] of Object.entries(d.lots)) assert.equal(lotCode(b, Number(index)), code);
  assert.equal(bundleExpired(b, d.valid_until), false);
  assert.equal(bundleExpired(b, d.valid_until + 1), true);
});

for (const c of META.verdicts) {
  test(`offline verdict of ${c.stamp} at ${c.now}: ${c.verdict}`, async () => {
    const verifier = new OfflineVerifier({ jwksKeys: JWKS, bundle: await load() });
    const token = c.stamp === "pending" ? META.pending_stamp : STAMPS.valid[c.stamp].token;
    const r = await verifier.check(token, { today: day(c.today), now: c.now });
    const verdict = r.verdict === "confirm_online" ? "check_online" : r.verdict;
    assert.equal(verdict, c.verdict);
    assert.equal(r.cause, c.cause === "bundle_expired" ? "bundle_expired" : c.cause);
    assert.equal(r.product, c.product);
    assert.equal(r.lot, c.lot);
  });
}

test("a key unknown to an out-of-date bundle is 'confirm online', not 'not genuine'", async () => {
  const b = await load();
  b.keys.delete(TEST_KEY.kid);
  const verifier = new OfflineVerifier({ jwksKeys: new Map(), bundle: b });
  const token = STAMPS.valid[0].token;
  const fresh = await verifier.check(token, { today: day("2026-11-23"), now: META.decoded.issued_at });
  assert.equal(fresh.verdict, "not_genuine");
  const stale = await verifier.check(token, { today: day("2026-11-30"), now: META.decoded.valid_until + 1 });
  assert.deepEqual([stale.verdict, stale.cause], ["confirm_online", "bundle_expired"]);
});

test("a pending key verifies stamps like an active one; a compromised one still asks online", async () => {
  const b = await load();
  const verifier = new OfflineVerifier({ jwksKeys: JWKS, bundle: b });
  const pendingKid = Object.entries(META.decoded.keys).find(([, s]) => s === "pending")[0];
  assert.equal(verifier.key(pendingKid).state, "pending");
  const r = await verifier.check(META.pending_stamp, { today: day("2026-11-23"), now: META.decoded.issued_at });
  assert.deepEqual([r.verdict, r.kid], ["genuine", pendingKid]);
  // The JWKS may be newer: a key it calls compromised is compromised whatever the bundle says.
  const jwks = new Map(JWKS);
  jwks.set(pendingKid, { ...b.keys.get(pendingKid), state: "compromised" });
  const stricter = new OfflineVerifier({ jwksKeys: jwks, bundle: b });
  const c = await stricter.check(META.pending_stamp, { today: day("2026-11-23"), now: META.decoded.issued_at });
  assert.deepEqual([c.verdict, c.cause], ["confirm_online", "key_compromised"]);
});

test("a pending key never signs a bundle", () => {
  const key = { kid: "01020304", publicKey: new Uint8Array(32), state: "pending" };
  assert.equal(trustedBundleKey(key.kid, new Map([[key.kid, key]])), null);
  assert.equal(trustedBundleKey(key.kid, new Map(), new Map([[key.kid, key]])), null);
});

test("a name table must be UTF-8 and fill its section exactly", async () => {
  const { StringTable, InvalidBundle } = await import("../src/bundle.js");
  const t = new StringTable(new TextEncoder().encode("xxLô 1\u0000\u0000B\u0000"), 2, 3);
  assert.deepEqual(t.all(), ["Lô 1", "", "B"]);
  assert.equal(t.get(3), undefined);
  assert.throws(() => new StringTable(new Uint8Array([0x61, 0]), 0, 2), InvalidBundle);
  assert.throws(() => new StringTable(new Uint8Array([0x61, 0, 0x62]), 0, 1), InvalidBundle);
  assert.throws(() => new StringTable(new Uint8Array([0xff, 0]), 0, 1), InvalidBundle);
});
