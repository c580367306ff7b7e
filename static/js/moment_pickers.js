// A filter form's datetime-local pickers (input.moment) under the one time-zone rule: they show
// and take times in the browser's zone and are sent with its offset, so the server reads the
// instant the person meant. The server puts the current value in data-iso (ISO 8601).
import { $all, isoWithOffset, localInputValue } from "./util.js";

export function setUpMomentPickers(form, { onPick } = {}) {
  if (!form) return;
  const pickers = $all("input.moment", form);
  for (const picker of pickers) {
    if (picker.dataset.iso) picker.value = localInputValue(picker.dataset.iso);
    if (onPick) picker.addEventListener("input", onPick);
  }
  form.addEventListener("submit", () => {
    for (const picker of pickers) {
      const hidden = document.createElement("input");
      hidden.type = "hidden";
      hidden.name = picker.name;
      // A datetime-local value without an offset is read in the browser's zone by Date.
      hidden.value = picker.value ? isoWithOffset(new Date(picker.value)) : "";
      picker.removeAttribute("name");
      form.append(hidden);
    }
    // Blank fields mean "any": leave them out of the URL.
    for (const input of $all("input[name], select[name]", form)) {
      if (!input.value) input.removeAttribute("name");
    }
  });
}
