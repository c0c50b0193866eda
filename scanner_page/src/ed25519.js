// Ed25519 verification: WebCrypto where the browser has it (fast, native), otherwise the small
// audited @noble/ed25519 (pure JS, with @noble/hashes for SHA-512 so it works synchronously).

import * as ed from "@noble/ed25519";
import { sha512 } from "@noble/hashes/sha2.js";

ed.hashes.sha512 = sha512;

let webCryptoOk; // undefined: not probed yet

async function probeWebCrypto() {
  if (webCryptoOk !== undefined) return webCryptoOk;
  try {
    const subtle = globalThis.crypto && globalThis.crypto.subtle;
    // The RFC 8032 test 1 public key: importing it tells whether Ed25519 is there at all.
    const raw = new Uint8Array([
      0xd7, 0x5a, 0x98, 0x01, 0x82, 0xb1, 0x0a, 0xb7, 0xd5, 0x4b, 0xfe, 0xd3, 0xc9, 0x64, 0x07, 0x3a, 0x0e, 0xe1,
      0x72, 0xf3, 0xda, 0xa6, 0x23, 0x25, 0xaf, 0x02, 0x1a, 0x68, 0xf7, 0x07, 0x51, 0x1a,
    ]);
    await subtle.importKey("raw", raw, { name: "Ed25519" }, false, ["verify"]);
    webCryptoOk = true;
  } catch {
    webCryptoOk = false;
  }
  return webCryptoOk;
}

/** Which implementation verifies here: "webcrypto" or "noble". */
export async function backend() {
  return (await probeWebCrypto()) ? "webcrypto" : "noble";
}

export async function webCryptoVerifier(rawPublicKey) {
  const key = await crypto.subtle.importKey("raw", rawPublicKey, { name: "Ed25519" }, false, ["verify"]);
  return (signature, message) => crypto.subtle.verify({ name: "Ed25519" }, key, signature, message);
}

export function nobleVerifier(rawPublicKey) {
  const pub = Uint8Array.from(rawPublicKey);
  return async (signature, message) => {
    try {
      return ed.verify(signature, message, pub, { zip215: false }); // RFC 8032 strict, like the server
    } catch {
      return false;
    }
  };
}

/** A verifier bound to one raw 32-byte public key: async (signature, message) -> boolean. */
export async function makeVerifier(rawPublicKey) {
  return (await probeWebCrypto()) ? webCryptoVerifier(rawPublicKey) : nobleVerifier(rawPublicKey);
}

export async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}
