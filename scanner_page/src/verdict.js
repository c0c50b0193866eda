// From a scanned text to a verdict, offline: the stamp's signature against the known keys, then
// the status bundle (docs/status-bundle.md, "Verdict"; the same order as domain/bundle.py
// offline_verdict): voided stamp, recalled lot, no/withdrawn/below-3-star certificate ->
// revoked; certificate validity or the stamp's own expiry day passed -> expired. A compromised
// key, a product newer than the bundle, a bundle past its own validity or no bundle at all ->
// "confirm online". A key the bundle lists as pending verifies like an active one (the server
// activated it after this bundle was built: that is what publishing it early is for).
// A GS1 Digital Link stamp is turned back into its token with the bundle's LINK_LOTS table and
// then decided exactly as the opaque form; a GTIN or lot the bundle does not carry (a lot newer
// than the bundle) cannot be checked offline and is "confirm online", never "not genuine".

import { bitsetHas, bundleExpired, isVoided, linkIndexes, lotCode, productName, SECTION } from "./bundle.js";
import { base64UrlDecode, equalBytes, toHex } from "./codec.js";
import { linkToken, looksLikeDigitalLink, parseDigitalLink } from "./digital_link.js";
import { makeVerifier, sha256 } from "./ed25519.js";
import { formatSerial } from "./serial.js";
import { InvalidStamp, parseStampUrl, parseToken, vietnamToday } from "./stamp.js";

export const VERDICTS = ["genuine", "suspicious", "expired", "revoked", "not_genuine", "confirm_online"];

/** Decide from a parsed stamp whose signature was checked. Pure. */
export function decide({ claims, key, signatureOk, bundle, today, now = null }) {
  const outOfDate = now !== null && bundleExpired(bundle, now);
  if (!key) {
    return outOfDate ? { verdict: "confirm_online", cause: "bundle_expired" } : { verdict: "not_genuine", cause: "unknown_key" };
  }
  if (!signatureOk) return { verdict: "not_genuine", cause: "bad_signature" };
  if (key.state === "compromised") return { verdict: "confirm_online", cause: "key_compromised" };
  if (!bundle) return { verdict: "confirm_online", cause: "no_bundle" };
  if (outOfDate) return { verdict: "confirm_online", cause: "bundle_expired" };
  const p = claims.productIndex;
  const { validUntil, stars: starsByProduct } = bundle.products;
  if (p >= validUntil.length) return { verdict: "confirm_online", cause: "product_unknown" };
  const stars = starsByProduct[p] || null;
  if (isVoided(bundle, claims.serial)) return { verdict: "revoked", cause: "stamp_voided", stars };
  if (bitsetHas(bundle.bitsets.get(SECTION.LOT_RECALLED), claims.lotIndex)) {
    return { verdict: "revoked", cause: "lot_recalled", stars };
  }
  const until = validUntil[p];
  if (until === 0) return { verdict: "revoked", cause: "no_certificate" };
  if (bitsetHas(bundle.bitsets.get(SECTION.PRODUCT_WITHDRAWN), p)) {
    return { verdict: "revoked", cause: "stars_withdrawn", stars };
  }
  if (bitsetHas(bundle.bitsets.get(SECTION.PRODUCT_BELOW_THREE), p)) {
    return { verdict: "revoked", cause: "stars_below_three", stars };
  }
  if (today > until) return { verdict: "expired", cause: "certificate_expired", stars, validUntil: until };
  if (today > claims.expiryDay) return { verdict: "expired", cause: "stamp_expired", stars };
  return { verdict: "genuine", cause: null, stars, validUntil: until };
}

/** The keys the scanner trusts: the JWKS (kid checked against the key) merged with the bundle's. */
export async function keysFromJwks(jwks) {
  const keys = new Map();
  for (const jwk of (jwks && jwks.keys) || []) {
    if (jwk.kty !== "OKP" || jwk.crv !== "Ed25519" || typeof jwk.x !== "string") continue;
    const raw = base64UrlDecode(jwk.x);
    if (raw.length !== 32) continue;
    const kid = toHex((await sha256(raw)).subarray(0, 4));
    if (kid !== jwk.kid) continue; // a kid that does not name its key is ignored, not trusted
    keys.set(kid, { kid, publicKey: raw, state: jwk.ocop_state || "active" });
  }
  return keys;
}

