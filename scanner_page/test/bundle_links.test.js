// Test vector 3 (tests/assets/status_bundle_v1_links.bin, docs/status-bundle.md): LINK_LOTS.
// The JS reader resolves each Digital Link's GTIN and lot to the indexes the Python reader
// finds, and gives the documented offline verdict, product and lot for every listed link.

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";

import { linkIndexes, trustedBundleKey, verifyBundle } from "../src/bundle.js";
import { fromHex, toHex } from "../src/codec.js";
import { nobleVerifier } from "../src/ed25519.js";
import { OfflineVerifier } from "../src/verdict.js";

const asset = (name) => new URL(`../../tests/assets/${name}`, import.meta.url);
const META = JSON.parse(readFileSync(asset("status_bundle_v1_links.json")));
const V1 = JSON.parse(readFileSync(asset("status_bundle_v1.json")));
const FILE = new Uint8Array(readFileSync(asset("status_bundle_v1_links.bin")));
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

test("each lot with Digital Link stamps resolves to its product and lot index", async () => {
  const b = await load();
  for (const lot of META.link_lots) {
    assert.deepEqual(linkIndexes(b, lot.gtin.padStart(14, "0"), lot.lot_code), {
      productIndex: lot.product_index,
      lotIndex: lot.lot_index,
    });
  }
  assert.equal(linkIndexes(b, "08936012345674", "PT25-0002"), null);
  assert.equal(linkIndexes(b, "08936012345674", "PT25-000"), null); // a prefix is not the code
  assert.equal(linkIndexes(b, "08936012345698", "PT25-0001"), null);
  assert.equal(linkIndexes({ ...b, links: null }, "08936012345674", "PT25-0001"), null); // an older bundle
});

for (const c of META.verdicts) {
  test(`offline verdict of a Digital Link, ${c.name}: ${c.verdict}`, async () => {
    const verifier = new OfflineVerifier({ jwksKeys: JWKS, bundle: await load() });
    const r = await verifier.check(c.link, { today: day(c.today), now: c.now });
    const verdict = r.verdict === "confirm_online" ? "check_online" : r.verdict;
    assert.deepEqual([verdict, r.cause], [c.verdict, c.cause]);
    assert.equal(r.product, c.product);
    assert.equal(r.lot, c.lot);
    if (c.verdict !== "check_online" || c.cause !== "link_unknown") assert.ok(r.token);
    else assert.ok(r.linkPath.startsWith("/01/") && r.token === null && r.serialText);
  });
}

test("an unknown lot past the bundle's validity says the bundle is out of date", async () => {
  const verifier = new OfflineVerifier({ jwksKeys: JWKS, bundle: await load() });
  const unknown = META.verdicts.find((c) => c.cause === "link_unknown").link;
  const r = await verifier.check(unknown, { today: day("2026-12-01"), now: META.verdicts[0].now + 8 * 86400 });
  assert.deepEqual([r.verdict, r.cause], ["confirm_online", "bundle_expired"]);
});

// LINK_LOTS bodies signed with the public test key (seed SHA-256("OCOP-STAMP test vector key 1")),
// as tests/unit/test_bundle_links_vector.py's inconsistent sections: the JS reader refuses them too.
async function signedBody(sectionData) {
  const { createHash } = await import("node:crypto");
  const { gzipSync } = await import("node:zlib");
  const ed = await import("@noble/ed25519");
  const seed = createHash("sha256").update("OCOP-STAMP test vector key 1").digest();
  const section = Buffer.concat([Buffer.from([0x43]), u32(sectionData.length), sectionData]);
  const body = gzipSync(section);
  const header = Buffer.concat([
    Buffer.from("OCSB"), Buffer.from([1]), Buffer.from(V1.signing_kid, "hex"),
    Buffer.alloc(8, 0), u32(1), u32(2), u32(body.length),
  ]);
  const signature = ed.sign(Buffer.concat([Buffer.from("OCOP-STATUS-V1\u0000"), header, body]), seed);
  return new Uint8Array(Buffer.concat([header, body, signature]));
}

function u32(n) {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

function linkData(products, counts, varints, codes) {
  const n = counts.reduce((a, b) => a + b, 0);
  return Buffer.concat([u32(products.length), u32(n), ...products.map(u32), ...counts.map(u32), Buffer.from(varints), Buffer.from(codes)]);
}

const verifyWith = (file) => verifyBundle(file, async () => nobleVerifier(TEST_KEY.publicKey));

test("a signed, consistent LINK_LOTS section resolves; inconsistent ones are refused", async () => {
  const { InvalidBundle } = await import("../src/bundle.js");
  const good = await verifyWith(await signedBody(linkData([7], [2], [5, 3, 4], "a\u0000b\u0000")));
  assert.deepEqual(linkIndexes(good, "00000000000005", "b"), { productIndex: 7, lotIndex: 7 });
  for (const [name, data] of [
    ["GTINs not ascending", linkData([1, 2], [1, 1], [5, 0, 1, 2], "a\u0000b\u0000")],
    ["not a GTIN-14", linkData([1], [1], [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 1], "a\u0000")],
    ["lots not ascending", linkData([1], [2], [5, 1, 0], "a\u0000b\u0000")],
    ["fewer codes than lots", linkData([1], [2], [5, 1, 1], "a\u0000")],
    ["numbers run past the section", linkData([1], [2], [5, 1], "")],
    ["counts do not add up", Buffer.concat([u32(1), u32(2), u32(1), u32(1), Buffer.from([5, 1]), Buffer.from("a\u0000")])],
  ]) {
    await assert.rejects(verifyWith(await signedBody(data)), InvalidBundle, name);
  }
});
