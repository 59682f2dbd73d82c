// Enhancements only: every page works without this file.
"use strict";

// Live SMS cost: asks the server (the one segment counter) what the text would cost, as the shop would send it.
function setUpSmsCost(box) {
  const output = document.getElementById(box.dataset.smsCost);
  if (!output) return;
  const idle = output.textContent;
  let timer = null;
  let latest = 0;

  function show(result, length) {
    const plural = (n, word) => `${n.toLocaleString()} ${word}${n === 1 ? "" : "s"}`;
    const credits = result.provider === "flowroute" ? "billed by Flowroute" : plural(result.credits, "credit");
    output.textContent = `${plural(length, "character")} · ${result.encoding} · ${plural(result.segments, "segment")} · ${credits}`;
    output.dataset.encoding = result.encoding;
    output.classList.toggle("sms-cost-ucs2", result.encoding === "UCS-2");
  }

  async function update() {
    const text = box.value;
    const mine = ++latest;
    if (!text.trim()) {
      output.textContent = idle;
      output.classList.remove("sms-cost-ucs2");
      return;
    }
    try {
      const response = await fetch("/ui/segments", {
        method: "POST",
        headers: {"Content-Type": "application/json", "Accept": "application/json"},
        credentials: "same-origin",
        body: JSON.stringify({text}),
      });
      if (mine !== latest) return; // a newer keystroke already asked
      if (response.status === 401) { output.textContent = "Signed out: reload the page to sign in again."; return; }
      if (!response.ok) { output.textContent = "This text is too long to send."; return; }
      show(await response.json(), Array.from(text).length);
    } catch (error) {
      if (mine === latest) output.textContent = "Could not reach the server to count this text.";
    }
  }

  box.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(update, 150); });
  if (box.value.trim()) update();
}

document.querySelectorAll("textarea[data-sms-cost]").forEach(setUpSmsCost);

// The new-ticket form says whether the chosen customer can be texted, as the choice changes (the server
// decides, by the rule every text is held to; without JavaScript, "Check texting" asks the same).
function setUpTextingVerdict(select) {
  const output = document.getElementById(select.dataset.textingVerdict);
  if (!output) return;
  const idle = "Choose a customer to see whether they can be texted.";
  let latest = 0;
  select.form.querySelectorAll("[data-hide-with-js]").forEach((button) => { button.hidden = true; });

  function show(tone, message, fixUrl, fixLabel) {
    output.classList.remove("callout-ok", "callout-warn", "callout-info");
    output.classList.add(tone);
    output.textContent = message;
    if (fixUrl) {
      const link = document.createElement("a");
      link.href = fixUrl;
      link.textContent = fixLabel;
      output.append(" ", link);
    }
  }

  select.addEventListener("change", async () => {
    const mine = ++latest;
    if (!select.value) { show("callout-info", idle); return; }
    const back = `/tickets?customer=${encodeURIComponent(select.value)}#open-ticket`;
    try {
      const response = await fetch(`/ui/customers/${encodeURIComponent(select.value)}/texting?back=${encodeURIComponent(back)}`,
        { credentials: "same-origin", headers: { "Accept": "application/json" } });
      if (mine !== latest) return;
      if (response.status === 401) { show("callout-warn", "Signed out: reload the page to sign in again."); return; }
      if (!response.ok) { show("callout-warn", "Could not check whether this customer can be texted."); return; }
      const verdict = await response.json();
      show(verdict.can_text ? "callout-ok" : "callout-warn", `${verdict.message}.`, verdict.fix_url, verdict.fix_label);
    } catch (error) {
      if (mine === latest) show("callout-warn", "Could not reach the server to check texting.");
    }
  });
}

document.querySelectorAll("select[data-texting-verdict]").forEach(setUpTextingVerdict);

// A link to a part of a form (the customer's phones, from "Cannot text: no phone typed mobile") puts the
// cursor in its first field. After "load": the browser's own move to the #part would otherwise undo it.
window.addEventListener("load", () => {
  if (!window.location.hash) return;
  const part = document.getElementById(decodeURIComponent(window.location.hash.slice(1)));
  const first = part && part.hasAttribute("data-focus-first") && part.querySelector("input, select, textarea");
  if (first) requestAnimationFrame(() => first.focus());
});

// Buying costs money: ask once more.
document.querySelectorAll("form[data-confirm]").forEach((form) => {
  form.addEventListener("submit", (event) => {
    if (!window.confirm(form.dataset.confirm)) event.preventDefault();
  });
});

// Copy buttons for portal links and webhook URLs.
document.querySelectorAll("button[data-copy]").forEach((button) => {
  button.addEventListener("click", async () => {
    const label = button.textContent;
    try {
      await navigator.clipboard.writeText(button.dataset.copy);
      button.textContent = "Copied";
    } catch (error) {
      button.textContent = "Copy failed";
    }
    setTimeout(() => { button.textContent = label; }, 1500);
  });
});

// A double click on a submit button must not post a comment (and send a text) twice.
document.querySelectorAll("form[method=post]").forEach((form) => {
  form.addEventListener("submit", (event) => {
    if (event.defaultPrevented) return;
    if (form.dataset.submitting) { event.preventDefault(); return; }
    form.dataset.submitting = "1";
  });
});
window.addEventListener("pageshow", () => {
  document.querySelectorAll("form[data-submitting]").forEach((form) => { delete form.dataset.submitting; });
});

// Live pages: the shop's event stream says what just changed; the page asks the server for itself again and
// swaps the parts that show it (the conversation, the ticket's head, the list, the navigation counts). The
// server renders, as on a reload; what a person is typing is never touched. Without JavaScript, reload.
(function live() {
  const ticket = document.querySelector("[data-live-ticket]");
  const list = document.querySelector("[data-live-list]");
  if (!(ticket || list) || !window.EventSource) return;
  const regions = ["live-timeline", "live-ticket-head", "live-list", "live-nav"];
  const ticketId = ticket ? Number(ticket.dataset.liveTicket) : null;
  let timer = null;
  let busy = false;

  async function refresh() {
    if (busy) { timer = setTimeout(refresh, 200); return; }
    busy = true;
    try {
      const response = await fetch(window.location.href, { credentials: "same-origin", headers: { "X-Live": "1" } });
      if (!response.ok) return;
      const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
      for (const id of regions) {
        const mine = document.getElementById(id);
        const theirs = fresh.getElementById(id);
        if (mine && theirs && mine.innerHTML !== theirs.innerHTML) mine.innerHTML = theirs.innerHTML;
      }
      document.body.dataset.liveRefreshed = String(Date.now());
    } finally {
      busy = false;
    }
  }

  function changed(event) {
    let data = {};
    try { data = JSON.parse(event.data || "{}"); } catch (error) { return; }
    if (ticketId !== null && data.ticket_id !== ticketId && !list) {
      // Another ticket: only the navigation counts may have changed.
      if (event.type !== "message.received") return;
    }
    clearTimeout(timer);
    timer = setTimeout(refresh, 120);
  }

  const stream = new EventSource("/api/v1/events");
  for (const kind of ["message.received", "message.status", "comment.created", "ticket.updated"]) {
    stream.addEventListener(kind, changed);
  }
  stream.addEventListener("resync", () => { clearTimeout(timer); timer = setTimeout(refresh, 120); });
  stream.addEventListener("open", () => { document.body.dataset.live = "on"; });
})();
