// Enhancements only: every page works without this file.
"use strict";

const plural = (n, word) => `${n.toLocaleString()} ${word}${n === 1 ? "" : "s"}`;

function costLine(result) {
  const credits = result.provider === "flowroute" ? "billed by Flowroute" : plural(result.credits, "credit");
  return `${plural(result.characters, "character")} · ${result.encoding} · ${plural(result.segments, "segment")} · ${credits}`;
}

function priceOf(cost, provider) {
  return provider === "flowroute" ? plural(cost.segments, "segment") : plural(cost.credits, "credit");
}

async function postJson(url, body) {
  const response = await fetch(url, {
    method: "POST",
    headers: {"Content-Type": "application/json", "Accept": "application/json"},
    credentials: "same-origin",
    body: JSON.stringify(body),
  });
  let answer = null;
  try { answer = await response.json(); } catch (error) { answer = null; }
  return {status: response.status, answer};
}

function problemMessage(status, answer) {
  if (status === 401) return "Signed out: reload the page to sign in again.";
  const first = answer && answer.errors && answer.errors[0];
  return first ? first.message : (answer && answer.detail) || "The server could not check this text.";
}

// The characters that make a text UCS-2, named (the server's list: domain/plain_text.py), and the button that
// spells them with plain ones when they have a plain spelling.
function showCulprits(box, result) {
  if (!box) return;
  const culprits = (result && result.culprits) || [];
  box.hidden = culprits.length === 0;
  const list = box.querySelector(".culprits");
  list.replaceChildren();
  for (const c of culprits) {
    const item = document.createElement("li");
    const shown = document.createElement("code");
    shown.className = "culprit";
    shown.textContent = c.unseen ? c.code : c.character;
    item.append(shown, ` ${c.name}`);
    if (c.plain === null) {
      const none = document.createElement("span");
      none.className = "muted";
      none.textContent = " (no plain spelling)";
      item.append(none);
    } else if (c.plain === "") {
      item.append(" → removed");
    } else {
      const plain = document.createElement("code");
      plain.textContent = c.plain;
      item.append(" → ", plain);
    }
    list.append(item);
  }
  if (result && result.more_culprits) {
    const more = document.createElement("li");
    more.className = "muted";
    more.textContent = `and ${plural(result.more_culprits, "other")}`;
    list.append(more);
  }
  const button = box.querySelector("[data-plain]");
  const price = box.querySelector("[data-plain-cost]");
  if (button) button.hidden = !(result && result.plain);
  if (price) {
    let said = "";
    if (result && result.plain) {
      const now = priceOf(result, result.provider);
      const then = priceOf(result.plain, result.provider);
      said = result.plain.encoding === "UCS-2"
        ? `Still UCS-2: the characters without a plain spelling stay${then !== now ? ` (${then} instead of ${now})` : ""}`
        : `GSM-7 · ${then}${then !== now ? ` instead of ${now}` : ""}`;
    }
    price.textContent = said;
  }
}

// Live SMS cost: asks the server (the one segment counter) what the text would cost, as the shop would send it.
// `changed(result)` hears every answer (null when the box is empty or the server could not say).
function smsCost(box, changed) {
  const output = document.getElementById(box.dataset.smsCost);
  const culprits = box.closest(".field").querySelector("[data-culprits]");
  const idle = output.textContent;
  let timer = null;
  let latest = 0;
  let last = null;

  function settle(result) {
    last = result;
    showCulprits(culprits, result);
    if (changed) changed(result);
  }

  async function update() {
    const text = box.value;
    const mine = ++latest;
    if (!text.trim()) {
      output.textContent = idle;
      output.classList.remove("sms-cost-ucs2");
      delete output.dataset.encoding;
      settle(null);
      return;
    }
    try {
      const {status, answer} = await postJson("/ui/segments", {text});
      if (mine !== latest) return; // a newer keystroke already asked
      if (status !== 200) {
        output.textContent = status === 422 ? "This text is too long to send." : problemMessage(status, answer);
        settle(null);
        return;
      }
      output.textContent = costLine(answer);
      output.dataset.encoding = answer.encoding;
      output.classList.toggle("sms-cost-ucs2", answer.encoding === "UCS-2");
      settle(Object.assign(answer, {text}));
    } catch (error) {
      if (mine === latest) { output.textContent = "Could not reach the server to count this text."; settle(null); }
    }
  }

  function soon() { clearTimeout(timer); timer = setTimeout(update, 150); }
  box.addEventListener("input", soon);
  const button = culprits && culprits.querySelector("[data-plain]");
  if (button) {
    button.addEventListener("click", () => {
      if (!last || !last.plain || last.text !== box.value) { update(); return; } // typed since: count again first
      box.value = last.plain.text;
      box.dispatchEvent(new Event("input", {bubbles: true}));
      box.focus();
    });
  }
  if (box.value.trim()) update();
  return {refresh: soon, last: () => last};
}

