// Live progress of a secure payment, from the server's event stream. The stream carries only
// field statuses, reasons, brand and last four: no card data ever reaches the page.
"use strict";

function render(state) {
  const status = document.getElementById("capture-status");
  status.textContent = state.status_text;
  status.dataset.status = state.status;
  document.getElementById("capture-card").textContent = state.card;
  document.getElementById("capture-outcome").textContent = state.outcome;
  const confirmation = document.getElementById("confirmation");
  confirmation.textContent = "";
  if (state.confirmation_number) {
    confirmation.append("Confirmation number ");
    const strong = document.createElement("strong");
    strong.textContent = state.confirmation_number;
    confirmation.append(strong);
  }
  for (const field of state.fields) {
    const row = document.querySelector(`[data-field="${field.name}"]`);
    row.className = `field ${field.status}`;
    row.querySelector(".state").textContent = field.status;
    row.querySelector(".reason").textContent = field.reason;
    row.querySelector("button").disabled =
      state.final || !["valid", "invalid"].includes(field.status);
  }
  document.getElementById("cancel-payment").hidden = state.final;
  document.getElementById("after-final").hidden = !state.final;
}

document.addEventListener("DOMContentLoaded", () => {
  const panel = document.getElementById("capture");
  if (!panel || panel.dataset.final === "true") return;
  const source = new EventSource(panel.dataset.events);
  source.addEventListener("capture", (event) => {
    const state = JSON.parse(event.data);
    render(state);
    if (state.final) source.close();
  });
  // A refused reconnection (the console session has ended) closes the stream for good: reload,
  // and the console shows the log-in page.
  source.addEventListener("error", () => {
    if (source.readyState === EventSource.CLOSED) window.location.reload();
  });
});

// The calls list refreshes itself, so a caller pressing 0 shows up without a reload (and what
// the agent is typing in the look-up form is left alone). A refresh does not count as the agent
// doing something: the console session still ends after CONSOLE_IDLE_MINUTES without a click.
const CALLS_REFRESH_MS = 3000;

async function refreshCalls(table) {
  const reply = await fetch(window.location.href, { credentials: "same-origin" });
  if (reply.status === 401) window.location.reload(); // the session has ended: to the log-in
  if (!reply.ok || reply.redirected) return;
  const page = new DOMParser().parseFromString(await reply.text(), "text/html");
  const fresh = page.querySelector("#calls tbody");
  if (fresh) table.tBodies[0].replaceWith(fresh);
}

document.addEventListener("DOMContentLoaded", () => {
  const table = document.getElementById("calls");
  if (table) setInterval(() => refreshCalls(table).catch(() => {}), CALLS_REFRESH_MS);
});
