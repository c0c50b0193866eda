// The GS1 Digital Link form of a version-1 stamp (docs/stamp-format.md, "Digital Link form"):
//
//   https://HOST/01/{GTIN-14}/10/{lot}/21/{serial}?8030={signature}&v={version kid expiry}
//
// The link carries the same signed body as the opaque token, except the product and lot
// indexes: the scanner maps the GTIN and the lot code to them with the bundle's LINK_LOTS table
// and rebuilds the token, which it then verifies exactly as a scanned opaque stamp. Mirrors
// stamp_service/domain/digital_link.py rule for rule (the shared vectors in
// tests/assets/digital_link_vectors.json check both).

import { base32Encode, concatBytes, fromHex, toHex } from "./codec.js";
import { compactSerial, parseSerial } from "./serial.js";
import { InvalidStamp } from "./stamp.js";

export const MAX_URL_CHARS = 400;
const SIGNATURE_AI = "8030";
const TAIL_PARAM = "v";
// AI 10 (batch/lot): 1 to 20 characters of GS1 AI encodable character set 82.
const CSET82 = /^[!"%&'()*+,\-./0-9:;<=>?A-Z_a-z]{1,20}$/;
const PATH = /^\/01\/([0-9]{14})\/10\/([^/]+)\/21\/([^/]+)\/?$/;
const LINK_SHAPE = /^\s*[a-z][a-z0-9+.-]*:\/\/[^/?#]*\/01\//i;

const malformed = (message) => new InvalidStamp("malformed-stamp", message);

/** Whether a scanned text is shaped as a Digital Link (then parseDigitalLink decides if it is one). */
export function looksLikeDigitalLink(text) {
  return LINK_SHAPE.test(String(text));
}

/** GS1 mod-10 check digit of a GTIN's digits without its last one. */
function gtinCheckDigit(body) {
  let sum = 0;
  for (let i = 0; i < body.length; i++) {
    const d = body.charCodeAt(body.length - 1 - i) - 48;
    sum += i % 2 === 0 ? 3 * d : d;
  }
  return (10 - (sum % 10)) % 10;
}

/** Percent-decoding as Python's urllib.parse.unquote: a broken escape stays as it is. */
function unquote(text) {
  const bytes = [];
  let out = "";
  const flush = () => {
    if (bytes.length) out += new TextDecoder("utf-8").decode(Uint8Array.from(bytes.splice(0)));
  };
  for (let i = 0; i < text.length; i++) {
    const hex = text.slice(i + 1, i + 3);
    if (text[i] === "%" && /^[0-9a-fA-F]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      flush();
      out += text[i];
    }
  }
  flush();
  return out;
}

function base64UrlSignature(text) {
  if (!/^[A-Za-z0-9_-]{86}$/.test(text)) throw malformed(`AI ${SIGNATURE_AI} is 86 base64url characters`);
  const bin = atob(text.replace(/-/g, "+").replace(/_/g, "/") + "==");
  const raw = Uint8Array.from(bin, (c) => c.charCodeAt(0));
  const again = btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  if (again !== text) throw malformed(`AI ${SIGNATURE_AI} is not canonical`); // one stamp, one text
  return raw;
}

/**
 * Read a Digital Link stamp: {gtin (14 digits), lotCode, serial (BigInt), version, kid (hex),
 * expiryDay, signature, path (path and query, to ask the service about it)}. Throws InvalidStamp
 * (malformed-stamp) for anything the service's parser refuses.
 */
export function parseDigitalLink(text) {
  const t = String(text).trim();
  if (t.length > MAX_URL_CHARS) throw malformed("the stamp code is too long");
  if (!/^[!-~]*$/.test(t)) throw malformed("a stamp's Digital Link is printable ASCII with no space");
  const at = t.indexOf("://");
  if (at < 0 || t.slice(0, at).toLowerCase() !== "https") throw malformed("a stamp's Digital Link is an https URL");
  let rest = t.slice(at + 3);
  const hash = rest.indexOf("#");
  if (hash >= 0) rest = rest.slice(0, hash); // as urlsplit: the fragment is not part of the stamp
  const ends = [rest.indexOf("/"), rest.indexOf("?")].filter((i) => i >= 0);
  const hostEnd = ends.length ? Math.min(...ends) : rest.length;
  if (hostEnd === 0) throw malformed("a stamp's Digital Link is an https URL");
  const pathAndQuery = rest.slice(hostEnd);
  const q = pathAndQuery.indexOf("?");
  const path = q >= 0 ? pathAndQuery.slice(0, q) : pathAndQuery;
  const query = q >= 0 ? pathAndQuery.slice(q + 1) : "";
  const m = PATH.exec(path);
  if (!m || path.length > MAX_URL_CHARS) throw malformed("a stamp's Digital Link is /01/{GTIN}/10/{lot}/21/{serial}");
  const [, gtin, lotText, serialText] = m;
  const lotCode = unquote(lotText);
  if (lotCode.length + query.length > MAX_URL_CHARS || !/^[\x00-\x7f]*$/.test(query)) {
    throw malformed("not a stamp's Digital Link");
  }
  if (gtinCheckDigit(gtin.slice(0, 13)) !== Number(gtin[13])) throw malformed("AI 01: wrong GTIN check digit");
  if (!CSET82.test(lotCode)) throw malformed("AI 10 is not a valid lot code");
  let serial;
  try {
    serial = parseSerial(serialText);
  } catch {
    throw malformed("AI 21 is not a serial of this service");
  }
  if (compactSerial(serial) !== serialText) throw malformed("AI 21 is not in its canonical form");
  const params = [...new URLSearchParams(query)];
  const values = new Map(params.filter(([k]) => k === SIGNATURE_AI || k === TAIL_PARAM));
  if (values.size !== 2 || params.filter(([k]) => values.has(k)).length !== 2) {
    throw malformed(`a stamp's Digital Link carries ${SIGNATURE_AI}= and ${TAIL_PARAM}= once each`);
  }
  const signature = base64UrlSignature(values.get(SIGNATURE_AI));
  const tailText = values.get(TAIL_PARAM);
  if (!/^[0-9A-Fa-f]{14}$/.test(tailText)) throw malformed("the stamp fields (v=) are 14 hexadecimal digits");
  const tail = fromHex(tailText);
  if (tail[0] !== 1) throw malformed(`stamp format version ${tail[0]} has no Digital Link form`);
  return {
    gtin,
    lotCode,
    serial,
    version: tail[0],
    kid: toHex(tail.subarray(1, 5)),
    expiryDay: (tail[5] << 8) | tail[6],
    signature,
    path: pathAndQuery,
  };
}

/** The opaque token with the same signed body, once the GTIN and lot are resolved to indexes. */
export function linkToken(link, productIndex, lotIndex) {
  const body = new Uint8Array(23);
  const v = new DataView(body.buffer);
  body[0] = link.version;
  body.set(fromHex(link.kid), 1);
  v.setBigUint64(5, link.serial);
  v.setUint32(13, productIndex);
  v.setUint32(17, lotIndex);
  v.setUint16(21, link.expiryDay);
  return base32Encode(concatBytes(body, link.signature));
}
