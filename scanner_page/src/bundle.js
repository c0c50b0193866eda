// The signed offline status bundle, format version 1 (docs/status-bundle.md is normative).
//
// file    = header (29 bytes) || body (gzip, body_len bytes) || Ed25519 signature (64 bytes)
// header  = "OCSB" | version u8 (=1) | kid 4 | seq u64 | issued_at u32 | refresh_after u32 | body_len u32
// message = "OCOP-STATUS-V1" 0x00 || header || body   (the exact file bytes before the signature)
// body    = gzip of sections: type u8 | length u32 | data   (unknown types are skipped)
//
// Later additions (VALIDITY, PENDING_KEYS, the name tables, LINK_LOTS) are sections a version 1
// reader skips, so older scanners keep reading newer bundles.
//
// The signature is checked with a key from the JWKS before anything is decompressed, and the
// decompressed size is capped, so a hostile file costs one signature check.

import { concatBytes, toHex } from "./codec.js";

export const MAGIC = "OCSB";
const DOMAIN_V1 = new TextEncoder().encode("OCOP-STATUS-V1\u0000");
const HEADER_LEN = 29;
const SIGNATURE_LEN = 64;
export const MAX_BODY = 64 * 1024 * 1024;
const KEY_LEN = 49;
export const SECTION = {
  KEYS: 0x01,
  PRODUCTS: 0x02,
  VALIDITY: 0x03,
  PENDING_KEYS: 0x04,
  PRODUCT_WITHDRAWN: 0x10,
  PRODUCT_BELOW_THREE: 0x11,
  LOT_RECALLED: 0x20,
  VOIDED_SERIALS: 0x30,
  PRODUCERS: 0x40,
  PRODUCT_NAMES: 0x41,
  LOT_CODES: 0x42,
  LINK_LOTS: 0x43,
};
const PENDING = 4;
const BITSETS = [SECTION.PRODUCT_WITHDRAWN, SECTION.PRODUCT_BELOW_THREE, SECTION.LOT_RECALLED];
const KEY_STATES = { 1: "active", 2: "retired", 3: "compromised" };

export class InvalidBundle extends Error {
  constructor(message) {
    super(message);
    this.kind = "invalid-bundle";
  }
}

/** The unsigned header: for display and key choice only, trust nothing before verifyBundle. */
export function readHeader(data) {
  if (data.length < HEADER_LEN + SIGNATURE_LEN) throw new InvalidBundle("too short to be a status bundle");
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (String.fromCharCode(data[0], data[1], data[2], data[3]) !== MAGIC) {
    throw new InvalidBundle("not a status bundle (bad magic)");
  }
  const version = data[4];
  if (version !== 1) throw new InvalidBundle(`status bundle version ${version} is not known here`);
  const header = {
    version,
    kid: toHex(data.subarray(5, 9)),
    seq: v.getBigUint64(9),
    issuedAt: v.getUint32(17),
    refreshAfter: v.getUint32(21),
    bodyLen: v.getUint32(25),
  };
  if (data.length !== HEADER_LEN + header.bodyLen + SIGNATURE_LEN) {
    throw new InvalidBundle("the status bundle's length does not match its header");
  }
  return header;
}

async function gunzip(body) {
  if (typeof DecompressionStream === "undefined") throw new InvalidBundle("this browser cannot gunzip");
  const stream = new Blob([body]).stream().pipeThrough(new DecompressionStream("gzip"));
  const reader = stream.getReader();
  const chunks = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > MAX_BODY) {
        await reader.cancel();
        throw new InvalidBundle("the status bundle's body is too large");
      }
      chunks.push(value);
    }
  } catch (err) {
    if (err instanceof InvalidBundle) throw err;
    throw new InvalidBundle("the status bundle's body is not valid gzip");
  }
  return concatBytes(...chunks);
}

/** Bit i is bit (7 - i % 8) of byte i / 8, most significant first. */
export function bitsetHas(bits, i) {
  return bits !== undefined && i >= 0 && i < bits.size && (bits.data[i >> 3] & (0x80 >> (i & 7))) !== 0;
}

function parseBitset(data) {
  if (data.length < 4) throw new InvalidBundle("truncated bitset");
  const size = new DataView(data.buffer, data.byteOffset, 4).getUint32(0);
  if (data.length - 4 !== Math.ceil(size / 8)) throw new InvalidBundle("a bitset's length does not match its size");
  return { size, data: data.subarray(4) };
}

