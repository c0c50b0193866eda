// The published stamp test vectors (tests/assets/stamp_vectors.json) reproduced in JS: token
// parsing, the signed bytes, Ed25519 verification with WebCrypto and with @noble/ed25519, the
// serial's printed form and its check character, and the offline verdict order.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { base32Decode, base32Encode, fromHex, toHex } from "../src/codec.js";
import { nobleVerifier, webCryptoVerifier } from "../src/ed25519.js";
import { compactSerial, formatSerial, parseSerial, SerialTypo } from "../src/serial.js";
import { InvalidStamp, parseStampUrl, parseToken } from "../src/stamp.js";
import { decide, keysFromJwks, OfflineVerifier } from "../src/verdict.js";

const VECTORS = JSON.parse(readFileSync(new URL("../../tests/assets/stamp_vectors.json", import.meta.url)));
const PUBLIC = fromHex(VECTORS.key.public_key_hex);
const B64URL = Buffer.from(PUBLIC).toString("base64url");
const JWKS_KEY = { kid: VECTORS.key.kid, publicKey: PUBLIC, state: "active" };

test("every valid vector parses to its fields and signed message", () => {
  for (const v of VECTORS.valid) {
    for (const text of [v.token, v.url, v.token.toLowerCase(), ` ${v.url}/ `]) {
      const { claims, signature, message } = parseToken(parseStampUrl(text));
      assert.equal(claims.version, v.fields.version);
      assert.equal(claims.kid, v.fields.kid);
      assert.equal(claims.serial, BigInt(`0x${v.fields.serial}`));
      assert.equal(claims.productIndex, v.fields.product_index);
      assert.equal(claims.lotIndex, v.fields.lot_index);
      assert.equal(claims.expiryDay, v.fields.expiry_day);
      assert.equal(toHex(message), v.signed_message_hex);
      assert.equal(toHex(signature), v.signature_hex);
    }
    assert.equal(formatSerial(BigInt(`0x${v.fields.serial}`)), v.serial_display);
    assert.equal(base32Encode(base32Decode(v.token)), v.token);
  }
  assert.equal(parseStampUrl(VECTORS.lower_case_url), VECTORS.valid[0].token);
});

for (const [name, make] of [["webcrypto", webCryptoVerifier], ["noble", nobleVerifier]]) {
  test(`signatures verify with ${name}, and the tampered vectors do not`, async () => {
    const verify = await make(PUBLIC);
    for (const v of VECTORS.valid) {
      const { signature, message } = parseToken(v.token);
      assert.equal(await verify(signature, message), true);
    }
    for (const bad of VECTORS.invalid) {
      let parsed;
      try {
        parsed = parseToken(parseStampUrl(bad.text));
      } catch (err) {
        assert.ok(err instanceof InvalidStamp, bad.name);
        const kinds = { MalformedStamp: "malformed-stamp", UnknownStampVersion: "unknown-stamp-version" };
        assert.equal(err.kind, kinds[bad.error], bad.name);
        continue;
      }
      assert.equal(bad.error, "BadSignature", bad.name);
      assert.equal(await verify(parsed.signature, parsed.message), false, bad.name);
    }
  });
}

test("the rejected URL shapes are malformed", () => {
  const token = VECTORS.valid[0].token;
  for (const text of [
    `http://TEM.OCOP.LOCAL/V/${token}`,
    `HTTPS://TEM.OCOP.LOCAL/X/${token}`,
    `HTTPS://TEM.OCOP.LOCAL/V/${token}?a=1`,
    `HTTPS://TEM.OCOP.LOCAL/V/${token}#f`,
    `${token}=`,
    "A".repeat(401),
    "",
  ]) {
    assert.throws(() => parseToken(parseStampUrl(text)), InvalidStamp, text.slice(0, 40));
  }
});

test("typed serials: aliases accepted, every single substitution caught", () => {
  const v = VECTORS.valid[0];
  assert.equal(parseSerial(v.serial_display), BigInt(`0x${v.fields.serial}`));
  assert.equal(parseSerial(v.serial_display.toLowerCase().replace(/-/g, " ")), BigInt(`0x${v.fields.serial}`));
  assert.equal(parseSerial("O28T-5CY4-TQKF-FX"), BigInt(`0x${v.fields.serial}`)); // O read as 0
  const compact = compactSerial(BigInt(`0x${v.fields.serial}`));
  const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
  for (let i = 0; i < compact.length; i++) {
    for (const c of alphabet) {
      if (c === compact[i]) continue;
      const typo = compact.slice(0, i) + c + compact.slice(i + 1);
      assert.throws(() => parseSerial(typo), SerialTypo, typo);
    }
  }
  for (const bad of ["028T-5CY4-TQKF-F", "028T-5CY4-TQKF-FXX", "U28T-5CY4-TQKF-FX", "0000-0000-0000-00"]) {
    assert.throws(() => parseSerial(bad), SerialTypo, bad);
  }
});

