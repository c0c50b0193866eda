// Stamp tokens, format version 1 (docs/stamp-format.md): parse the URL or bare token, read the
// version byte first, then the fixed 23-byte body and the 64-byte Ed25519 signature. Mirrors
// stamp_service/domain/stamp_format.py; verification of the signature is in verify.js.

import { base32Decode, concatBytes, toHex } from "./codec.js";

export const MAX_TOKEN_CHARS = 400;
export const DOMAIN_V1 = new TextEncoder().encode("OCOP-STAMP-V1\u0000");
const BODY_V1_LEN = 23;
const TOKEN_V1_LEN = 87;
const URL_PATH = "/V/";

export class InvalidStamp extends Error {
  constructor(kind, message, extra = {}) {
    super(message);
    this.kind = kind; // malformed-stamp | unknown-stamp-version | unknown-signing-key | bad-signature
    Object.assign(this, extra);
  }
}

const malformed = (message) => new InvalidStamp("malformed-stamp", message);

/** The token text of a stamp URL (any case, one optional trailing slash) or of a bare token. */
export function parseStampUrl(text) {
  let t = String(text).trim();
  if (t.length > MAX_TOKEN_CHARS) throw malformed("the stamp code is too long");
  if (t.includes("://")) {
    const at = t.indexOf("://");
    const scheme = t.slice(0, at);
    const rest = t.slice(at + 3);
    const slash = rest.indexOf("/");
    if (scheme.toLowerCase() !== "https" || slash <= 0) throw malformed("a stamp URL is https://HOST/V/CODE");
    const path = rest.slice(slash);
    if (!path.toUpperCase().startsWith(URL_PATH)) throw malformed("a stamp URL is https://HOST/V/CODE");
    t = path.slice(URL_PATH.length);
    if (t.endsWith("/")) t = t.slice(0, -1);
  }
  if (/[/?#]/.test(t)) throw malformed("a stamp URL is https://HOST/V/CODE");
  return t.toUpperCase();
}

function parseV1(raw) {
  if (raw.length !== TOKEN_V1_LEN) {
    throw malformed(`a version 1 stamp code has ${TOKEN_V1_LEN} bytes, this one has ${raw.length}`);
  }
  const body = raw.subarray(0, BODY_V1_LEN);
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const serial = view.getBigUint64(5);
  if (serial === 0n) throw malformed("the stamp code carries serial zero");
  const claims = {
    version: 1,
    kid: toHex(body.subarray(1, 5)),
    serial,
    productIndex: view.getUint32(13),
    lotIndex: view.getUint32(17),
    expiryDay: view.getUint16(21),
  };
  return { claims, signature: raw.slice(BODY_V1_LEN), message: concatBytes(DOMAIN_V1, body) };
}

// version byte -> parser of the whole decoded token; version 2 adds one entry.
const PARSERS = new Map([[1, parseV1]]);

/** Decode a token (any case) into {claims, signature, message}; nothing is verified here. */
export function parseToken(text) {
  if (text.length > MAX_TOKEN_CHARS) throw malformed("the stamp code is too long");
  const token = text.toUpperCase();
  if (!token || !/^[A-Z2-7]+$/.test(token)) {
    throw malformed("the stamp code has characters outside Base32 (A-Z, 2-7)");
  }
  const raw = base32Decode(token);
  if (raw === null) throw malformed("the stamp code is not canonical Base32");
  if (raw.length === 0) throw malformed("the stamp code is empty");
  const parser = PARSERS.get(raw[0]);
  if (!parser) {
    throw new InvalidStamp("unknown-stamp-version", `stamp format version ${raw[0]} is not known here`, {
      version: raw[0],
    });
  }
  return parser(raw);
}

/** Day number (days since 1970-01-01) -> ISO date. */
export function dayToIso(day) {
  return new Date(day * 86400000).toISOString().slice(0, 10);
}

/** Today in Vietnam (UTC+7, no DST) as a day number: certificate validity is counted in local days. */
export function vietnamToday(nowMs = Date.now()) {
  return Math.floor((nowMs + 7 * 3600000) / 86400000);
}
