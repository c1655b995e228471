/*
 * staffgate: the words of the staff QR landing page (/welcome), in Japanese and English, and
 * the page's language. Loaded before welcome.js, which takes { lang, dict, t } from
 * window.StaffgateWelcomeText. t(key, vars) fills placeholders in braces ({name}, {min}, ...).
 */
(function () {
  'use strict';

  const TEXT = {
    ja: {
      title: 'パスワードの設定 | staffgate 職員サインイン',
      brand: 'staffgate 職員サインイン',
      loading: 'QRコードを確認しています…',
      greetingName: '{name}さん',
      greetingId: '（職員番号 {id}）',
      lead: 'はじめに、これから使うパスワードを決めてください。次回からは職員番号とこのパスワードでサインインします。',
      timerLabel: 'この画面の残り時間',
      timerNote: '{minutes}分を過ぎると、この画面では設定できなくなります。その場合は、人事部で新しいアカウント情報シートを受け取り、そのQRコードを読み取ってやり直してください。',
      timerAlert: '残り{minutes}分です。',
      newLabel: '新しいパスワード',
      confirmLabel: '新しいパスワード（確認のためもう一度）',
      showPassword: 'パスワードを表示する',
      hintsLabel: 'パスワードの条件',
      hintLength: '{min}文字以上',
      hintBytes: '長すぎないこと（半角なら{max}文字、全角なら{maxWide}文字まで）',
      hintBytesOver: '長すぎないこと（半角なら{max}文字、全角なら{maxWide}文字まで）：いまは長すぎます',
      hintId: '職員番号（{id}）を含まない',
      hintIdNoId: '職員番号を含まない',
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
      successMessage: '次回からは職員番号（{id}）とこのパスワードでサインインできます。',
      successMessageNoId: '次回からは職員番号とこのパスワードでサインインできます。',
      successMessageApp: '次回からは {app} に、職員番号（{id}）とこのパスワードでサインインできます。',
      successApp: 'ふだんのサインイン先',
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
          'パスワードを設定済みの場合は、職員番号とパスワードでサインインしてください。',
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
      hintBytes: 'Not too long ({max} plain letters or {maxWide} Japanese characters at most)',
      hintBytesOver: 'Not too long ({max} plain letters or {maxWide} Japanese characters at most): now too long',
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
      successMessageApp: 'From now on, sign in to {app} with your employee ID ({id}) and this password.',
      successApp: 'Where to sign in',
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

  const lang = pickLang();
  const dict = TEXT[lang];

  window.StaffgateWelcomeText = Object.freeze({ lang, dict, t });
})();
