// Code blocks: highlighting (highlight.js builds its markup from escaped text) and copy.
import hljs from "../vendor/highlightjs/highlight.min.js";
import { $all } from "./util.js";

const LARGEST_TO_HIGHLIGHT = 100000;

for (const code of $all("code[data-language]")) {
  if (code.textContent.length > LARGEST_TO_HIGHLIGHT) continue;
  const language = code.dataset.language;
  if (language && hljs.getLanguage(language)) code.classList.add(`language-${language}`);
  else code.classList.add("language-plaintext");
  hljs.highlightElement(code);
}

async function copyText(text) {
  if (navigator.clipboard && window.isSecureContext) {
    await navigator.clipboard.writeText(text);
    return;
  }
  // Plain http on a LAN address is not a secure context: fall back to a hidden textarea.
  const area = document.createElement("textarea");
  area.value = text;
  area.setAttribute("readonly", "");
  area.className = "copy-buffer";
  document.body.append(area);
  area.select();
  const ok = document.execCommand("copy");
  area.remove();
  if (!ok) throw new Error("copy refused");
}

for (const button of $all("button.copy")) {
  button.addEventListener("click", async () => {
    const code = document.getElementById(button.dataset.copyTarget);
    try {
      await copyText(code.textContent);
      button.textContent = "Copied";
      button.classList.add("done");
    } catch {
      button.textContent = "Copy failed";
    }
    setTimeout(() => { button.textContent = "Copy"; button.classList.remove("done"); }, 1500);
  });
}
