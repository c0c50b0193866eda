// The scanner page: wires the camera / photo / typed serial inputs to the offline verifier,
// shows the product, producer and lot the stamp names (so a stamp moved onto other goods shows),
// keeps the session list (a serial seen again is noted; the inspector marks a copy), shows the
// bundle's age and validity, explains an online verdict that differs, and queues findings. `window.ocopScanner` exposes the same functions to the browser tests.

import { createDecoder } from "./decoder.js";
import { listFindings, newFinding, queueFinding, syncFindings } from "./findings.js";
import { age, formatDate, formatDateTime, getLang, setLang, t } from "./i18n.js";
import { parseSerial, SerialTypo, compactSerial, formatSerial } from "./serial.js";
import { bundleExpired } from "./bundle.js";
import { mountSignIn } from "./signin.js";
import { kv } from "./store.js";
import { loadTrust } from "./trust.js";
import { VERDICTS } from "./verdict.js";

const $ = (id) => document.getElementById(id);
const GONE_MS = 1000; // a code out of view this long counts again when it comes back

const state = {
  verifier: null,
  trust: null,
  decoder: null,
  last: null,
  session: [],
  seen: new Map(),
  copies: new Set(),
  token: null,
  stream: null,
  lastText: null,
  lastTextAt: 0,
};

function applyI18n() {
  for (const el of document.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of document.querySelectorAll("[data-i18n-placeholder]")) el.placeholder = t(el.dataset.i18nPlaceholder);
  for (const el of document.querySelectorAll("[data-i18n-label]")) el.setAttribute("aria-label", t(el.dataset.i18nLabel));
  document.title = t("doc_title");
  if ($("verdict").dataset.idle) $("verdict").textContent = t("verdict_idle");
  $("lang").textContent = t("lang_switch");
  $("lang").lang = getLang() === "vi" ? "en" : "vi";
  $("lang").hidden = false;
  $("camera").textContent = t(state.stream ? "stop_camera" : "start_camera");
  renderNet();
  renderBundleAge();
  if (state.last) showResult(state.last);
  renderSession();
  renderAuth();
  renderQueue();
}

function renderNet() {
  const el = $("net");
  el.textContent = navigator.onLine ? t("online") : t("offline");
  el.className = `pill ${navigator.onLine ? "online" : "offline"}`;
}

function renderBundleAge() {
  const el = $("bundle-age");
  const bundle = state.verifier && state.verifier.bundle;
  el.className = "";
  if (!bundle) {
    // The reasons (network, signature) are for support, not for the inspector's screen.
    el.textContent = t("bundle_none");
    el.dataset.bundleSeq = "";
    el.dataset.errors = state.trust ? state.trust.errors.join("; ") : "";
    return;
  }
  const now = Date.now() / 1000;
  let text = t("bundle_age", {
    date: formatDateTime(bundle.issuedAt),
    age: age(now - bundle.issuedAt),
    seq: String(bundle.seq),
  });
  if (bundleExpired(bundle, now)) {
    text += ` · ${t("bundle_expired", { date: formatDateTime(bundle.validUntil) })}`;
    el.className = "expired";
  } else {
    if (bundle.validUntil) text += ` · ${t("bundle_valid_until", { date: formatDateTime(bundle.validUntil) })}`;
    if (now > bundle.refreshAfter && !navigator.onLine) text += ` · ${t("bundle_stale")}`;
  }
  el.textContent = text;
  el.dataset.bundleSeq = String(bundle.seq);
  el.dataset.bundleIssuedAt = String(bundle.issuedAt);
  el.dataset.bundleValidUntil = String(bundle.validUntil || 0);
  el.dataset.expired = bundleExpired(bundle, now) ? "1" : "";
}

/**
 * The verdict to show: the live check's when it answered and differs (the server is the
 * reference, its data is newer), except a copy the inspector marked, which only they know.
 */
function shownVerdict(r) {
  return r.online && r.online !== r.verdict && !r.possibleCopy ? r.online : r.verdict;
}

