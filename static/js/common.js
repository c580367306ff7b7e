// Runs on every page: times in the browser's zone, ANSI colours in program text.
import { colourAnsi, localizeTimes } from "./util.js";

localizeTimes();
colourAnsi();
