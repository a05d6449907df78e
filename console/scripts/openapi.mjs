// Regenerates openapi.json from the server code and the typed client schema from it, so an API
// change breaks `tsc` here instead of surprising a user. CLIPDEX_BIN overrides the CLI used.
import { execFileSync } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, "..");
const cli = process.env.CLIPDEX_BIN || path.resolve(root, "../.venv/bin/clipdex");
const spec = path.join(root, "openapi.json");

if (existsSync(cli)) {
  const out = execFileSync(cli, ["openapi"], { encoding: "utf8", maxBuffer: 64 << 20 });
  JSON.parse(out); // fail here, not in the generator, when the CLI printed something else
  writeFileSync(spec, out);
} else if (!existsSync(spec)) {
  console.error(`clipdex CLI not found at ${cli} and no openapi.json: run 'make setup' first`);
  process.exit(1);
} else {
  console.warn(`clipdex CLI not found at ${cli}; using the existing openapi.json`);
}
execFileSync(process.execPath, [path.join(root, "node_modules/openapi-typescript/bin/cli.js"), spec, "-o",
  path.join(root, "src/api/schema.d.ts")], { stdio: "inherit" });