function showResult(r) {
  const v = $("verdict");
  const shown = shownVerdict(r);
  delete v.dataset.idle;
  v.dataset.verdict = shown;
  v.dataset.offline = r.verdict;
  v.textContent = t(`verdict_${shown}`);
  const bundle = state.verifier && state.verifier.bundle;
  $("cause").textContent = shown !== r.verdict
    ? t("cause_online")
    : r.cause
      ? t(`cause_${r.cause}`)
      : r.verdict === "genuine" && bundle && !r.online
        ? t("checked_offline", { date: formatDateTime(bundle.issuedAt) })
        : "";
  const facts = $("facts");
  facts.replaceChildren();
  const add = (k, val, id, mono = false) => {
    const dt = document.createElement("dt");
    dt.textContent = k;
    const dd = document.createElement("dd");
    dd.textContent = val;
    if (id) dd.id = id;
    if (mono) dd.className = "mono";
    facts.append(dt, dd);
  };
  if (r.product) add(t("product_label"), r.product, "fact-product");
  else if (r.serialText && r.productIndex !== undefined) add(t("product_label"), t("product_unnamed"), "fact-product");
  if (r.producer) add(t("producer_label"), r.producer, "fact-producer");
  if (r.lot) add(t("lot_label"), r.lot, "fact-lot", true);
  else if (r.lotIndex !== undefined && r.serialText) add(t("lot_label"), t("lot_number", { n: r.lotIndex }), "fact-lot");
  if (r.gtin) add(t("gtin_label"), r.gtin, "fact-gtin", true); // a GS1 Digital Link stamp: as on the barcode
  if (r.serialText) add(t("serial"), r.serialText, "fact-serial", true);
  if (r.stars) add(t("stars_label"), t("stars", { n: r.stars }));
  if (r.expiryDay !== undefined) add(t("expiry_label"), formatDate(r.expiryDay * 86400));
  if (r.seenAgain) add(t("seen_label"), t("seen_again", { n: state.seen.get(r.serialText) || 2 }));
  if (r.possibleCopy) add(t("warning_label"), t("copy_flag"));
  $("mark-copy").hidden = !(r.seenAgain && !r.possibleCopy);
  const online = $("online-check");
  online.className = "";
  online.textContent = "";
  delete online.dataset.online;
  if (r.online) {
    online.dataset.online = r.online;
    if (r.online === r.verdict) {
      online.textContent = t("online_same");
    } else {
      online.className = "differs";
      online.textContent = explainDifference(r, bundle);
    }
  }
  $("record").disabled = false;
}

/** Why the live check and the offline verdict disagree, in words an inspector can act on. */
function explainDifference(r, bundle) {
  const live = t(`verdict_${r.online}`);
  const offline = t(`verdict_${r.verdict}`);
  if (r.verdict === "suspicious" && r.online === "genuine") return t("differs_copy", { live });
  const when = bundle ? formatDateTime(bundle.issuedAt) : "—";
  const reason = r.onlineMessage ? ` (${r.onlineMessage})` : "";
  return t("differs_newer", { live, reason, offline, date: when });
}

function renderSession() {
  const counts = Object.fromEntries(VERDICTS.map((k) => [k, 0]));
  let copies = 0;
  const list = $("results");
  list.replaceChildren();
  for (const r of state.session) {
    const shown = shownVerdict(r);
    counts[shown] = (counts[shown] || 0) + 1;
    if (r.possibleCopy) copies++;
    const li = document.createElement("li");
    li.dataset.verdict = shown;
    li.className = `v-${shown}`;
    li.textContent = `${t(`verdict_${shown}`)} · ${r.product ? `${r.product} · ` : ""}${r.serialText || "—"}`;
    if (r.seenAgain && !r.possibleCopy) {
      const seen = document.createElement("span");
      seen.className = "seen";
      seen.textContent = ` · ${t("seen_flag")}`;
      li.append(seen);
      li.dataset.seen = "1";
    }
    if (r.possibleCopy) {
      const flag = document.createElement("span");
      flag.className = "copy";
      flag.textContent = ` · ${t("copy_flag")}`;
      li.append(flag);
      li.dataset.copy = "1";
    }
    list.prepend(li);
  }
  const parts = [...VERDICTS, "unverified"].filter((k) => counts[k]).map((k) => `${t(`verdict_${k}`)}: ${counts[k]}`);
  if (copies) parts.push(`${t("copy_flag")}: ${copies}`);
  parts.push(t("counts_total", { n: state.session.length }));
  $("counts").textContent = parts.join(" · ");
  $("counts").dataset.counts = JSON.stringify({ ...counts, copies, total: state.session.length });
}

