// Stamp serials (docs/stamp-format.md "Serials"): 64-bit values printed as 13 Crockford Base32
// characters plus a Luhn mod 32 check character, grouped XXXX-XXXX-XXXX-XX. A port of
// stamp_service/domain/serials.py so that a typed serial is checked before anything is sent.

export const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const N = 32;
const DATA_CHARS = 13;
const MAX_SERIAL = (1n << 64n) - 1n;
const VALUE = new Map([...ALPHABET].map((c, i) => [c, i]));
VALUE.set("O", 0);
VALUE.set("I", 1);
VALUE.set("L", 1);

export class SerialTypo extends Error {
  /** `reason` names the mistake for the page's own words (i18n `typo_<reason>`), `params` its values. */
  constructor(message, reason = "check", params = {}) {
    super(message);
    this.kind = "serial-typo";
    this.reason = reason;
    this.params = params;
  }
}

function checkValue(values) {
  let total = 0;
  let factor = 2;
  for (let i = values.length - 1; i >= 0; i--) {
    const addend = factor * values[i];
    total += Math.floor(addend / N) + (addend % N);
    factor = 3 - factor;
  }
  return (N - (total % N)) % N;
}

/** The 14 characters (13 data + check) of a serial given as a BigInt. */
export function compactSerial(serial) {
  if (typeof serial !== "bigint" || serial <= 0n || serial > MAX_SERIAL) {
    throw new RangeError("a serial is an integer in 1..2**64-1");
  }
  const values = [];
  let s = serial;
  for (let i = 0; i < DATA_CHARS; i++) {
    values.unshift(Number(s & 31n));
    s >>= 5n;
  }
  values.push(checkValue(values));
  return values.map((v) => ALPHABET[v]).join("");
}

/** The printed form, e.g. 028T-5CY4-TQKF-FX. */
export function formatSerial(serial) {
  const c = compactSerial(serial);
  return `${c.slice(0, 4)}-${c.slice(4, 8)}-${c.slice(8, 12)}-${c.slice(12)}`;
}

/** The serial a person typed (any case, spaces/hyphens ignored, O/I/L read as 0/1/1);
 * throws SerialTypo for a wrong length, character or check character. */
export function parseSerial(text) {
  const cleaned = String(text).replace(/[\s-]/g, "").toUpperCase();
  if (cleaned.length !== DATA_CHARS + 1) {
    throw new SerialTypo(`a serial has ${DATA_CHARS + 1} characters, this one has ${cleaned.length}`, "length", {
      want: DATA_CHARS + 1,
      got: cleaned.length,
    });
  }
  const values = [];
  for (const c of cleaned) {
    const v = VALUE.get(c);
    if (v === undefined) throw new SerialTypo(`'${c}' is not used in serials`, "char", { char: c });
    values.push(v);
  }
  const check = values.pop();
  if (checkValue(values) !== check) {
    throw new SerialTypo("the check character does not match: a character is probably mistyped", "check");
  }
  if (values[0] > 15) throw new SerialTypo("no serial starts with this character", "first");
  let serial = 0n;
  for (const v of values) serial = (serial << 5n) | BigInt(v);
  if (serial === 0n) throw new SerialTypo("no serial is zero", "zero");
  return serial;
}
