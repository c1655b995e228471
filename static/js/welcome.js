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
 *   #greeting            "<name>さん（社員ID <id>）" once the QR code is accepted
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

  const TEXT = {
    ja: {
      title: 'パスワードの設定 | staffgate 職員サインイン',
      brand: 'staffgate 職員サインイン',
      loading: 'QRコードを確認しています…',
      greetingName: '{name}さん',
      greetingId: '（社員ID {id}）',
      lead: 'はじめに、これから使うパスワードを決めてください。次回からは社員IDとこのパスワードでサインインします。',
      timerLabel: 'この画面の残り時間',
      timerNote: '{minutes}分を過ぎると、この画面では設定できなくなります。その場合は、人事部で新しいアカウント情報シートを受け取り、そのQRコードを読み取ってやり直してください。',
      timerAlert: '残り{minutes}分です。',
      newLabel: '新しいパスワード',
      confirmLabel: '新しいパスワード（確認のためもう一度）',
      showPassword: 'パスワードを表示する',
      hintsLabel: 'パスワードの条件',
      hintLength: '{min}文字以上',
      hintBytes: '{max}バイト以内（全角文字は1文字3バイト）',
      hintBytesOver: '{max}バイト以内（全角文字は1文字3バイト）：いま{bytes}バイトです',
      hintId: '社員ID（{id}）を含まない',
      hintIdNoId: '社員IDを含まない',
      hintMatch: '確認用のパスワードと一致している',
      met: '（満たしています）',
      unmet: '（まだ満たしていません）',
      submit: 'パスワードを設定する',
      submitting: '設定しています…',
      submitNote: 'すべての条件を満たすと押せるようになります。',
      keepOpen: '設定が終わるまで、この画面を閉じたり再読み込みしたりしないでください。QRコードは一度しか使えません。',
      statusNetwork: '通信できませんでした。電波の状態を確かめて、もう一度「パスワードを設定する」を押してください。',
      statusGeneric: 'パスワードを設定できませんでした。もう一度お試しください。',
      requestId: '（お問い合わせ番号：{id}）',
      successTitle: 'パスワードを設定しました',
      successMessage: '次回からは社員ID（{id}）とこのパスワードでサインインできます。',
      successMessageNoId: '次回からは社員IDとこのパスワードでサインインできます。',
      successNote: 'パスワードは他の人に教えないでください。この画面は閉じてかまいません。',
      retry: 'もう一度試す',
      footer: 'わからないことがあれば、人事部にお問い合わせください。',
      rateLimitedWait: '{seconds}秒ほど待ってから「もう一度試す」を押してください。',
      errors: {
        missing: [
          'QRコードを読み取れませんでした',
          'アカウント情報シートのQRコードを、スマートフォンのカメラでもう一度読み取ってください。',
          'それでもこの画面になる場合は、人事部に新しいシートの発行を依頼してください。',
        ],
        expired: [
          'このQRコードは有効期限が切れています',
          'お手数ですが、人事部に再発行を依頼してください。',
          '新しいアカウント情報シートのQRコードから、パスワードを設定できます。',
        ],
        used: [
          'このQRコードはすでに使用されています',
          'パスワードを設定済みの場合は、社員IDとパスワードでサインインしてください。',
          'まだ設定していない場合や、使った覚えがない場合は、人事部にご連絡ください。',
        ],
        revoked: [
          'このQRコードは使えなくなりました',
          '新しいアカウント情報シートが発行されています。いちばん新しいシートのQRコードを読み取ってください。',
          '新しいシートがお手元にない場合は、人事部にお問い合わせください。',
        ],
        unknown: [
          'このQRコードは確認できませんでした',
          'QRコードをもう一度読み取ってください。',
          'それでも同じ表示になる場合は、人事部に新しいシートの発行を依頼してください。',
        ],
        disabled: [
          'このアカウントは現在ご利用いただけません',
          '休職・退職などにより、アカウントが停止されています。',
          '人事部にお問い合わせください。',
        ],
        rate_limited: [
          'アクセスが集中しています',
          'しばらく待ってから「もう一度試す」を押してください。',
          '',
        ],
        busy: [
          'ただいま混み合っています',
          '少し待ってから「もう一度試す」を押してください。',
          '',
        ],
        network: [
          'サーバーに接続できませんでした',
          '電波の状態を確かめて、「もう一度試す」を押してください。',
          'Wi-Fi またはモバイルデータ通信がつながっているか確認してください。',
        ],
        server: [
          'エラーが発生しました',
          'しばらくしてから「もう一度試す」を押してください。',
          '',
        ],
        session_expired: [
          'パスワード設定の有効時間が過ぎました',
          'パスワードはまだ設定されていません。QRコードは一度しか使えないため、人事部で新しいアカウント情報シートを受け取り、そのQRコードを読み取ってやり直してください。',
          '',
        ],
        reloaded: [
          'このQRコードは読み取り済みです',
          'ページが再読み込みされたため、設定を続けられません。QRコードは一度しか使えません。',
          'パスワードをまだ設定していない場合は、人事部に新しいアカウント情報シートを依頼してください。',
        ],
      },
    },
    en: {
      title: 'Set your password | staffgate staff sign-in',
      brand: 'staffgate staff sign-in',
      loading: 'Checking your QR code…',
      greetingName: 'Welcome, {name} ',
      greetingId: '(employee ID {id})',
      lead: 'First, choose the password you will use. From now on you sign in with your employee ID and this password.',
      timerLabel: 'Time left on this page',
      timerNote: 'After {minutes} minutes this page can no longer set your password. If that happens, get a new account sheet from HR and scan its QR code to start again.',
      timerAlert: '{minutes} minutes left.',
      newLabel: 'New password',
      confirmLabel: 'New password (again, to confirm)',
      showPassword: 'Show passwords',
      hintsLabel: 'Password rules',
      hintLength: 'At least {min} characters',
      hintBytes: 'At most {max} bytes (Japanese full-width characters count as 3)',
      hintBytesOver: 'At most {max} bytes (Japanese full-width characters count as 3): now {bytes} bytes',
      hintId: 'Does not contain your employee ID ({id})',
      hintIdNoId: 'Does not contain your employee ID',
      hintMatch: 'Matches the confirmation',
      met: ' (met)',
      unmet: ' (not met yet)',
      submit: 'Set password',
      submitting: 'Setting your password…',
      submitNote: 'The button becomes available once every rule is met.',
      keepOpen: 'Do not close or reload this page until you are done: the QR code works only once.',
      statusNetwork: 'Could not reach the server. Check your connection and press "Set password" again.',
      statusGeneric: 'Your password could not be set. Please try again.',
      requestId: ' (reference: {id})',
      successTitle: 'Your password is set',
      successMessage: 'From now on, sign in with your employee ID ({id}) and this password.',
      successMessageNoId: 'From now on, sign in with your employee ID and this password.',
      successNote: 'Do not share your password with anyone. You can close this page now.',
      retry: 'Try again',
      footer: 'If anything is unclear, please contact HR.',
      rateLimitedWait: 'Wait about {seconds} seconds, then press "Try again".',
      errors: {
        missing: [
          'The QR code could not be read',
          'Scan the QR code on your account sheet again with your phone camera.',
          'If you keep seeing this page, ask HR for a new sheet.',
        ],
        expired: [
          'This QR code has expired',
          'Please ask HR to issue a new one.',
          'You can set your password from the QR code on the new account sheet.',
        ],
        used: [
          'This QR code has already been used',
          'If you have set your password, sign in with your employee ID and password.',
          'If you have not, or you did not use this code yourself, please contact HR.',
        ],
        revoked: [
          'This QR code is no longer valid',
          'A newer account sheet has been issued. Scan the QR code on your newest sheet.',
          'If you do not have the new sheet, please contact HR.',
        ],
        unknown: [
          'This QR code could not be verified',
          'Please scan the QR code again.',
          'If this keeps happening, ask HR for a new sheet.',
        ],
        disabled: [
          'This account is not available',
          'The account is suspended, for example during leave or after retirement.',
          'Please contact HR.',
        ],
        rate_limited: [
          'Too many attempts',
          'Wait a little, then press "Try again".',
          '',
        ],
        busy: [
          'The service is busy',
          'Wait a moment, then press "Try again".',
          '',
        ],
        network: [
          'Could not reach the server',
          'Check your connection, then press "Try again".',
          'Make sure Wi-Fi or mobile data is on.',
        ],
        server: [
          'Something went wrong',
          'Please press "Try again" in a little while.',
          '',
        ],
        session_expired: [
          'Time to set your password has run out',
          'Your password has not been set. The QR code works only once, so get a new account sheet from HR and scan its QR code to start again.',
          '',
        ],
        reloaded: [
          'This QR code has already been read',
          'The page was reloaded, so setting the password cannot continue here. The QR code works only once.',
          'If you have not set your password yet, ask HR for a new account sheet.',
        ],
      },
    },
  };

  const lang = pickLang();
  const dict = TEXT[lang];
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

  function pickLang() {
    const requested = new URLSearchParams(location.search).get('lang');
    if (requested === 'ja' || requested === 'en') {
      return requested;
    }
    const nav = (navigator.language || '').toLowerCase();
    return nav.startsWith('en') ? 'en' : 'ja';
  }

  function t(key, vars) {
    const template = key in dict ? dict[key] : TEXT.ja[key];
    if (typeof template !== 'string') {
      return '';
    }
    if (!vars) {
      return template;
    }
    return template.replace(/\{(\w+)\}/g, (whole, name) =>
      Object.prototype.hasOwnProperty.call(vars, name) ? String(vars[name]) : whole,
    );
  }

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

  function showSuccess(id) {
    el.successMessage.textContent = id ? t('successMessage', { id }) : t('successMessageNoId');
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
      bytes > MAX_BYTES ? t('hintBytesOver', { max: MAX_BYTES, bytes }) : t('hintBytes', { max: MAX_BYTES }),
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
