// Reference bibliography entries from citeproc-js, for the citation golden files.
//
// usage: NODE_PATH=/tmp/x/node_modules node scripts/citeproc_js_goldens.mjs \
//            ITEMS.json STYLE.csl LOCALE.xml|LOCALES_DIR [text|html]
//
// ITEMS.json is a list of CSL-JSON items; all of them form one bibliography (so that
// disambiguation such as 2023a/2023b applies as it would in one export). Prints a JSON object
// mapping each item id to its bibliography entry: plain text (the default, trimmed) or
// citeproc-js's HTML for the entry (what goes inside its <div class="csl-entry">). A LOCALES_DIR is searched for
// ``locales-<lang>.xml`` (citeproc-py's layout); a single LOCALE.xml is used for every language.
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";

const require = createRequire(path.join(process.cwd(), "noop.js"));
const CSL = require("citeproc");

const [itemsPath, stylePath, localePath, format = "text"] = process.argv.slice(2);
if (!localePath) {
  console.error("usage: citeproc_js_goldens.mjs ITEMS.json STYLE.csl LOCALE.xml|LOCALES_DIR [text|html]");
  process.exit(2);
}
const items = JSON.parse(fs.readFileSync(itemsPath, "utf8"));
const byId = Object.fromEntries(items.map((item) => [String(item.id), item]));
const localeIsDir = fs.statSync(localePath).isDirectory();

function retrieveLocale(lang) {
  if (!localeIsDir) return fs.readFileSync(localePath, "utf8");
  for (const name of [`locales-${lang}.xml`, "locales-en-US.xml"]) {
    const file = path.join(localePath, name);
    if (fs.existsSync(file)) return fs.readFileSync(file, "utf8");
  }
  return false;
}

const engine = new CSL.Engine(
  { retrieveLocale, retrieveItem: (id) => byId[id] },
  fs.readFileSync(stylePath, "utf8"),
);
engine.setOutputFormat(format);
engine.updateItems(items.map((item) => String(item.id)));
const [meta, entries] = engine.makeBibliography();
const out = {};
meta.entry_ids.forEach((ids, i) => {
  const entry = entries[i];
  if (entry === undefined) return; // an item with no printed form
  out[ids[0]] =
    format === "html"
      ? entry.replace(/^ {2}<div class="csl-entry">/, "").replace(/<\/div>\n$/, "")
      : entry.trim();
});
console.log(JSON.stringify(out, null, 2));
