// The status bundle test vector (tests/assets/status_bundle_v1.bin, docs/status-bundle.md): the
// JS reader checks its signature with the public test key, decodes every field the JSON lists,
// reproduces the documented offline verdicts, and refuses tampered, truncated or untrusted files.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { bitsetHas, InvalidBundle, isVoided, readHeader, SECTION, trustedBundleKey, verifyBundle } from "../src/bundle.js";
import { fromHex, toHex } from "../src/codec.js";
import { nobleVerifier, webCryptoVerifier } from "../src/ed25519.js";
import { OfflineVerifier } from "../src/verdict.js";

const asset = (name) => new URL(`../../tests/assets/${name}`, import.meta.url);
const META = JSON.parse(readFileSync(asset("status_bundle_v1.json")));
const STAMPS = JSON.parse(readFileSync(asset("stamp_vectors.json")));
const FILE = new Uint8Array(readFileSync(asset("status_bundle_v1.bin")));
const PUBLIC = fromHex(META.signing_public_key_hex);
const TEST_KEY = { kid: META.signing_kid, publicKey: PUBLIC, state: "active" };
const JWKS = new Map([[TEST_KEY.kid, TEST_KEY]]);

const trusted = (make) => async (kid) => {
  const key = trustedBundleKey(kid, JWKS);
  return key ? make(key.publicKey) : null;
};
const day = (iso) => Date.parse(`${iso}T00:00:00Z`) / 86400000;

test("the file is the one the JSON describes", async () => {
  assert.equal(FILE.length, META.size);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", FILE));
  assert.equal(toHex(digest), META.sha256);
  assert.equal(toHex(FILE), META.file_hex);
});

for (const [name, make] of [["webcrypto", webCryptoVerifier], ["noble", nobleVerifier]]) {
  test(`the vector verifies (${name}) and decodes to the documented content`, async () => {
    const b = await verifyBundle(FILE, trusted(make));
    const d = META.decoded;
    assert.equal(b.seq, BigInt(d.seq));
    assert.equal(b.kid, META.signing_kid);
    assert.equal(b.issuedAt, d.issued_at);
    assert.equal(b.refreshAfter, d.refresh_after);
    assert.deepEqual(Object.fromEntries([...b.keys].map(([k, v]) => [k, v.state])), d.keys);
    for (const [kid, dates] of Object.entries(d.key_dates)) {
      const k = b.keys.get(kid);
      assert.deepEqual([k.activatedAt, k.retiredAt, k.compromisedAt],
        [dates.activated_at, dates.retired_at, dates.compromised_at]);
    }
    assert.equal(toHex(b.keys.get(META.signing_kid).publicKey), META.signing_public_key_hex);
    assert.equal(b.products.validUntil.length, d.product_count);
    for (let i = 0; i < d.product_count; i++) {
      const [until, stars] = d.products[String(i)] || [0, 0];
      assert.deepEqual([b.products.validUntil[i], b.products.stars[i]], [until, stars], `product ${i}`);
    }
    const bits = (section, size) => [...Array(size).keys()].filter((i) => bitsetHas(b.bitsets.get(section), i));
    assert.deepEqual(bits(SECTION.PRODUCT_WITHDRAWN, d.product_count + 8), d.withdrawn);
    assert.deepEqual(bits(SECTION.PRODUCT_BELOW_THREE, d.product_count + 8), d.below_three);
    assert.deepEqual(bits(SECTION.LOT_RECALLED, d.lot_count + 8), d.recalled_lots);
    assert.equal(b.bitsets.get(SECTION.LOT_RECALLED).size, d.lot_count);
    assert.deepEqual([...b.voided].map((s) => s.toString(16).padStart(16, "0")), d.voided_serials);
    assert.equal(isVoided(b, 0x8000000000000000n), true);
    assert.equal(isVoided(b, 0x8000000000000001n), false);
  });
}

test("the documented offline verdicts of the stamp vectors", async () => {
  const bundle = await verifyBundle(FILE, trusted(webCryptoVerifier));
  const verifier = new OfflineVerifier({ jwksKeys: JWKS, bundle });
  // The doc's names: check_online is this page's confirm_online.
  const names = { check_online: "confirm_online" };
  for (const v of META.verdicts) {
    const r = await verifier.check(STAMPS.valid[v.stamp].url, { today: day(v.today) });
    assert.deepEqual([r.verdict, r.cause], [names[v.verdict] || v.verdict, v.cause], JSON.stringify(v));
  }
});

test("a stamp signed by a key the bundle calls compromised needs the server", async () => {
  const bundle = await verifyBundle(FILE, trusted(webCryptoVerifier));
  const compromised = { kid: META.signing_kid, publicKey: PUBLIC, state: "compromised" };
  const keys = new Map(bundle.keys).set(META.signing_kid, compromised);
  const verifier = new OfflineVerifier({ jwksKeys: JWKS, bundle: { ...bundle, keys } });
  const r = await verifier.check(STAMPS.valid[0].url, { today: day("2026-11-23") });
  assert.deepEqual([r.verdict, r.cause], ["confirm_online", "key_compromised"]);
  const jwksSaysSo = new OfflineVerifier({ jwksKeys: new Map([[META.signing_kid, compromised]]), bundle });
  assert.equal((await jwksSaysSo.check(STAMPS.valid[0].url, { today: day("2026-11-23") })).cause, "key_compromised");
  const notInBundle = new OfflineVerifier({ jwksKeys: JWKS, bundle: { ...bundle, keys: new Map() } });
  assert.equal((await notInBundle.check(STAMPS.valid[0].url, { today: day("2026-11-23") })).cause, "unknown_key");
});

test("tampered, truncated and untrusted bundles are refused before anything is decompressed", async () => {
  const rejects = (bytes, verifierFor = trusted(webCryptoVerifier)) =>
    assert.rejects(verifyBundle(bytes, verifierFor), InvalidBundle);
  for (const at of [0, 5, 12, 20, 40, FILE.length - 1]) {
    const bad = FILE.slice();
    bad[at] ^= 0x01;
    await rejects(bad);
  }
  await rejects(FILE.slice(0, FILE.length - 1));
  await rejects(FILE.slice(0, 80));
  await rejects(new Uint8Array(0));
  await rejects(FILE, async () => null); // signed by a key not trusted here
  // A key the JWKS calls compromised never vouches for a bundle, nor a compromised bundle key.
  const compromised = new Map([[TEST_KEY.kid, { ...TEST_KEY, state: "compromised" }]]);
  assert.equal(trustedBundleKey(TEST_KEY.kid, compromised), null);
  assert.equal(trustedBundleKey(TEST_KEY.kid, new Map(), compromised), null);
  assert.equal(trustedBundleKey(TEST_KEY.kid, new Map(), JWKS), TEST_KEY);
  assert.equal(readHeader(FILE).seq, 42n);
});
