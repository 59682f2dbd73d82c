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

// Revoking a key cannot be undone: ask once more (buying an add-on has a confirmation page of its own).
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
