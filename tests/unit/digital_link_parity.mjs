// Reads [text, ...] on stdin, writes the scanner's reading of each (null = refused) on stdout:
// tests/unit/test_digital_link_parity.py compares it with domain/digital_link.py's.
import { toHex } from "../../scanner_page/src/codec.js";
import { parseDigitalLink } from "../../scanner_page/src/digital_link.js";

let input = "";
for await (const chunk of process.stdin) input += chunk;
const out = JSON.parse(input).map((text) => {
  try {
    const s = parseDigitalLink(text);
    return [s.gtin, s.lotCode, String(s.serial), s.kid, s.expiryDay, toHex(s.signature)];
  } catch (err) {
    if (err.kind !== "malformed-stamp") throw err;
    return null;
  }
});
process.stdout.write(JSON.stringify(out));
