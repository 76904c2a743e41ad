// Bundles CodeMirror 6 and our editor wrapper into ../static/dist/ (run by `npm run build`).
import { build } from "esbuild";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));

await build({
  entryPoints: [path.join(here, "src", "editor.js")],
  outfile: path.join(here, "..", "static", "dist", "editor.js"),
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2020"],
  legalComments: "linked",
  logLevel: "info",
});
