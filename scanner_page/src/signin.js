// Signing the scanner in with the inspector's user name and password (and the 6-digit code when
// the account has a second factor), instead of pasting a 48-character API token.
// POST /api/v1/device-tokens answers a device token that expires (docs/accounts.md); the page
// keeps it offline like any token and sends findings with it. Only this module knows the form.

const TEXT = {
  vi: {
    name: "Tên đăng nhập",
    password: "Mật khẩu",
    code: "Mã 6 chữ số từ ứng dụng xác thực",
    submit: "Đăng nhập",
    wrong: "Tên đăng nhập, mật khẩu hoặc mã không đúng.",
    code_required: "Nhập mã 6 chữ số từ ứng dụng xác thực.",
    locked: "Đăng nhập sai quá nhiều lần. Thử lại sau {minutes} phút.",
    not_inspector: "Chỉ tài khoản kiểm tra viên mới đăng nhập trên máy quét.",
    offline: "Cần có mạng để đăng nhập lần đầu.",
    error: "Không đăng nhập được (HTTP {status}).",
    expires: "Phiên trên máy này hết hạn ngày {date}.",
  },
  en: {
    name: "User name",
    password: "Password",
    code: "6-digit code from the authenticator app",
    submit: "Sign in",
    wrong: "The user name, password or code is wrong.",
    code_required: "Enter the 6-digit code from the authenticator app.",
    locked: "Too many failed sign-ins. Try again in {minutes} min.",
    not_inspector: "Only inspector accounts sign in on the scanner.",
    offline: "The first sign-in needs a connection.",
    error: "Could not sign in (HTTP {status}).",
    expires: "This device's sign-in expires on {date}.",
  },
};

function text(lang, key, values = {}) {
  const s = (TEXT[lang] || TEXT.vi)[key];
  return s.replace(/\{(\w+)\}/g, (_, k) => String(values[k] ?? ""));
}

/**
 * Ask the service for a device token. Resolves to {ok: true, token, expiresAt} or
 * {ok: false, reason, retryAfter?, status?}; never throws (offline is a reason).
 */
export async function requestDeviceToken({ name, password, code = null, fetchImpl = fetch }) {
  const body = { name: name.trim(), password };
  if (code) body.code = code.replace(/\s/g, "");
  let resp;
  try {
    resp = await fetchImpl("/api/v1/device-tokens", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify(body),
      cache: "no-store",
    });
  } catch {
    return { ok: false, reason: "offline" };
  }
  let payload = {};
  try {
    payload = await resp.json();
  } catch {
    /* a proxy's HTML error page: the status says enough */
  }
  if (resp.status === 201) return { ok: true, token: payload.token, expiresAt: payload.expires_at };
  if (resp.status === 401) return { ok: false, reason: payload.code_required ? "code_required" : "wrong" };
  if (resp.status === 403) return { ok: false, reason: "not_inspector" };
  if (resp.status === 429) {
    const retryAfter = Number(resp.headers.get("Retry-After")) || payload.retry_after || 60;
    return { ok: false, reason: "locked", retryAfter };
  }
  return { ok: false, reason: "error", status: resp.status };
}

function field(id, label, type, autocomplete) {
  const wrap = document.createElement("div");
  const lab = document.createElement("label");
  lab.htmlFor = id;
  lab.textContent = label;
  const input = document.createElement("input");
  input.id = id;
  input.type = type;
  input.autocomplete = autocomplete;
  input.maxLength = 200;
  wrap.append(lab, input);
  return { wrap, lab, input };
}

/**
 * Put the sign-in form before ``before`` (the page's token form). ``onToken(token)`` stores the
 * token (the page's own sign-in); ``signedIn()`` says whether to hide the form; ``lang()`` the
 * page language. Returns {render} for the page to call when its state changes.
 */
export function mountSignIn({ before, onToken, signedIn, lang }) {
  const form = document.createElement("form");
  form.id = "device-sign-in";
  form.autocomplete = "on";
  form.noValidate = true;
  const name = field("device-name", "", "text", "username");
  const password = field("device-password", "", "password", "current-password");
  const code = field("device-code", "", "text", "one-time-code");
  code.input.inputMode = "numeric";
  code.wrap.hidden = true;
  const button = document.createElement("button");
  button.type = "submit";
  button.className = "primary";
  const message = document.createElement("p");
  message.setAttribute("aria-live", "polite");
  form.append(name.wrap, password.wrap, code.wrap, button, message);
  before.before(form);

  function render() {
    const l = lang();
    name.lab.textContent = text(l, "name");
    password.lab.textContent = text(l, "password");
    code.lab.textContent = text(l, "code");
    button.textContent = text(l, "submit");
    form.hidden = signedIn();
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    button.disabled = true;
    const result = await requestDeviceToken({
      name: name.input.value,
      password: password.input.value,
      code: code.wrap.hidden ? null : code.input.value,
    });
    button.disabled = false;
    const l = lang();
    if (result.ok) {
      password.input.value = "";
      code.input.value = "";
      code.wrap.hidden = true;
      const date = result.expiresAt ? new Date(result.expiresAt).toLocaleDateString(l === "vi" ? "vi-VN" : "en-GB") : "";
      message.textContent = date ? text(l, "expires", { date }) : "";
      await onToken(result.token);
      render();
      return;
    }
    if (result.reason === "code_required") {
      code.wrap.hidden = false;
      code.input.focus();
    }
    message.textContent = text(l, result.reason, {
      minutes: Math.ceil((result.retryAfter || 60) / 60),
      status: result.status,
    });
  });
  render();
  return { render };
}