// The compose form: one box by default. "Also text this" shows the SMS box, filled from the comment until it is
// edited by hand; a preview says what the portal and the customer's phone will show; Ctrl/Cmd+Enter posts.
function setUpCompose(form) {
  const comment = form.querySelector("#body");
  const hidden = form.querySelector("#hidden");
  const also = form.querySelector("#also_text");
  const sms = form.querySelector("#sms_body");
  if (!comment || !also || !sms) return;
  const smsField = document.getElementById("sms-field");
  const preview = document.getElementById("compose-preview");
  const portalLine = preview.querySelector("[data-preview-portal]");
  const textLine = preview.querySelector("[data-preview-text]");
  const hint = document.getElementById("sms_body-hint");
  const cannotText = form.dataset.cannotText;
  also.closest("[data-also-text]").hidden = false;
  form.querySelector("[data-shortcut]").hidden = false;
  if (hint.dataset.jsHint) hint.textContent = hint.dataset.jsHint;
  if (sms.value.trim()) also.checked = true;
  let followsComment = !sms.value || sms.value === comment.value;
  let cost = null;

  // The words themselves go in a span of their own (no added quotes: curly ones are what the box warns about).
  function say(line, words, after) {
    const flat = words.trim();
    const said = document.createElement("span");
    said.className = "said";
    said.textContent = flat.length > 280 ? flat.slice(0, 280) + "…" : flat;
    line.replaceChildren(said, after || "");
  }

  function drawPreview() {
    const body = comment.value.trim();
    if (!body) portalLine.textContent = "nothing (no comment text)";
    else if (hidden.checked) portalLine.textContent = "nothing: a hidden comment is for staff only";
    else say(portalLine, comment.value);
    const text = sms.value.trim();
    const counted = cost && cost.text === sms.value;
    if (!also.checked || !text) {
      textLine.textContent = "nothing (not texted)";
    } else if (cannotText) {
      textLine.textContent = `nothing: cannot text, ${cannotText}`;
    } else {
      say(textLine, counted ? (cost.sent_as || cost.text) : sms.value,
          (counted ? ` · ${costLine(cost)}` : "")
          + (counted && cost.sent_as ? " · curly quotes and dashes go as plain ones (smart encoding, in Settings)" : ""));
    }
    preview.hidden = !body && !text;
  }

  const counter = smsCost(sms, (result) => { cost = result; drawPreview(); });

  function follow() {
    if (also.checked && followsComment && sms.value !== comment.value) {
      sms.value = comment.value;
      counter.refresh();
    }
    drawPreview();
  }

  function showSms() {
    smsField.hidden = !also.checked;
    sms.disabled = !also.checked; // an unticked box sends no text, whatever it holds
    follow();
  }

  comment.addEventListener("input", follow);
  hidden.addEventListener("change", drawPreview);
  also.addEventListener("change", () => { showSms(); if (also.checked) sms.focus(); });
  sms.addEventListener("input", () => {
    followsComment = !sms.value || sms.value === comment.value; // emptied by hand: follow the comment again
    drawPreview();
  });
  form.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  showSms();

  // Canned replies: filled in for this ticket by the server, put where the cursor is in the comment box.
  const picker = document.querySelector("form[data-canned-url]");
  if (!picker) return;
  const problem = document.getElementById("canned-error");
  picker.addEventListener("submit", async (event) => {
    event.preventDefault();
    const id = picker.querySelector("select").value;
    problem.hidden = true;
    try {
      const response = await fetch(picker.dataset.cannedUrl + encodeURIComponent(id),
                                   {credentials: "same-origin", headers: {"Accept": "application/json"}});
      const answer = await response.json().catch(() => null);
      if (!response.ok) { problem.textContent = problemMessage(response.status, answer); problem.hidden = false; return; }
      const start = comment.selectionStart ?? comment.value.length;
      const end = comment.selectionEnd ?? start;
      comment.setRangeText(answer.text, start, end, "end");
      comment.focus();
      follow();
    } catch (error) {
      problem.textContent = "Could not reach the server to fill in the reply.";
      problem.hidden = false;
    }
  });
}