function parseKeys(data, pending = false) {
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (data.length < 2) throw new InvalidBundle("a section is shorter than its contents say");
  const count = v.getUint16(0);
  if (data.length !== 2 + count * KEY_LEN) throw new InvalidBundle("the key section's length does not match its count");
  const keys = new Map();
  for (let i = 0; i < count; i++) {
    const at = 2 + i * KEY_LEN;
    const code = data[at + 36];
    const state = pending ? (code === PENDING ? "pending" : undefined) : KEY_STATES[code];
    if (!state) throw new InvalidBundle(`unknown key state ${data[at + 36]}`);
    const kid = toHex(data.subarray(at, at + 4));
    keys.set(kid, {
      kid,
      publicKey: data.slice(at + 4, at + 36),
      state,
      activatedAt: v.getUint32(at + 37),
      retiredAt: v.getUint32(at + 41),
      compromisedAt: v.getUint32(at + 45),
    });
  }
  return keys;
}

function parseProducts(data) {
  if (data.length < 4) throw new InvalidBundle("a section is shorter than its contents say");
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const n = v.getUint32(0);
  if (data.length !== 4 + 3 * n) throw new InvalidBundle("the product section's length does not match its count");
  const validUntil = new Uint16Array(n);
  for (let i = 0; i < n; i++) validUntil[i] = v.getUint16(4 + 2 * i);
  return { validUntil, stars: data.slice(4 + 2 * n) };
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * `count` NUL-terminated UTF-8 strings that fill `data` from `start` exactly. Checked as UTF-8
 * once, decoded one by one on lookup: a national bundle carries ~400,000 lot codes, and
 * decoding them all at load cost most of a second on a phone-class CPU.
 */
export class StringTable {
  constructor(data, start, count) {
    this.data = data;
    this.offsets = new Uint32Array(count + 1);
    let pos = start;
    for (let i = 0; i < count; i++) {
      this.offsets[i] = pos;
      const end = data.indexOf(0, pos);
      if (end < 0) throw new InvalidBundle("a name table's length does not match its count");
      pos = end + 1;
    }
    this.offsets[count] = pos;
    if (pos !== data.length) throw new InvalidBundle("a name table's length does not match its count");
    try {
      utf8.decode(data.subarray(start));
    } catch {
      throw new InvalidBundle("a name table is not UTF-8");
    }
    this.length = count;
  }

  get(i) {
    if (!(i >= 0 && i < this.length)) return undefined;
    return utf8.decode(this.data.subarray(this.offsets[i], this.offsets[i + 1] - 1));
  }

  all() {
    return Array.from({ length: this.length }, (_, i) => this.get(i));
  }
}

const EMPTY = new StringTable(new Uint8Array(0), 0, 0);

function parseNames(producersData, namesData, lotsData) {
  const producers = producersData ? new StringTable(producersData, 4, view(producersData, 4).getUint32(0)) : EMPTY;
  let productProducer = new Uint32Array(0);
  let productNames = EMPTY;
  if (namesData) {
    const n = view(namesData, 4).getUint32(0);
    if (namesData.length < 4 + 4 * n) throw new InvalidBundle("a section is shorter than its contents say");
    const v = view(namesData, 4 + 4 * n);
    productProducer = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      productProducer[i] = v.getUint32(4 + 4 * i);
      if (productProducer[i] > producers.length) {
        throw new InvalidBundle("a product names a producer that is not in the table");
      }
    }
    productNames = new StringTable(namesData, 4 + 4 * n, n);
  }
  let lotFirst = 0;
  let lotCodes = EMPTY;
  if (lotsData) {
    const v = view(lotsData, 8);
    lotFirst = v.getUint32(0);
    lotCodes = new StringTable(lotsData, 8, v.getUint32(4));
  }
  return { producers, productProducer, productNames, lotFirst, lotCodes };
}

/** `count` unsigned LEB128 numbers from `pos` (as BigInt: a GTIN needs 47 bits); -> [values, end]. */
function readVarints(data, pos, count) {
  const out = new Array(count);
  for (let i = 0; i < count; i++) {
    let value = 0n;
    let shift = 0n;
    for (;;) {
      if (pos >= data.length || shift > 63n) throw new InvalidBundle("a number in LINK_LOTS runs past its section");
      const byte = data[pos++];
      value |= BigInt(byte & 0x7f) << shift;
      shift += 7n;
      if (byte < 0x80) break;
    }
    out[i] = value;
  }
  return [out, pos];
}

