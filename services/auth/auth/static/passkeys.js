// Passkeys at the provider (the hosted sign-in page and the account page).
//
// A form with data-passkey="get" or "create" first posts its own fields to its
// data-options URL for the ceremony's options (the server keeps the challenge),
// lets the browser sign, then submits itself with the answer in its hidden
// "credential" field, so the server's reply is an ordinary page or redirect.
(function () {
  "use strict";

  var supported = !!(window.PublicKeyCredential &&
    PublicKeyCredential.parseRequestOptionsFromJSON &&
    PublicKeyCredential.parseCreationOptionsFromJSON);

  function say(form, text) {
    var status = form.querySelector("[data-passkey-status]");
    if (status) {
      status.textContent = text;
      status.hidden = false;
    }
  }

  function explain(error) {
    if (error && error.name === "NotAllowedError") {
      return "The passkey request was cancelled or timed out. Try again.";
    }
    if (error && error.name === "InvalidStateError") {
      return "This device already holds a passkey for your account.";
    }
    return (error && error.message) || "The passkey could not be used.";
  }

  async function ceremony(form) {
    var response = await fetch(form.dataset.options, {
      method: "POST",
      body: new URLSearchParams(new FormData(form)),
      credentials: "same-origin",
      headers: { Accept: "application/json" }
    });
    if ((response.headers.get("content-type") || "").indexOf("application/json") !== 0) {
      throw new Error("This page has expired. Reload it and try again.");
    }
    var body = await response.json();
    if (!response.ok) {
      throw new Error((body.error && body.error.message) || "The passkey could not be used.");
    }
    var credential;
    if (form.dataset.passkey === "create") {
      credential = await navigator.credentials.create({
        publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(body)
      });
    } else {
      credential = await navigator.credentials.get({
        publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(body)
      });
    }
    form.querySelector("input[name=credential]").value = JSON.stringify(credential.toJSON());
    form.submit();
  }

  document.querySelectorAll("form[data-passkey]").forEach(function (form) {
    if (!supported) {
      say(form, "This browser cannot use passkeys.");
      form.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
      return;
    }
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      ceremony(form).catch(function (error) { say(form, explain(error)); });
    });
  });
})();
