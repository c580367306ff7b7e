// Approve or deny, from the browser, the prompt a wrapped program is waiting at.
// Everything shown comes from the program's output: it is set with textContent only.
import { $, el } from "./util.js";

const panel = $("#prompt-panel");

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

let shownSeq = null;
// Bumped by each decision: a refresh asked before it may answer "still waiting" after it, and
// must not bring back the card of a prompt just answered over the outcome.
let decisions = 0;

async function refresh() {
  const asked = decisions;
  let data;
  try {
    const response = await fetch(panel.dataset.pendingUrl, { headers: { Accept: "application/json" } });
    if (!response.ok) return;
    data = await response.json();
  } catch {
    return;
  }
  if (asked !== decisions) return;
  if (!data.waiting) {
    if (shownSeq !== null && !panel.querySelector(".prompt-outcome")) panel.replaceChildren();
    shownSeq = null;
    return;
  }
  if (data.seq === shownSeq) return;
  shownSeq = data.seq;
  render(data.prompt, data.can_decide);
}

function render(prompt, canDecide) {
  const risk = prompt.risk_level || "medium";
  const rows = [
    el("div", { className: "prompt-head" }, [
      el("strong", { text: prompt.question || "The program is waiting for input." }),
      el("span", { className: `badge risk-${risk}`, text: `${risk} risk` }),
      el("span", { className: "muted mono", text: prompt.rule || "" }),
    ]),
  ];
  if (prompt.command) rows.push(el("pre", { className: "prompt-command mono", text: prompt.command }));
  if (prompt.options && prompt.options.length) {
    rows.push(el("ul", { className: "prompt-options" }, prompt.options.map((o) =>
      el("li", { text: `${o.key ? `[${o.key}] ` : ""}${o.label || ""}${o.kind ? ` — ${o.kind.replace("_", " ")}` : ""}` }))));
  }
  if (prompt.screen) rows.push(el("details", {}, [el("summary", { text: "screen" }), el("pre", { className: "prompt-screen mono", text: prompt.screen })]));
  const actions = el("div", { className: "prompt-actions" });
  if (canDecide) {
    const approve = el("button", { className: "btn approve", text: "Approve once", attrs: { type: "button", "data-decision": "approve" } });
    const deny = el("button", { className: "btn deny", text: "Deny", attrs: { type: "button", "data-decision": "deny" } });
    if (!prompt.can_approve) {
      approve.disabled = true;
      approve.title = "This prompt has no approve-once option streamtap may type.";
    }
    actions.append(approve, deny);
  } else {
    actions.append(el("span", { className: "muted", text: "Only staff can answer prompts." }));
  }
  rows.push(actions);
  panel.replaceChildren(el("section", { className: "panel prompt-card", attrs: { "aria-label": "Prompt waiting for an answer" } }, rows));
}

async function decide(decision, seq) {
  const url = panel.dataset.decisionUrl.replace("/0/decision", `/${seq}/decision`);
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken(), Accept: "application/json" },
    body: JSON.stringify({ decision }),
  });
  // A 409 says why (answered already, superseded by a newer question, not waiting).
  const refusal = response.status === 409 ? (await response.json().catch(() => ({}))).detail : null;
  const outcome = response.status === 200
    ? `${decision === "approve" ? "Approved" : "Denied"}: the answer is being typed into the program.`
    : response.status === 409 ? refusal || "Someone answered this prompt first (at the terminal, by policy or in another browser)."
      : `Could not send the decision (HTTP ${response.status}).`;
  const attrs = { role: "status", ...(response.status === 200 ? { "data-decision": decision } : {}) };
  decisions += 1; // and refreshes asked while the decision was on its way
  panel.replaceChildren(el("p", { className: "panel prompt-outcome", text: outcome, attrs }));
  shownSeq = null;
}

panel.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-decision]");
  if (!button || shownSeq === null) return;
  panel.querySelectorAll("button").forEach((b) => { b.disabled = true; });
  decisions += 1;
  decide(button.dataset.decision, shownSeq);
});

panel.addEventListener("streamtap:status", (event) => {
  const { status } = event.detail;
  const outcome = panel.querySelector(".prompt-outcome");
  if (outcome && status === "waiting_for_input") {
    outcome.remove(); // a new prompt: its own card replaces the old outcome
  } else if (outcome?.dataset.decision) {
    // The program moved on (or ended): the answer is no longer "being typed".
    outcome.textContent = `${outcome.dataset.decision === "approve" ? "Approved" : "Denied"}: the program got its answer.`;
  }
  refresh();
});

if (panel.dataset.status === "waiting_for_input") refresh();