/** A decoded text -> a verdict on screen (the timed part), then the online cross-check. */
async function handleText(text, source) {
  const started = performance.now();
  const r = await state.verifier.check(text);
  if (r.serialText) {
    // Seeing a serial again is only that (the same item scanned twice is common); it is a
    // possible copy once the inspector says two different items carry it (markCopy).
    const n = state.seen.get(r.serialText) || 0;
    if (n > 0) r.seenAgain = true;
    if (state.copies.has(r.serialText)) flagCopy(r);
    state.seen.set(r.serialText, n + 1);
  }
  r.code = String(text).trim().slice(0, 400);
  r.source = source;
  state.last = r;
  state.session.push(r);
  showResult(r);
  r.ms = performance.now() - started; // for the browser test's benchmark, not shown
  renderSession();
  if (navigator.onLine && (r.token || r.linkPath)) crossCheck(r);
  return r;
}

function flagCopy(r) {
  r.possibleCopy = true;
  if (r.verdict === "genuine") {
    r.verdict = "suspicious";
    r.cause = "possible_copy";
  }
}

/** The inspector saw two different items with this serial: every scan of it is a possible copy. */
function markCopy() {
  const r = state.last;
  if (!r || !r.serialText) return;
  state.copies.add(r.serialText);
  for (const item of state.session) if (item.serialText === r.serialText) flagCopy(item);
  showResult(r);
  renderSession();
}

/**
 * Ask the live API and show any difference; a missing endpoint (404) or no network is ignored.
 * A Digital Link the bundle could not resolve is asked as it is: the service, its GS1 resolver,
 * sends a JSON client on to the verdict of the token it stands for.
 */
async function crossCheck(r) {
  try {
    const url = r.token ? `/api/v1/verify/${r.token}` : r.linkPath;
    const resp = await fetch(url, { headers: { Accept: "application/json" } });
    if (!resp.ok && resp.status !== 422) return;
    const body = await resp.json();
    const verdict = (body && (body.verdict || (body.status && body.status.verdict))) || null;
    if (!verdict || !VERDICTS.includes(verdict)) return;
    r.online = verdict;
    r.onlineMessage = typeof body.message === "string" ? body.message : null;
    fillFromServer(r, body);
    if (state.last === r) showResult(r);
    renderSession();
  } catch {
    /* offline or not there: the offline verdict stands */
  }
}

/** Names the server knows (a typed serial, or a product/lot newer than the bundle). */
function fillFromServer(r, body) {
  const facts = body && body.facts;
  if (!facts) return;
  if (!r.product && facts.product && facts.product.name) r.product = facts.product.name;
  if (!r.producer && facts.producer && facts.producer.name) r.producer = facts.producer.name;
  if (!r.lot && facts.lot && facts.lot.code) r.lot = facts.lot.code;
}

async function checkTypedSerial(text) {
  let serial;
  try {
    serial = parseSerial(text);
  } catch (err) {
    if (!(err instanceof SerialTypo)) throw err;
    const v = $("verdict");
    delete v.dataset.idle;
    v.dataset.verdict = "";
    v.textContent = t("serial_typo", { error: t(`typo_${err.reason}`, err.params) });
    $("cause").textContent = "";
    $("facts").replaceChildren();
    return null;
  }
  const r = { verdict: "unverified", cause: "needs_online", serial, serialText: formatSerial(serial), source: "typed" };
  if (navigator.onLine) {
    try {
      const resp = await fetch(`/api/v1/verify/serial/${compactSerial(serial)}`, {
        headers: { Accept: "application/json" },
      });
      if (resp.ok) {
        const body = await resp.json();
        const verdict = body && (body.verdict || (body.status && body.status.verdict));
        if (VERDICTS.includes(verdict)) {
          r.verdict = verdict;
          r.cause = null;
          r.online = verdict;
          fillFromServer(r, body);
        }
      }
    } catch {
      /* stays unverified */
    }
  }
  state.last = r;
  state.session.push(r);
  showResult(r);
  if (r.verdict === "unverified") $("cause").textContent = t("serial_offline");
  renderSession();
  return r;
}