const WORSE = { pending: 0, active: 0, retired: 1, compromised: 2 };

/**
 * The offline verifier: holds the trusted keys and the bundle; `check(text)` gives a verdict
 * with no network. One Ed25519 verifier per key is imported once and reused.
 */
export class OfflineVerifier {
  constructor({ jwksKeys = new Map(), bundle = null } = {}) {
    this.jwksKeys = jwksKeys;
    this.bundle = bundle;
    this.verifiers = new Map();
  }

  /**
   * The key that decides a stamp: with a bundle, its KEYS (docs/status-bundle.md rule 1: a kid
   * not in them is unknown), the state being the worse of the bundle's and the JWKS's (the JWKS
   * may be newer); without a bundle, the JWKS. A JWKS key whose public key differs from the
   * bundle's is treated as compromised (confirm online).
   */
  key(kid) {
    const a = this.jwksKeys.get(kid);
    const b = this.bundle ? this.bundle.keys.get(kid) : a;
    if (!b) return null;
    if (a && !equalBytes(a.publicKey, b.publicKey)) return { ...b, state: "compromised" };
    const state = [a, b].filter(Boolean).map((k) => k.state).sort((x, y) => WORSE[y] - WORSE[x])[0];
    return { ...b, state };
  }

  async verifierFor(kid) {
    let v = this.verifiers.get(kid);
    if (!v) {
      const key = this.key(kid);
      if (!key) return null;
      v = makeVerifier(key.publicKey);
      this.verifiers.set(kid, v);
    }
    return v;
  }

  /** Verdict for a scanned URL or token; never throws for bad input. */
  async check(text, { today = vietnamToday(), now = Date.now() / 1000 } = {}) {
    let token;
    let link = null;
    try {
      if (looksLikeDigitalLink(text)) {
        link = parseDigitalLink(text);
        const found = linkIndexes(this.bundle, link.gtin, link.lotCode);
        if (!found) return this.unresolvedLink(link, now);
        token = linkToken(link, found.productIndex, found.lotIndex);
      } else {
        token = parseStampUrl(text);
      }
    } catch (err) {
      if (err instanceof InvalidStamp) return { verdict: "not_genuine", cause: "bad_code", detail: err.message };
      throw err;
    }
    return this.checkToken(token, { today, now, link });
  }

  /** A Digital Link whose GTIN or lot this bundle does not carry: the signed bytes cannot be rebuilt. */
  unresolvedLink(link, now) {
    const cause = !this.bundle ? "no_bundle" : bundleExpired(this.bundle, now) ? "bundle_expired" : "link_unknown";
    return {
      verdict: "confirm_online",
      cause,
      product: null,
      producer: null,
      lot: null,
      token: null,
      linkPath: link.path,
      gtin: link.gtin,
      serial: link.serial,
      serialText: formatSerial(link.serial),
      kid: link.kid,
      expiryDay: link.expiryDay,
    };
  }

  async checkToken(token, { today, now, link = null }) {
    let parsed;
    try {
      parsed = parseToken(token);
    } catch (err) {
      if (err instanceof InvalidStamp) return { verdict: "not_genuine", cause: "bad_code", detail: err.message };
      throw err;
    }
    const { claims, signature, message } = parsed;
    const key = this.key(claims.kid);
    let signatureOk = false;
    if (key) signatureOk = await (await this.verifierFor(claims.kid))(signature, message);
    const decision = decide({ claims, key, signatureOk, bundle: this.bundle, today, now });
    const named = key && signatureOk ? productName(this.bundle, claims.productIndex) : null;
    return {
      ...decision,
      product: named ? named.name : null,
      producer: named ? named.producer : null,
      // A verified link names its lot code itself, whatever the age of the lot.
      lot: key && signatureOk ? lotCode(this.bundle, claims.lotIndex) || (link && link.lotCode) : null,
      token,
      linkPath: link ? link.path : undefined,
      gtin: link ? link.gtin : undefined,
      serial: claims.serial,
      serialText: formatSerial(claims.serial),
      kid: claims.kid,
      productIndex: claims.productIndex,
      lotIndex: claims.lotIndex,
      expiryDay: claims.expiryDay,
    };
  }
}
