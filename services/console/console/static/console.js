// Identity Services console: small progressive enhancements. Every form works without this;
// no inline handlers anywhere (the CSP forbids them), everything is wired up here.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // Destructive actions ask first.
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }

  // Copy a new API key to the clipboard.
  for (const button of document.querySelectorAll("[data-copy-target]")) {
    button.addEventListener("click", async () => {
      const source = document.getElementById(button.dataset.copyTarget);
      const note = button.parentElement.querySelector(".copied");
      try {
        await navigator.clipboard.writeText(source.textContent.trim());
      } catch (_) {
        const range = document.createRange();
        range.selectNodeContents(source);
        const selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
        document.execCommand("copy");
      }
      if (note) note.hidden = false;
    });
  }

  // Allowed IPs: say at once which entry is not an address or CIDR (the server checks again).
  for (const area of document.querySelectorAll("textarea[data-validate=networks]")) {
    const message = area.parentElement.querySelector("[data-live-error]");
    const check = () => {
      const bad = area.value.split(/[\s,;]+/).filter((entry) => entry && !isNetwork(entry));
      if (bad.length) {
        message.textContent = `'${bad[0]}' is not a valid IPv4/IPv6 address or CIDR.`;
        message.hidden = false;
        area.setAttribute("aria-invalid", "true");
      } else {
        message.hidden = true;
        area.removeAttribute("aria-invalid");
      }
    };
    area.addEventListener("input", check);
    area.addEventListener("blur", check);
  }

  // A missing choice or value is said under its field, not only in the browser's tooltip
  // (which vanishes, and which screen readers and zoomed screens often miss).
  for (const form of document.querySelectorAll("form")) {
    let first = null;
    form.addEventListener("invalid", (event) => {
      const control = event.target;
      event.preventDefault();
      showFieldError(control, messageFor(control));
      if (!first) {
        first = control;
        control.focus();
        setTimeout(() => { first = null; }, 0);
      }
    }, true); // "invalid" does not bubble
  }

  // OTP providers: show the fields of the chosen SMS provider only.
  for (const select of document.querySelectorAll("select[data-provider-select]")) {
    const form = select.closest("form");
    const show = () => {
      for (const set of form.querySelectorAll("fieldset[data-provider]")) {
        set.hidden = set.dataset.provider !== select.value;
      }
    };
    select.addEventListener("change", show);
    show();
  }
});

function messageFor(control) {
  if (control.validity.valueMissing && control.dataset.requiredMessage) {
    return control.dataset.requiredMessage;
  }
  if (control.validity.valueMissing) {
    const label = control.closest("label")?.querySelector(".label")?.textContent.trim();
    const what = label ? label.toLowerCase() : "this field";
    if (control.tagName === "SELECT") return `Choose ${what}.`;
    if (control.type === "file") return `Choose a file for ${what}.`;
    return `Fill in ${what}.`;
  }
  return control.validationMessage;
}

function showFieldError(control, text) {
  const holder = control.closest(".field") || control.parentElement;
  let message = holder.querySelector("[data-invalid-message]");
  if (!message) {
    message = document.createElement("p");
    message.className = "field-error";
    message.dataset.invalidMessage = "";
    message.id = `${control.name.replace(/[^\w-]/g, "-")}-invalid`;
    holder.appendChild(message);
    const clear = () => {
      if (control.checkValidity()) {
        message.hidden = true;
        control.removeAttribute("aria-invalid");
      }
    };
    control.addEventListener("input", clear);
    control.addEventListener("change", clear);
  }
  message.textContent = text;
  message.hidden = false;
  control.setAttribute("aria-invalid", "true");
  control.setAttribute("aria-describedby", message.id);
}

function isNetwork(text) {
  const [address, prefix, extra] = text.split("/");
  if (extra !== undefined) return false;
  const v4 = isIPv4(address);
  const v6 = !v4 && isIPv6(address);
  if (!v4 && !v6) return false;
  if (prefix === undefined) return true;
  if (!/^\d{1,3}$/.test(prefix)) return false;
  return Number(prefix) <= (v4 ? 32 : 128);
}

function isIPv4(text) {
  const parts = text.split(".");
  return parts.length === 4 && parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

function isIPv6(text) {
  if (!/^[0-9a-fA-F:.]+$/.test(text) || !text.includes(":")) return false;
  const halves = text.split("::");
  if (halves.length > 2) return false;
  const groups = halves.flatMap((h) => (h ? h.split(":") : []));
  const last = groups[groups.length - 1] || "";
  const v4tail = last.includes(".");
  if (v4tail && !isIPv4(last)) return false;
  const count = groups.length + (v4tail ? 1 : 0);
  const hexOk = groups.slice(0, v4tail ? -1 : undefined).every((g) => /^[0-9a-fA-F]{1,4}$/.test(g));
  return hexOk && (halves.length === 2 ? count < 8 : count === 8);
}
