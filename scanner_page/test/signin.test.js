// requestDeviceToken against a fake fetch: each answer of POST /api/v1/device-tokens.
import assert from "node:assert/strict";
import { test } from "node:test";
import { requestDeviceToken } from "../src/signin.js";

function answer(status, body, headers = {}) {
  const calls = [];
  const fetchImpl = async (url, init) => {
    calls.push({ url, init });
    return {
      status,
      headers: { get: (k) => headers[k] ?? null },
      json: async () => body,
    };
  };
  return { fetchImpl, calls };
}

test("a device token on success, the code sent without spaces", async () => {
  const { fetchImpl, calls } = answer(201, { token: "ocop_x", expires_at: "2026-12-17T00:00:00Z" });
  const r = await requestDeviceToken({ name: " kiem-tra ", password: "pw", code: "123 456", fetchImpl });
  assert.deepEqual(r, { ok: true, token: "ocop_x", expiresAt: "2026-12-17T00:00:00Z" });
  assert.equal(calls[0].url, "/api/v1/device-tokens");
  assert.deepEqual(JSON.parse(calls[0].init.body), { name: "kiem-tra", password: "pw", code: "123456" });
});

test("wrong, code required, not an inspector, locked, offline", async () => {
  assert.equal((await requestDeviceToken({ name: "a", password: "b", ...answer(401, {}) })).reason, "wrong");
  const asked = await requestDeviceToken({ name: "a", password: "b", ...answer(401, { code_required: true }) });
  assert.equal(asked.reason, "code_required");
  assert.equal((await requestDeviceToken({ name: "a", password: "b", ...answer(403, {}) })).reason, "not_inspector");
  const locked = await requestDeviceToken({ name: "a", password: "b", ...answer(429, {}, { "Retry-After": "120" }) });
  assert.deepEqual(locked, { ok: false, reason: "locked", retryAfter: 120 });
  const offline = await requestDeviceToken({
    name: "a",
    password: "b",
    fetchImpl: async () => {
      throw new TypeError("Failed to fetch");
    },
  });
  assert.equal(offline.reason, "offline");
});
