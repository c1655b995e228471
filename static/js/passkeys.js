// Passkeys at the portal: a form marked data-passkey="create" (register) or "get" (sign in)
// first asks its data-options URL for the WebAuthn options, lets the browser talk to the
// authenticator, then submits the answer in its hidden `credential` field as an ordinary form.
(function () {
  "use strict";

  function fromB64url(text) {
    var b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) b64 += "=";
    var bin = atob(b64);
    var out = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out.buffer;
  }

  function toB64url(buffer) {
    var bytes = new Uint8Array(buffer);
    var bin = "";
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function creationOptions(json) {
    var pk = json.publicKey;
    pk.challenge = fromB64url(pk.challenge);
    pk.user.id = fromB64url(pk.user.id);
    (pk.excludeCredentials || []).forEach(function (c) { c.id = fromB64url(c.id); });
    return { publicKey: pk };
  }

  function requestOptions(json) {
    var pk = json.publicKey;
    pk.challenge = fromB64url(pk.challenge);
    (pk.allowCredentials || []).forEach(function (c) { c.id = fromB64url(c.id); });
    return { publicKey: pk };
  }

  function createdJson(cred) {
    return {
      id: cred.id,
      rawId: toB64url(cred.rawId),
      type: cred.type,
      extensions: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
      response: {
        attestationObject: toB64url(cred.response.attestationObject),
        clientDataJSON: toB64url(cred.response.clientDataJSON),
        transports: cred.response.getTransports ? cred.response.getTransports() : undefined
      }
    };
  }

  function assertedJson(cred) {
    var r = cred.response;
    return {
      id: cred.id,
      rawId: toB64url(cred.rawId),
      type: cred.type,
      extensions: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
      response: {
        authenticatorData: toB64url(r.authenticatorData),
        clientDataJSON: toB64url(r.clientDataJSON),
        signature: toB64url(r.signature),
        userHandle: r.userHandle ? toB64url(r.userHandle) : null
      }
    };
  }

  function showError(form, text) {
    var box = document.getElementById(form.getAttribute("data-error"));
    if (!box) return;
    box.textContent = text;
    box.hidden = false;
  }

  function run(form) {
    var kind = form.getAttribute("data-passkey");
    var csrf = form.querySelector("input[name=csrf]");
    var button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    fetch(form.getAttribute("data-options"), {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf ? csrf.value : "", "Accept": "application/json" }
    })
      .then(function (res) {
        return res.json().then(function (body) {
          if (!res.ok) throw new Error(body.message || res.statusText);
          return body;
        });
      })
      .then(function (options) {
        return kind === "create"
          ? navigator.credentials.create(creationOptions(options)).then(createdJson)
          : navigator.credentials.get(requestOptions(options)).then(assertedJson);
      })
      .then(function (answer) {
        form.querySelector("input[name=credential]").value = JSON.stringify(answer);
        form.setAttribute("data-state", "submitting");
        form.submit();
      })
      .catch(function (err) {
        if (button) button.disabled = false;
        var cancelled = err && err.name === "NotAllowedError";
        showError(form, cancelled ? form.getAttribute("data-cancelled") : (err && err.message) || String(err));
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var forms = document.querySelectorAll("form[data-passkey]");
    for (var i = 0; i < forms.length; i++) {
      var form = forms[i];
      if (!window.PublicKeyCredential || !navigator.credentials) {
        form.hidden = true;
        var note = document.getElementById(form.getAttribute("data-unsupported"));
        if (note) note.hidden = false;
        continue;
      }
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        run(event.currentTarget);
      });
      form.setAttribute("data-ready", "true");
    }
  });
})();