/**
 * LINK_LOTS: p u32, n u32, p x product index u32, p x lot count u32, p varint GTIN deltas, n
 * varint lot index deltas (per GTIN), n codes ("" = read it from LOT_CODES), grouped by GTIN.
 * Codes are compared as UTF-8 bytes on lookup, never decoded all at once (so a code written
 * twice for one GTIN, which the service never writes and the Python reader refuses, is not
 * looked for here: the first one answers).
 */
function parseLinks(data) {
  if (data === undefined) return null;
  const head = view(data, 8);
  const p = head.getUint32(0);
  const n = head.getUint32(4);
  const v = view(data, 8 + 8 * p);
  const products = new Uint32Array(p);
  const starts = new Uint32Array(p + 1);
  for (let i = 0; i < p; i++) {
    products[i] = v.getUint32(8 + 4 * i);
    starts[i + 1] = starts[i] + v.getUint32(8 + 4 * p + 4 * i);
  }
  if (starts[p] !== n) throw new InvalidBundle("the lot counts of LINK_LOTS do not add up");
  const [gtinDeltas, at] = readVarints(data, 8 + 8 * p, p);
  const [lotDeltas, end] = readVarints(data, at, n);
  const gtins = new BigUint64Array(p);
  for (let i = 0; i < p; i++) {
    if (i > 0 && gtinDeltas[i] === 0n) throw new InvalidBundle("the Digital Link GTINs are not strictly ascending");
    gtins[i] = (i ? gtins[i - 1] : 0n) + gtinDeltas[i];
  }
  if (p && gtins[p - 1] >= 10n ** 14n) throw new InvalidBundle("a Digital Link GTIN is longer than 14 digits");
  const lotIndexes = new Uint32Array(n);
  for (let g = 0; g < p; g++) {
    let index = 0n;
    for (let j = starts[g]; j < starts[g + 1]; j++) {
      if (j > starts[g] && lotDeltas[j] === 0n) throw new InvalidBundle("a GTIN's lots are not strictly ascending");
      index += lotDeltas[j];
      if (index > 0xffffffffn) throw new InvalidBundle("a lot index is larger than 32 bits");
      lotIndexes[j] = Number(index);
    }
  }
  return { gtins, products, starts, lotIndexes, codes: new StringTable(data, end, n) };
}

function view(data, atLeast) {
  if (data.length < atLeast) throw new InvalidBundle("a section is shorter than its contents say");
  return new DataView(data.buffer, data.byteOffset, data.byteLength);
}

function parseValidity(data) {
  if (data === undefined) return 0;
  if (data.length !== 4) throw new InvalidBundle("the validity section is not 4 bytes");
  return view(data, 4).getUint32(0);
}

function parseVoided(data) {
  if (data.length < 4) throw new InvalidBundle("a section is shorter than its contents say");
  const v = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const n = v.getUint32(0);
  if (data.length !== 4 + 8 * n) {
    throw new InvalidBundle("the voided-serial section's length does not match its count");
  }
  const out = new BigUint64Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = v.getBigUint64(4 + 8 * i);
    if (i > 0 && out[i - 1] >= out[i]) throw new InvalidBundle("voided serials are not strictly ascending");
  }
  return out;
}

function parseBody(body) {
  const v = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const sections = new Map();
  let pos = 0;
  while (pos < body.length) {
    if (pos + 5 > body.length) throw new InvalidBundle("truncated section header");
    const kind = body[pos];
    const length = v.getUint32(pos + 1);
    pos += 5;
    if (pos + length > body.length) throw new InvalidBundle("truncated section");
    if (sections.has(kind)) throw new InvalidBundle(`section ${kind} appears twice`);
    sections.set(kind, body.subarray(pos, pos + length));
    pos += length;
  }
  const bitsets = new Map();
  for (const kind of BITSETS) if (sections.has(kind)) bitsets.set(kind, parseBitset(sections.get(kind)));
  const keys = parseKeys(sections.get(SECTION.KEYS) ?? new Uint8Array(2));
  for (const [kid, key] of parseKeys(sections.get(SECTION.PENDING_KEYS) ?? new Uint8Array(2), true)) {
    if (!keys.has(kid)) keys.set(kid, key); // a key listed in both is decided by KEYS
  }
  return {
    keys,
    products: parseProducts(sections.get(SECTION.PRODUCTS) ?? new Uint8Array(4)),
    voided: parseVoided(sections.get(SECTION.VOIDED_SERIALS) ?? new Uint8Array(4)),
    validUntil: parseValidity(sections.get(SECTION.VALIDITY)),
    names: parseNames(
      sections.get(SECTION.PRODUCERS),
      sections.get(SECTION.PRODUCT_NAMES),
      sections.get(SECTION.LOT_CODES),
    ),
    links: parseLinks(sections.get(SECTION.LINK_LOTS)),
    bitsets,
  };
}

