/*
 * staffgate: the staff QR landing page (/welcome).
 *
 * The printed account sheet's QR code opens /welcome#t=<token>. The token is read from the
 * fragment and removed from the address bar at once, redeemed with API-2 for a short setup
 * session, and the new password is sent with API-4. Nothing is kept in browser storage; the
 * history entry only remembers how far the page got (never a token), so a reload can explain
 * itself.
 *
 * Language: Japanese, or English when navigator.language starts with "en";
 * ?lang=ja / ?lang=en overrides both.
 *
 * Contract for tests and tools:
 *   body[data-state]     loading | form | success | error (set last, after the content)
 *   #greeting            "<name>さん（職員番号 <id>）" once the QR code is accepted
 *   #new-password        new password input
 *   #confirm-password    confirmation input
 *   #show-password       checkbox: show / hide both passwords
 *   #hint-length, #hint-bytes, #hint-id, #hint-match
 *                        live rule hints, li[data-ok="true|false"]; class "is-bad" when violated
 *   #submit              disabled until every client-side rule passes
 *   #timer               remaining time of the setup session (m:ss)
 *   #status              message region (role=alert) beside the form; data-code = the problem's
 *                        code, data-violations = space-separated password policy codes
 *   #success             success panel, text in #success-message
 *   #error               error panel, data-reason = missing | expired | used | revoked |
 *                        unknown | disabled | rate_limited | busy | network | server |
 *                        session_expired | reloaded; texts in #error-title, #error-message,
 *                        #error-hint; #retry is shown for network | busy | rate_limited | server
 */