async function ensureDecoder() {
  if (!state.decoder) {
    state.decoder = await createDecoder();
    document.body.dataset.decoder = state.decoder.name; // for support and tests, not shown
  }
  return state.decoder;
}

async function startCamera() {
  const video = $("video");
  try {
    await ensureDecoder();
    state.stream = await navigator.mediaDevices.getUserMedia({
      video: { facingMode: "environment", width: { ideal: 1280 }, height: { ideal: 720 } },
      audio: false,
    });
  } catch (err) {
    $("cause").textContent = t("camera_error", { error: err.message || String(err) });
    return;
  }
  video.srcObject = state.stream;
  $("video-box").hidden = false;
  await video.play();
  $("camera").textContent = t("stop_camera");
  scanLoop();
}

function stopCamera() {
  if (state.stream) for (const track of state.stream.getTracks()) track.stop();
  state.stream = null;
  $("video-box").hidden = true;
  $("camera").textContent = t("start_camera");
}

async function scanLoop() {
  const video = $("video");
  const canvas = document.createElement("canvas");
  while (state.stream) {
    if (video.readyState >= 2 && video.videoWidth) {
      const scale = Math.min(1, 960 / video.videoWidth);
      canvas.width = Math.round(video.videoWidth * scale);
      canvas.height = Math.round(video.videoHeight * scale);
      canvas.getContext("2d", { willReadFrequently: true }).drawImage(video, 0, 0, canvas.width, canvas.height);
      let texts = [];
      try {
        texts = await state.decoder.fromCanvas(canvas);
      } catch {
        texts = [];
      }
      if (!state.stream) break; // stopped while decoding: this frame is not a scan
      const now = performance.now();
      // The same code staying in view is one scan, however slow the decoder: it counts again
      // only after a moment with no code (or another code) in view.
      if (!texts.length && now - state.lastTextAt > GONE_MS) state.lastText = null;
      for (const text of texts) {
        const repeat = text === state.lastText;
        state.lastText = text;
        state.lastTextAt = now;
        if (!repeat) await handleText(text, "camera");
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 120));
  }
}

async function onPhoto(file) {
  if (!file) return;
  const decoder = await ensureDecoder();
  let texts = [];
  try {
    texts = await decoder.fromBlob(file);
  } catch {
    texts = [];
  }
  if (!texts.length) {
    $("cause").textContent = t("no_code_in_photo");
    return;
  }
  for (const text of texts) await handleText(text, "photo");
}

// --- findings and sign-in -----------------------------------------------------------------------

function position() {
  return new Promise((resolve) => {
    if (!navigator.geolocation) return resolve(null);
    navigator.geolocation.getCurrentPosition(
      (p) => resolve({ latitude: p.coords.latitude, longitude: p.coords.longitude, accuracy_m: p.coords.accuracy }),
      () => resolve(null),
      { enableHighAccuracy: true, timeout: 5000, maximumAge: 60000 },
    );
  });
}

async function recordFinding() {
  const r = state.last;
  if (!r) return null;
  const shop = $("shop").value.trim();
  if (!shop) {
    $("finding-msg").textContent = t("finding_need_shop");
    return null;
  }
  await kv.set("shop", shop);
  const finding = newFinding({
    serial: r.serialText,
    code: r.serialText ? null : r.code,
    verdict: shownVerdict(r),
    possibleCopy: Boolean(r.possibleCopy),
    shop,
    note: $("note").value.trim(),
    position: $("gps").checked ? await position() : null,
  });
  await queueFinding(finding);
  $("note").value = "";
  $("finding-msg").textContent = t("finding_saved");
  await renderQueue();
  if (navigator.onLine) await syncNow();
  return finding;
}

async function syncNow() {
  const result = await syncFindings({ token: state.token });
  await renderQueue();
  return result;
}