/**
 * Check the bundle's signature with a trusted key, then parse it.
 * `verifierFor(kidHex)` returns an async (signature, message) -> boolean, or null for a key not
 * trusted to sign bundles. Throws InvalidBundle.
 */
export async function verifyBundle(data, verifierFor) {
  const header = readHeader(data);
  const verify = await verifierFor(header.kid);
  if (!verify) throw new InvalidBundle(`the bundle is signed by key ${header.kid}, which is not trusted here`);
  const signed = data.subarray(0, HEADER_LEN + header.bodyLen);
  const ok = await verify(data.subarray(data.length - SIGNATURE_LEN), concatBytes(DOMAIN_V1, signed));
  if (!ok) throw new InvalidBundle("the status bundle's signature does not match");
  const parsed = parseBody(await gunzip(data.subarray(HEADER_LEN, HEADER_LEN + header.bodyLen)));
  return { ...header, ...parsed };
}

/**
 * The key a bundle signed by `kid` may be checked with (docs/status-bundle.md "Trust"): a JWKS
 * key that is active or retired, or a key of a bundle accepted before that is not compromised
 * (nor pending); never one the JWKS calls compromised. Null when the bundle must be refused.
 */
export function trustedBundleKey(kid, jwksKeys, previousKeys = new Map()) {
  const signs = (key) => key.state !== "compromised" && key.state !== "pending"; // pending signs nothing yet
  const fromJwks = jwksKeys.get(kid);
  if (fromJwks) return signs(fromJwks) ? fromJwks : null;
  const fromBundle = previousKeys.get(kid);
  return fromBundle && signs(fromBundle) ? fromBundle : null;
}

/** The product's name and producer, or null when the bundle does not name it. */
export function productName(bundle, index) {
  const n = bundle && bundle.names;
  const name = n && n.productNames.get(index);
  if (!name) return null;
  const producer = n.productProducer[index];
  return { name, producer: producer ? n.producers.get(producer - 1) : "" };
}

/** The lot's code, or null when the bundle does not carry it (older lots: see docs). */
export function lotCode(bundle, index) {
  const n = bundle && bundle.names;
  const i = index - (n ? n.lotFirst : 0);
  return (n && n.lotCodes.get(i)) || null;
}

/** True once the bundle's own validity has passed (it then gives no verdict). */
export function bundleExpired(bundle, nowSeconds) {
  return Boolean(bundle && bundle.validUntil) && nowSeconds > bundle.validUntil;
}

/** Binary search in the sorted voided serials. */
export function isVoided(bundle, serial) {
  const a = bundle.voided;
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid] < serial) lo = mid + 1;
    else hi = mid;
  }
  return lo < a.length && a[lo] === serial;
}

const encoder = new TextEncoder();

/**
 * The (product index, lot index) a Digital Link's GTIN (14 digits) and lot code stand for, or
 * null when the bundle does not carry them (a lot newer than the bundle: confirm online).
 */
export function linkIndexes(bundle, gtin, lotCodeText) {
  const links = bundle && bundle.links;
  if (!links) return null;
  const value = BigInt(gtin);
  let lo = 0;
  let hi = links.gtins.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (links.gtins[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  if (lo === links.gtins.length || links.gtins[lo] !== value) return null;
  const want = encoder.encode(lotCodeText);
  const { data, offsets } = links.codes;
  for (let j = links.starts[lo]; j < links.starts[lo + 1]; j++) {
    const start = offsets[j];
    const length = offsets[j + 1] - 1 - start;
    let same;
    if (length === 0) {
      same = lotCode(bundle, links.lotIndexes[j]) === lotCodeText; // carried once, in LOT_CODES
    } else {
      same = length === want.length;
      for (let k = 0; k < want.length && same; k++) same = data[start + k] === want[k];
    }
    if (same) return { productIndex: links.products[lo], lotIndex: links.lotIndexes[j] };
  }
  return null;
}