function fakeBundle(overrides = {}) {
  return {
    seq: 1n,
    keys: new Map([[JWKS_KEY.kid, JWKS_KEY]]),
    products: { validUntil: Uint16Array.from([0, 21183, 21183]), stars: Uint8Array.from([0, 4, 2]) },
    voided: new BigUint64Array(0),
    bitsets: new Map(),
    ...overrides,
  };
}

test("the offline verdict takes the first cause in the documented order", () => {
  const claims = { serial: 5n, productIndex: 1, lotIndex: 3, expiryDay: 21000, kid: VECTORS.key.kid };
  const base = { claims, key: JWKS_KEY, signatureOk: true, today: 20500 };
  assert.equal(decide({ ...base, bundle: fakeBundle() }).verdict, "genuine");
  assert.equal(decide({ ...base, key: null, bundle: fakeBundle() }).cause, "unknown_key");
  assert.equal(decide({ ...base, signatureOk: false, bundle: fakeBundle() }).cause, "bad_signature");
  assert.equal(decide({ ...base, key: { ...JWKS_KEY, state: "compromised" }, bundle: fakeBundle() }).verdict,
    "confirm_online");
  assert.equal(decide({ ...base, bundle: null }).cause, "no_bundle");
  assert.equal(decide({ ...base, claims: { ...claims, productIndex: 9 }, bundle: fakeBundle() }).cause,
    "product_unknown");
  const voided = fakeBundle({ voided: BigUint64Array.from([2n, 5n, 9n]) });
  assert.deepEqual(decide({ ...base, bundle: voided }).cause, "stamp_voided");
  const recalled = fakeBundle({ bitsets: new Map([[0x20, { size: 8, data: Uint8Array.from([0x10]) }]]) });
  assert.equal(decide({ ...base, bundle: recalled }).cause, "lot_recalled");
  const withdrawn = fakeBundle({ bitsets: new Map([[0x10, { size: 3, data: Uint8Array.from([0x40]) }]]) });
  assert.equal(decide({ ...base, bundle: withdrawn }).cause, "stars_withdrawn");
  assert.equal(decide({ ...base, claims: { ...claims, productIndex: 0 }, bundle: fakeBundle() }).cause,
    "no_certificate");
  assert.equal(decide({ ...base, today: 21184, bundle: fakeBundle() }).cause, "certificate_expired");
  assert.equal(decide({ ...base, today: 21001, bundle: fakeBundle() }).cause, "stamp_expired");
  assert.equal(decide({ ...base, today: 21000, bundle: fakeBundle() }).verdict, "genuine"); // last valid day
});

test("the offline verifier checks real tokens against the JWKS keys", async () => {
  const v = new OfflineVerifier({ jwksKeys: new Map([[JWKS_KEY.kid, JWKS_KEY]]), bundle: fakeBundle() });
  const good = await v.check(VECTORS.valid[0].url, { today: 20000 });
  assert.equal(good.verdict, "genuine");
  assert.equal(good.serialText, VECTORS.valid[0].serial_display);
  const flipped = await v.check(VECTORS.invalid[0].text, { today: 20000 });
  assert.deepEqual([flipped.verdict, flipped.cause], ["not_genuine", "bad_signature"]);
  const garbage = await v.check("https://example.com/hello", { today: 20000 });
  assert.deepEqual([garbage.verdict, garbage.cause], ["not_genuine", "bad_code"]);
});

test("JWKS keys are trusted only when their kid names them", async () => {
  const jwk = { kty: "OKP", crv: "Ed25519", x: B64URL, kid: VECTORS.key.kid, ocop_state: "retired" };
  const keys = await keysFromJwks({ keys: [jwk, { ...jwk, kid: "00000000" }, { ...jwk, x: "AAAA" }] });
  assert.deepEqual([...keys.keys()], [VECTORS.key.kid]);
  assert.equal(keys.get(VECTORS.key.kid).state, "retired");
  assert.deepEqual(toHex(keys.get(VECTORS.key.kid).publicKey), VECTORS.key.public_key_hex);
});
