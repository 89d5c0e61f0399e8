// Start miniflare (workerd plus its real local KV storage) with the REST shim on 127.0.0.1.
// Prints the base URL on stdout once ready; stops cleanly on SIGTERM.
// argv: node_modules prefix (where miniflare is installed), shim path, token, account.
import { createRequire } from "node:module";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const [prefix, shim, token, account] = process.argv.slice(2);
const entry = createRequire(join(prefix, "package.json")).resolve("miniflare");
const { Miniflare } = await import(pathToFileURL(entry).href);
const mf = new Miniflare({
  modules: true,
  scriptPath: shim,
  kvNamespaces: ["KV"],
  bindings: { TOKEN: token, ACCOUNT: account },
  compatibilityDate: "2025-06-01",
  host: "127.0.0.1",
  port: 0,
});
const url = await mf.ready;
process.stdout.write(`${url.origin}/client/v4\n`);
const stop = async () => {
  await mf.dispose();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
