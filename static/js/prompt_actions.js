// Approve once / Deny, from a list row, the prompt a program waits at (staff only: the page
// says so in <body data-can-decide>, and the API checks again). The API answers 409 with the
// reason when someone answered first (at the terminal, by policy, in another browser).
import { el } from "./util.js";

const body = document.body;
export const canDecide = body.dataset.canDecide === "true";

function csrfToken() {
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

// The buttons for one waiting prompt, or null when this user may not answer or the prompt is unknown.
export function decisionControls(sessionId, prompt) {
  if (!canDecide || !prompt || prompt.seq === undefined || prompt.seq === null) return null;
  const approve = el("button", { className: "btn approve", text: "Approve once", attrs: { type: "button", "data-decision": "approve" } });
  if (prompt.can_approve === false) {
    approve.disabled = true;
    approve.title = "This prompt has no approve-once option streamtap may type.";
  }
  const deny = el("button", { className: "btn deny", text: "Deny", attrs: { type: "button", "data-decision": "deny" } });
  const box = el("span", { className: "row-decide", attrs: { "data-session": sessionId, "data-seq": String(prompt.seq) } }, [approve, deny]);
  if (prompt.question) box.title = prompt.question;
  return box;
}

async function decide(box, decision) {
  const url = body.dataset.decisionUrlTemplate
    .replace("SESSION_ID", encodeURIComponent(box.dataset.session))
    .replace(/\/0\/decision$/, `/${Number(box.dataset.seq)}/decision`);
  let text;
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken(), Accept: "application/json" },
      body: JSON.stringify({ decision }),
    });
    const answer = await response.json().catch(() => ({}));
    if (response.status === 200) text = decision === "approve" ? "Approved" : "Denied";
    else if (response.status === 409) text = answer.detail || "Someone answered this prompt first.";
    else text = `Could not send the decision (HTTP ${response.status}).`;
  } catch {
    text = "Could not send the decision (no connection).";
  }
  box.replaceChildren(el("span", { className: "decide-outcome", text, attrs: { role: "status" } }));
}

document.addEventListener("click", (event) => {
  const button = event.target.closest(".row-decide button[data-decision]");
  if (!button) return;
  const box = button.closest(".row-decide");
  box.querySelectorAll("button").forEach((b) => { b.disabled = true; });
  decide(box, button.dataset.decision);
});