// The template editor: checked and priced for a typical ticket as it is typed, the line and problem shown beside
// the template; Preview and Save check in place, so a refusal never reloads the page away from the template.
function setUpTemplateEditor(form) {
  const box = form.querySelector("textarea[name=body]");
  const trigger = form.querySelector("input[name=trigger]").value;
  const select = form.querySelector("select[name=ticket_id]");
  const card = form.closest(".template");
  const field = box.closest(".field");
  const output = card.querySelector(".sms-cost");
  const culprits = card.querySelector("[data-culprits]");
  const warning = card.querySelector("[data-over-one]");
  const preview = card.querySelector("[data-preview]");
  const errorId = `${card.id}-error`;
  let timer = null;
  let latest = 0;
  let last = null;

  function showError(message) {
    let error = document.getElementById(errorId);
    if (!error) {
      error = document.createElement("p");
      error.className = "field-error";
      error.id = errorId;
      error.setAttribute("role", "alert");
      box.insertAdjacentElement("afterend", error);
    }
    error.textContent = message;
    field.classList.add("field-invalid");
    box.setAttribute("aria-invalid", "true");
    box.setAttribute("aria-describedby", `${output.id} ${errorId}`);
    output.textContent = "";
    output.classList.remove("sms-cost-ucs2");
    warning.hidden = true;
    showCulprits(culprits, null);
  }

  function clearError() {
    const error = document.getElementById(errorId);
    if (error) error.remove();
    field.classList.remove("field-invalid");
    box.removeAttribute("aria-invalid");
    box.setAttribute("aria-describedby", output.id);
  }

  function showCost(result) {
    clearError();
    last = result;
    if (result.off) {
      output.textContent = "Off: nothing is sent.";
      output.classList.remove("sms-cost-ucs2");
      warning.hidden = true;
      showCulprits(culprits, null);
      return;
    }
    output.textContent = `For a typical ticket: ${costLine(result)}`;
    output.classList.toggle("sms-cost-ucs2", result.encoding === "UCS-2");
    warning.hidden = result.segments <= 1;
    warning.textContent = `This text costs ${priceOf(result, result.provider)} for a typical ticket, each time it is `
      + "sent. One credit holds 160 plain characters (70 with an emoji or a curly quote).";
    showCulprits(culprits, result);
  }

  async function check(ticketId) {
    const body = {trigger, body: box.value};
    if (ticketId) body.ticket_id = Number(ticketId);
    const {status, answer} = await postJson("/ui/templates/check", body);
    return status === 200 ? {result: answer} : {error: problemMessage(status, answer)};
  }

  async function live() {
    const mine = ++latest;
    const source = box.value;
    try {
      const {result, error} = await check(null);
      if (mine !== latest) return;
      if (error) showError(error); else showCost(Object.assign(result, {source}));
    } catch (error) {
      if (mine === latest) output.textContent = "Could not reach the server to check this text.";
    }
  }

  box.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(live, 250); });
  if (!culprits.hidden) live(); // the server named the characters; ask once more for the plain spelling
  const plainButton = culprits.querySelector("[data-plain]");
  if (plainButton) {
    plainButton.addEventListener("click", () => {
      if (!last || !last.plain || last.source !== box.value) { live(); return; }
      box.value = last.plain.text;
      box.focus();
      live();
    });
  }

  form.addEventListener("submit", async (event) => {
    const action = event.submitter && event.submitter.dataset.action;
    if (action !== "preview" && action !== "save") return;
    event.preventDefault();
    let checked;
    try {
      checked = await check(action === "preview" && select ? select.value : null);
    } catch (error) {
      form.submit(); // the server checks it too
      return;
    }
    if (checked.error) { showError(checked.error); box.focus(); return; }
    if (action === "save") { form.submit(); return; }
    const r = checked.result;
    const label = document.createElement("p");
    label.className = "label";
    label.textContent = r.off ? "Off: nothing is sent" : `Preview for ticket #${r.ticket_number}`;
    const text = document.createElement("p");
    text.className = "sms-body";
    text.textContent = r.off ? "" : r.text;
    const meta = document.createElement("p");
    meta.className = "sms-meta";
    meta.textContent = r.off ? "" : `${r.encoding} · ${plural(r.segments, "segment")} · ${plural(r.credits, "credit")}`;
    preview.replaceChildren(label, text, meta);
    preview.hidden = false;
    live();
  });
}

document.querySelectorAll("form[data-compose]").forEach(setUpCompose);
document.querySelectorAll("textarea[data-sms-cost]").forEach((box) => {
  if (!box.closest("form[data-compose]")) smsCost(box);
});
document.querySelectorAll("form[data-template-editor]").forEach(setUpTemplateEditor);

// A button that deletes something asks once more.
document.querySelectorAll("button[data-confirm]").forEach((button) => {
  button.addEventListener("click", (event) => {
    if (!window.confirm(button.dataset.confirm)) event.preventDefault();
  });
});

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

// Placing an inbox text: the link checkbox names the customer of the ticket chosen (without JavaScript it says
// "the ticket's customer", which is as true).
document.querySelectorAll("select[data-link-name]").forEach((select) => {
  const target = document.getElementById(select.dataset.linkName);
  if (!target) return;
  const fallback = target.textContent;
  const update = () => {
    const option = select.selectedOptions[0];
    target.textContent = (option && option.dataset.customer) || fallback;
  };
  select.addEventListener("change", update);
  update();
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
