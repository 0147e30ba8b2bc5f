// The demo page written by `searchkit export --demo`: the drop-in search box
// (searchkit-ui.js) mounted on the page, ?q= as the initial query. An external
// file, not inline script, so the page's Content-Security-Policy stays strict.
import { mount } from "./searchkit-ui.js";

const query = new URLSearchParams(location.search).get("q") ?? "";
const box = mount(document.getElementById("search"), { query, autofocus: true });
window.searchkitDemo = box; // for the browser tests and the console
