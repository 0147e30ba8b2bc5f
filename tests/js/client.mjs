// Test driver: runs the searchkit JS client under node on an export folder.
// usage: node client.mjs EXPORT_DIR < requests.json > responses.json
// requests: {"analyze": [words...]} or {"search": [[query, options], ...]}
// (a search answer also lists, per query, the data files it fetched: "fetched")
import { readFile } from "node:fs/promises";
import { fileURLToPath, pathToFileURL } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const client = await import(pathToFileURL(path.join(here, "../../searchkit/export/web/searchkit.js")).href);

const dir = path.resolve(process.argv[2]);
let fetched = [];
const fetchJSON = async (url) => {
  fetched.push(path.relative(dir, fileURLToPath(url)).split(path.sep).slice(-2).join("/"));
  return JSON.parse(await readFile(fileURLToPath(url), "utf8"));
};
const index = await client.load(pathToFileURL(path.join(dir, "searchkit.json")).href, { fetchJSON });

let input = "";
for await (const chunk of process.stdin) input += chunk;
const req = JSON.parse(input);
const out = {};
if (req.analyze) {
  out.analyze = req.analyze.map((w) => index.analyzer.analyze(w));
}
if (req.stem) out.stem = req.stem.map((w) => client.stem(w));
if (req.fold) out.fold = req.fold.map((w) => index.analyzer.fold(w));
if (req.search) {
  out.search = [];
  out.fetched = [];
  for (const [q, opts] of req.search) {
    fetched = [];
    out.search.push(await index.search(q, opts ?? {}));
    out.fetched.push(fetched); // files this search fetched (folder/name), cached ones not again
  }
}
if (req.sort) out.sort = [...req.sort].sort(client.compareCodePoints);
if (req.safe) out.safe = req.safe.map((u) => client.isSafeUrl(u));
process.stdout.write(JSON.stringify(out));