(function () {
  'use strict';

  /** The server's default minimum length (STAFFGATE_PASSWORD_MIN_LENGTH). */
  const MIN_CHARS = 8;
  /** bcrypt reads at most 72 bytes; the server refuses longer passwords. */
  const MAX_BYTES = 72;
  const TOKEN_PATTERN = /^[A-Za-z0-9_-]{43}$/;
  const REQUEST_TIMEOUT_MS = 30000;
  const URGENT_SECONDS = 120;
  const HISTORY_KEY = 'staffgateWelcome';
  const RETRYABLE = ['network', 'busy', 'rate_limited', 'server'];

  const { lang, dict, t } = window.StaffgateWelcomeText;

  const encoder = new TextEncoder();
  const byId = (id) => document.getElementById(id);

  const el = {
    form: byId('password-form'),
    username: byId('username'),
    newPassword: byId('new-password'),
    confirmPassword: byId('confirm-password'),
    showPassword: byId('show-password'),
    submit: byId('submit'),
    submitNote: byId('submit-note'),
    status: byId('status'),
    greeting: byId('greeting'),
    timerBox: byId('timer-box'),
    timer: byId('timer'),
    timerNote: byId('timer-note'),
    timerAlert: byId('timer-alert'),
    successTitle: byId('success-title'),
    successMessage: byId('success-message'),
    successApp: byId('success-app'),
    successAppLink: byId('success-app-link'),
    error: byId('error'),
    errorTitle: byId('error-title'),
    errorMessage: byId('error-message'),
    errorHint: byId('error-hint'),
    retry: byId('retry'),
    hints: {
      length: byId('hint-length'),
      bytes: byId('hint-bytes'),
      id: byId('hint-id'),
      match: byId('hint-match'),
    },
  };

  const views = {
    loading: byId('loading'),
    form: byId('form-view'),
    success: byId('success'),
    error: el.error,
  };

  let onetimeToken = null;
  let setupToken = null;
  let employeeId = '';
  let deadline = 0;
  let timerHandle = 0;
  let urgentAnnounced = false;
  let submitting = false;

  function translatePage() {
    document.documentElement.lang = lang;
    document.title = t('title');
    for (const node of document.querySelectorAll('[data-i18n]')) {
      node.textContent = t(node.dataset.i18n);
    }
    for (const node of document.querySelectorAll('[data-i18n-aria]')) {
      node.setAttribute('aria-label', t(node.dataset.i18nAria));
    }
  }

  /** Switches the visible panel; data-state changes last, once the content is in place. */
  function show(state, focusTarget) {
    for (const [name, view] of Object.entries(views)) {
      view.hidden = name !== state;
    }
    document.body.dataset.state = state;
    if (focusTarget) {
      focusTarget.focus();
    }
  }

  /** Remembers how far the page got, in the history entry only; never a token. */
  function remember(step, reason) {
    const state = { [HISTORY_KEY]: step };
    if (reason) {
      state.reason = reason;
    }
    history.replaceState(state, '', location.pathname + location.search);
  }

  function start() {
    const fragment = location.hash.replace(/^#/, '');
    const raw = new URLSearchParams(fragment).get('t');
    const token = raw === null ? null : raw.trim();
    if (fragment) {
      history.replaceState(null, '', location.pathname + location.search);
      if (token !== null && TOKEN_PATTERN.test(token)) {
        onetimeToken = token;
        verify();
        return;
      }
      showError('missing');
      return;
    }
    resumeAfterReload();
  }

  function resumeAfterReload() {
    const saved = history.state && history.state[HISTORY_KEY];
    if (saved === 'done') {
      showSuccess('');
    } else if (saved === 'redeemed') {
      showError('reloaded');
    } else if (saved === 'error' && history.state.reason && !RETRYABLE.includes(history.state.reason)) {
      showError(history.state.reason);
    } else {
      showError('missing');
    }
  }

  async function request(method, path, body, bearer) {
    const headers = {
      'Content-Type': 'application/json',
      Accept: 'application/json, application/problem+json',
      'Accept-Language': lang,
    };
    if (bearer) {
      headers.Authorization = 'Bearer ' + bearer;
    }
    const controller = new AbortController();
    const timeout = setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS);
    try {
      const res = await fetch(path, {
        method,
        headers,
        body: JSON.stringify(body),
        credentials: 'omit',
        cache: 'no-store',
        redirect: 'error',
        signal: controller.signal,
      });
      let data = null;
      try {
        data = await res.json();
      } catch {
        data = null;
      }
      return {
        ok: res.ok,
        status: res.status,
        data: data && typeof data === 'object' ? data : {},
        retryAfter: Number(res.headers.get('Retry-After')) || 0,
        network: false,
      };
    } catch {
      return { ok: false, status: 0, data: {}, retryAfter: 0, network: true };
    } finally {
      clearTimeout(timeout);
    }
  }

  async function verify() {
    show('loading');
    const res = await request('POST', '/api/v2/auth/verify-onetime-token', { token: onetimeToken });
    if (res.ok && typeof res.data.setupToken === 'string') {
      onetimeToken = null;
      setupToken = res.data.setupToken;
      remember('redeemed');
      showForm(res.data.employee || {}, Number(res.data.expiresIn) || 900);
      return;
    }
    const reason = verifyFailure(res);
    if (!RETRYABLE.includes(reason)) {
      onetimeToken = null;
    }
    remember('error', reason);
    showError(reason, res);
  }

  function verifyFailure(res) {
    if (res.network) {
      return 'network';
    }
    const code = res.data.code;
    if (code === 'token_invalid') {
      const reason = res.data.reason;
      return ['expired', 'used', 'revoked', 'unknown'].includes(reason) ? reason : 'unknown';
    }
    if (code === 'account_disabled') {
      return 'disabled';
    }
    if (res.status === 429) {
      return 'rate_limited';
    }
    if (res.status === 503) {
      return 'busy';
    }
    if (res.status === 400) {
      return 'missing';
    }
    return 'server';
  }

  function showError(reason, res) {
    const texts = dict.errors[reason] || dict.errors.server;
    let message = texts[1];
    let hint = texts[2];
    if (reason === 'rate_limited' && res && res.retryAfter > 0) {
      message = t('rateLimitedWait', { seconds: res.retryAfter });
    }
    if (reason === 'server' && res && res.data.requestId) {
      hint = t('requestId', { id: res.data.requestId }).trim();
    }
    stopTimer();
    clearPasswords();
    el.errorTitle.textContent = texts[0];
    el.errorMessage.textContent = message;
    el.errorHint.textContent = hint;
    el.errorHint.hidden = hint === '';
    el.error.dataset.reason = reason;
    el.retry.hidden = !(RETRYABLE.includes(reason) && onetimeToken);
    show('error', el.errorTitle);
  }

  function showForm(employee, expiresIn) {
    const name = String(employee.name || '');
    employeeId = String(employee.employeeId || '');
    const nameLine = document.createElement('span');
    nameLine.textContent = t('greetingName', { name });
    const idLine = document.createElement('span');
    idLine.className = 'greeting-id';
    idLine.textContent = t('greetingId', { id: employeeId });
    el.greeting.replaceChildren(nameLine, idLine);
    el.username.value = employeeId;
    clearPasswords();
    clearStatus();
    el.timerNote.textContent = t('timerNote', { minutes: Math.max(1, Math.round(expiresIn / 60)) });
    el.timerAlert.textContent = '';
    urgentAnnounced = false;
    stopTimer();
    deadline = performance.now() + expiresIn * 1000;
    tick();
    timerHandle = setInterval(tick, 1000);
    updateHints();
    show('form', el.greeting);
  }

  // The app staff sign in to every day, as the server configured it (empty: none).
  function staffApp() {
    const meta = (name) => (document.querySelector('meta[name="' + name + '"]') || {}).content || '';
    return { name: meta('staffgate-app-name'), url: meta('staffgate-app-url') };
  }

  function showSuccess(id) {
    const app = staffApp();
    if (app.name && id) {
      el.successMessage.textContent = t('successMessageApp', { id, app: app.name });
    } else {
      el.successMessage.textContent = id ? t('successMessage', { id }) : t('successMessageNoId');
    }
    if (app.name) {
      el.successAppLink.textContent = app.name;
      if (/^https?:\/\//.test(app.url)) el.successAppLink.href = app.url;
      else el.successAppLink.removeAttribute('href');
      el.successApp.hidden = false;
    }
    show('success', el.successTitle);
  }

  function secondsLeft() {
    return Math.max(0, Math.ceil((deadline - performance.now()) / 1000));
  }

  function tick() {
    const left = secondsLeft();
    const minutes = Math.floor(left / 60);
    const seconds = String(left % 60).padStart(2, '0');
    el.timer.textContent = minutes + ':' + seconds;
    el.timerBox.classList.toggle('is-urgent', left <= URGENT_SECONDS);
    if (left <= URGENT_SECONDS && left > 0 && !urgentAnnounced) {
      urgentAnnounced = true;
      el.timerAlert.textContent = t('timerAlert', { minutes: Math.ceil(left / 60) });
    }
    if (left === 0 && !submitting && setupToken) {
      sessionOver();
    }
  }

  function stopTimer() {
    if (timerHandle) {
      clearInterval(timerHandle);
      timerHandle = 0;
    }
  }

  function sessionOver() {
    setupToken = null;
    remember('error', 'session_expired');
    showError('session_expired');
  }

  function clearPasswords() {
    el.newPassword.value = '';
    el.confirmPassword.value = '';
    el.showPassword.checked = false;
    setPasswordsVisible(false);
    updateHints();
  }

  function setPasswordsVisible(visible) {
    const type = visible ? 'text' : 'password';
    el.newPassword.type = type;
    el.confirmPassword.type = type;
  }

  function setHint(node, text, ok, bad) {
    node.querySelector('.hint-text').textContent = text;
    node.querySelector('.hint-state').textContent = ok ? t('met') : t('unmet');
    node.dataset.ok = String(ok);
    node.classList.toggle('is-bad', bad);
  }

  /** Ticks the rule hints and enables the button; returns whether every rule passes. */
  function updateHints() {
    const password = el.newPassword.value;
    const confirmation = el.confirmPassword.value;
    const chars = Array.from(password).length;
    const bytes = encoder.encode(password).length;
    const containsId =
      employeeId !== '' && password.toLowerCase().includes(employeeId.toLowerCase());

    const lengthOk = chars >= MIN_CHARS;
    const bytesOk = password !== '' && bytes <= MAX_BYTES;
    const idOk = password !== '' && !containsId;
    const matchOk = confirmation !== '' && confirmation === password;
    const mismatch =
      confirmation !== '' &&
      (!password.startsWith(confirmation) || confirmation.length >= password.length) &&
      confirmation !== password;

    setHint(el.hints.length, t('hintLength', { min: MIN_CHARS }), lengthOk, false);
    setHint(
      el.hints.bytes,
      bytes > MAX_BYTES
        ? t('hintBytesOver', { max: MAX_BYTES, maxWide: Math.floor(MAX_BYTES / 3), bytes })
        : t('hintBytes', { max: MAX_BYTES, maxWide: Math.floor(MAX_BYTES / 3) }),
      bytesOk,
      bytes > MAX_BYTES,
    );
    setHint(
      el.hints.id,
      employeeId ? t('hintId', { id: employeeId }) : t('hintIdNoId'),
      idOk,
      containsId,
    );
    setHint(el.hints.match, t('hintMatch'), matchOk, mismatch);

    el.newPassword.setAttribute('aria-invalid', String(bytes > MAX_BYTES || containsId));
    el.confirmPassword.setAttribute('aria-invalid', String(mismatch));

    const allOk = lengthOk && bytesOk && idOk && matchOk;
    el.submit.disabled = submitting || !setupToken || !allOk;
    el.submitNote.hidden = allOk;
    return allOk;
  }

  function showStatus(message, code, violations) {
    el.status.textContent = message;
    el.status.dataset.code = code || '';
    el.status.dataset.violations = (violations || []).join(' ');
  }

  function clearStatus() {
    el.status.textContent = '';
    delete el.status.dataset.code;
    delete el.status.dataset.violations;
  }

  function setBusy(busy) {
    submitting = busy;
    el.submit.textContent = busy ? t('submitting') : t('submit');
    el.submit.setAttribute('aria-busy', String(busy));
    el.newPassword.readOnly = busy;
    el.confirmPassword.readOnly = busy;
    updateHints();
  }

  async function submitPassword(event) {
    event.preventDefault();
    if (submitting || !setupToken || !updateHints()) {
      return;
    }
    clearStatus();
    setBusy(true);
    const res = await request(
      'PUT',
      '/api/v2/auth/change-password',
      { newPassword: el.newPassword.value },
      setupToken,
    );
    setBusy(false);

    if (res.ok) {
      // The response carries full tokens; this page has no use for them and keeps none.
      setupToken = null;
      stopTimer();
      clearPasswords();
      remember('done');
      showSuccess(employeeId);
      return;
    }
    if (res.network) {
      showStatus(t('statusNetwork'), 'network');
    } else if (res.status === 401) {
      sessionOver();
      return;
    } else if (res.data.code === 'account_disabled') {
      setupToken = null;
      remember('error', 'disabled');
      showError('disabled');
      return;
    } else {
      const detail = typeof res.data.detail === 'string' && res.data.detail ? res.data.detail : t('statusGeneric');
      const reference = res.data.requestId ? t('requestId', { id: res.data.requestId }) : '';
      const violations = Array.isArray(res.data.violations) ? res.data.violations.map(String) : [];
      showStatus(detail + reference, res.data.code || 'error', violations);
      if (res.data.code === 'password_policy') {
        el.newPassword.setAttribute('aria-invalid', 'true');
        el.newPassword.focus();
      }
    }
    if (secondsLeft() === 0) {
      sessionOver();
    }
  }

  function onPasswordInput(event) {
    if (event.target === el.newPassword && el.status.dataset.code === 'password_policy') {
      clearStatus();
    }
    updateHints();
  }

  translatePage();

  for (const input of [el.newPassword, el.confirmPassword]) {
    input.addEventListener('input', onPasswordInput);
    input.addEventListener('change', onPasswordInput);
  }
  el.showPassword.addEventListener('change', () => setPasswordsVisible(el.showPassword.checked));
  el.form.addEventListener('submit', submitPassword);
  el.retry.addEventListener('click', () => {
    if (onetimeToken) {
      verify();
    }
  });

  window.addEventListener('hashchange', () => {
    if (new URLSearchParams(location.hash.replace(/^#/, '')).has('t')) {
      stopTimer();
      setupToken = null;
      employeeId = '';
      clearStatus();
      start();
    }
  });

  window.addEventListener('beforeunload', (event) => {
    if (document.body.dataset.state === 'form' && (el.newPassword.value || el.confirmPassword.value)) {
      event.preventDefault();
      event.returnValue = '';
    }
  });

  start();
})();