async function renderQueue() {
  const items = await listFindings();
  const ul = $("queue");
  ul.replaceChildren();
  for (const f of items) {
    const li = document.createElement("li");
    li.dataset.state = f.state;
    li.dataset.clientId = f.client_id;
    const status = f.state === "sent" ? t("finding_sent")
      : f.state === "rejected" ? t("finding_rejected", { error: f.error }) : t("finding_queued");
    li.textContent = `${t(`verdict_${f.verdict}`)} · ${f.serial || "—"} · ${f.shop} · ${status}`;
    ul.append(li);
  }
}

function renderAuth() {
  $("auth-state").textContent = state.token ? t("signed_in") : t("signed_out");
  // The web pages' session cookie is not reused (by design: an API token works offline and
  // queues findings), which the page says rather than looking broken.
  $("auth-why").hidden = Boolean(state.token);
  $("token-details").hidden = Boolean(state.token);
  $("sign-out").hidden = !state.token;
  if (state.signInForm) state.signInForm.render();
}

async function signIn(token) {
  token = token.trim();
  if (!token) return false;
  try {
    const resp = await fetch("/api/v1/findings?per_page=1", { headers: { Authorization: `Bearer ${token}` } });
    if (!resp.ok) {
      $("auth-state").textContent = t("sign_in_failed", { error: `HTTP ${resp.status}` });
      return false;
    }
  } catch {
    /* offline: keep the token, it is checked when the first finding is sent */
  }
  state.token = token;
  await kv.set("token", token);
  $("token").value = "";
  renderAuth();
  if (navigator.onLine) await syncNow();
  return true;
}

async function signOut() {
  state.token = null;
  await kv.delete("token");
  renderAuth();
}

// --- boot ---------------------------------------------------------------------------------------

async function refreshTrust() {
  state.trust = await loadTrust();
  state.verifier = state.trust.verifier;
  renderBundleAge();
  return state.trust;
}

async function benchmark(texts) {
  const times = [];
  for (const text of texts) {
    const t0 = performance.now();
    await state.verifier.check(text);
    times.push(performance.now() - t0);
  }
  return times;
}

async function boot() {
  setLang((await kv.get("lang")) || "vi");
  state.token = (await kv.get("token")) || null;
  $("shop").value = (await kv.get("shop")) || "";
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("sw.js", { scope: "./" }).catch(() => {});
  }
  await refreshTrust();
  applyI18n();
  $("lang").addEventListener("click", async () => {
    setLang(getLang() === "vi" ? "en" : "vi");
    applyI18n();
    await kv.set("lang", getLang());
  });
  $("camera").addEventListener("click", () => (state.stream ? stopCamera() : startCamera()));
  $("photo").addEventListener("change", (e) => onPhoto(e.target.files && e.target.files[0]));
  $("serial-form").addEventListener("submit", (e) => {
    e.preventDefault();
    checkTypedSerial($("serial-input").value);
  });
  $("clear").addEventListener("click", () => {
    state.session = [];
    state.seen.clear();
    state.copies.clear();
    renderSession();
  });
  $("finding-form").addEventListener("submit", (e) => {
    e.preventDefault();
    recordFinding();
  });
  $("auth-form").addEventListener("submit", (e) => {
    e.preventDefault();
    signIn($("token").value);
  });
  $("sign-out").addEventListener("click", signOut);
  $("mark-copy").addEventListener("click", markCopy);
  state.signInForm = mountSignIn({
    before: $("token-details"),
    onToken: signIn,
    signedIn: () => Boolean(state.token),
    lang: getLang,
  });
  $("sync").addEventListener("click", syncNow);
  window.addEventListener("online", async () => {
    renderNet();
    await refreshTrust();
    await syncNow();
  });
  window.addEventListener("offline", () => {
    renderNet();
    renderBundleAge();
  });
  setInterval(renderBundleAge, 30000);
  window.ocopScanner = {
    handleText,
    checkTypedSerial,
    recordFinding,
    syncNow,
    signIn,
    refreshTrust,
    benchmark,
    startCamera,
    stopCamera,
    markCopy,
    get trust() {
      return state.trust;
    },
    get last() {
      return state.last;
    },
  };
  $("app").hidden = false; // everything in #app needs this script (without it: the intro and <noscript>)
  document.body.dataset.ready = "1";
  if (navigator.onLine && state.token) syncNow();
}

boot();
