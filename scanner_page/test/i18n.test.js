// The page's words (issue 12): Vietnamese and English say the same things, dates are dd/mm/yyyy
// and times are Vietnam time whatever the machine's zone, and no developer text is left.

import assert from "node:assert/strict";
import { test } from "node:test";

import { formatDate, formatDateTime, STRINGS } from "../src/i18n.js";

test("both languages have the same keys and the same placeholders", () => {
  assert.deepEqual(Object.keys(STRINGS.vi).sort(), Object.keys(STRINGS.en).sort());
  const holes = (s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
  for (const key of Object.keys(STRINGS.vi)) assert.deepEqual(holes(STRINGS.vi[key]), holes(STRINGS.en[key]), key);
});

test("no developer text: no decoder name, no timing, no exclamation of a fault", () => {
  for (const lang of ["vi", "en"]) {
    for (const [key, text] of Object.entries(STRINGS[lang])) {
      assert.doesNotMatch(text, /zxing|decoder|giải mã|\bms\b|!$/i, `${lang}.${key}`);
    }
  }
});

test("dates are dd/mm/yyyy and times Vietnam time (UTC+7)", () => {
  assert.equal(formatDate(21442 * 86400), "15/09/2028");
  assert.equal(formatDate(0), "01/01/1970");
  assert.equal(formatDateTime(1795478400), "24/11/2026 07:00"); // 2026-11-24 00:00 UTC
  assert.equal(formatDateTime(1795478400 + 17 * 3600 + 59 * 60), "25/11/2026 00:59"); // past midnight in Vietnam
});
