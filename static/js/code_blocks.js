// Code blocks (the list and a block's own page): highlighting (highlight.js builds its markup
// from escaped text), copying the code, and copying a block's permalink.
import hljs from "../vendor/highlightjs/highlight.min.js";
import { $all, copyOnClick } from "./util.js";

const LARGEST_TO_HIGHLIGHT = 100000;

for (const code of $all("code[data-language]")) {
  if (code.textContent.length > LARGEST_TO_HIGHLIGHT) continue;
  const language = code.dataset.language;
  if (language && hljs.getLanguage(language)) code.classList.add(`language-${language}`);
  else code.classList.add("language-plaintext");
  hljs.highlightElement(code);
}

for (const button of $all("button.copy")) {
  copyOnClick(button, () => document.getElementById(button.dataset.copyTarget).textContent);
}

for (const button of $all("button.copy-link")) {
  copyOnClick(button, () => new URL(button.dataset.link, window.location.href).href);
}
