// Problems list: its time pickers follow the one time-zone rule (moment_pickers.js).
import { setUpMomentPickers } from "./moment_pickers.js";

setUpMomentPickers(document.getElementById("problem-filters"));
