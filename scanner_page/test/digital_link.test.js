// The Digital Link vectors (tests/assets/digital_link_vectors.json, docs/stamp-format.md) in JS:
// each link parses to the fields of its opaque token, converts to exactly that token with the
// vector's product and lot indexes, and its signature verifies; every published malformed link
// is refused before any lookup. tests/unit/test_digital_link.py checks the same file in Python.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { fromHex, toHex } from "../src/codec.js";
import { linkToken, looksLikeDigitalLink, parseDigitalLink } from "../src/digital_link.js";
import { nobleVerifier, webCryptoVerifier } from "../src/ed25519.js";
import { compactSerial } from "../src/serial.js";
import { InvalidStamp, parseToken } from "../src/stamp.js";

const asset = (name) => new URL(`../../tests/assets/${name}`, import.meta.url);
const LINKS = JSON.parse(readFileSync(asset("digital_link_vectors.json")));
const STAMPS = JSON.parse(readFileSync(asset("stamp_vectors.json")));
const PUBLIC = fromHex(STAMPS.key.public_key_hex);

test("every link parses to its opaque token's fields and converts to that token", () => {
  for (const v of LINKS.vectors) {
    const { claims, signature } = parseToken(v.opaque_token);
    for (const text of [v.digital_link, ` ${v.digital_link.replace("HTTPS://TEM.OCOP.LOCAL", "https://tem.ocop.local")} `]) {
      assert.ok(looksLikeDigitalLink(text));
      const link = parseDigitalLink(text);
      assert.equal(link.gtin, v.gtin.padStart(14, "0"));
      assert.equal(link.lotCode, v.lot_code);
      assert.equal(link.serial, claims.serial);
      assert.equal(compactSerial(link.serial), text.split("/21/")[1].split("?")[0]);
      assert.deepEqual([link.version, link.kid, link.expiryDay], [claims.version, claims.kid, claims.expiryDay]);
      assert.equal(toHex(link.signature), toHex(signature));
      assert.equal(linkToken(link, v.product_index, v.lot_index), v.opaque_token);
      assert.ok(link.path.startsWith("/01/") && link.path.includes("?8030="));
    }
  }
});

test("docs/stamp-format.md lists the same links", () => {
  const doc = readFileSync(new URL("../../docs/stamp-format.md", import.meta.url), "utf8");
  for (const v of LINKS.vectors) assert.ok(doc.includes(`\`${v.digital_link}\``), v.lot_code);
});

test("the percent-encoded lot code is decoded (vector 2: HT%2F2026.B-7)", () => {
  const link = parseDigitalLink(LINKS.vectors[1].digital_link);
  assert.equal(link.lotCode, "HT/2026.B-7");
  assert.equal(parseDigitalLink(LINKS.vectors[0].digital_link.replace("PT25-0001", "PT25%2d0001")).lotCode, "PT25-0001");
});

for (const [name, make] of [["webcrypto", webCryptoVerifier], ["noble", nobleVerifier]]) {
  test(`the rebuilt tokens' signatures verify with ${name}; other indexes do not`, async () => {
    const verify = await make(PUBLIC);
    for (const v of LINKS.vectors) {
      const link = parseDigitalLink(v.digital_link);
      const good = parseToken(linkToken(link, v.product_index, v.lot_index));
      assert.equal(await verify(good.signature, good.message), true, v.lot_code);
      const wrongLot = parseToken(linkToken(link, v.product_index, v.lot_index + 1));
      assert.equal(await verify(wrongLot.signature, wrongLot.message), false, v.lot_code);
    }
  });
}

for (const bad of LINKS.malformed) {
  test(`malformed: ${bad.name}`, () => {
    assert.throws(() => parseDigitalLink(bad.text), (err) => err instanceof InvalidStamp && err.kind === "malformed-stamp");
  });
}

test("an opaque stamp URL is not taken for a Digital Link", () => {
  assert.equal(looksLikeDigitalLink(STAMPS.valid[0].url), false);
  assert.equal(looksLikeDigitalLink(STAMPS.valid[0].token), false);
});
