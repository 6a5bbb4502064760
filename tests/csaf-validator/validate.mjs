// Runs CSAF 2.0 documents through the BSI's validator library (@secvisogram/csaf-validator-lib), as the BSI's
// own validator service does: the strict schema test, every mandatory test (6.1.x; 6.1.8 is the schema test) and
// every recommended test (6.2.x, "optional" in CSAF 2.0 and in the library's names). Informative tests (6.3.x)
// are left out: they fetch URLs and run hunspell.
//
// Prints one JSON object on stdout: per file, every test with its verdict and what it said. A schema or mandatory
// test fails on an error; a recommended test fails on an error or a warning (that is how it reports a finding).
// Exits 1 when any test of any file failed, 2 when a file cannot be read as JSON.
//
// usage: node validate.mjs <document.json>...

import { readFileSync } from "node:fs";
import validateStrict from "@secvisogram/csaf-validator-lib/validateStrict.js";
import * as mandatory from "@secvisogram/csaf-validator-lib/mandatoryTests.js";
import * as recommended from "@secvisogram/csaf-validator-lib/optionalTests.js";
import { csaf_2_0_strict } from "@secvisogram/csaf-validator-lib/schemaTests.js";

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node validate.mjs <document.json>...");
  process.exit(2);
}

const groups = [
  ["schema", [csaf_2_0_strict]],
  ["mandatory", Object.values(mandatory)],
  ["recommended", Object.values(recommended)],
];

const brief = (list) => list.map(({ instancePath, message }) => ({ instancePath, message }));

const report = { files: [], failed: 0 };
for (const file of files) {
  let doc;
  try {
    doc = JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    console.error(`${file}: ${e.message}`);
    process.exit(2); // nothing printed on stdout yet
  }
  const tests = [];
  for (const [group, list] of groups) {
    const result = await validateStrict(list, doc);
    for (const test of result.tests) {
      const failed =
        !test.isValid || test.errors.length > 0 || (group === "recommended" && test.warnings.length > 0);
      tests.push({
        group,
        name: test.name,
        passed: !failed,
        errors: brief(test.errors),
        warnings: brief(test.warnings),
        infos: brief(test.infos),
      });
    }
  }
  const failures = tests.filter((t) => !t.passed).map((t) => t.name);
  report.failed += failures.length;
  report.files.push({ file, passed: failures.length === 0, failures, tests });
}

// Not process.exit(): it would cut the report short when stdout is a pipe.
process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
process.exitCode = report.failed === 0 ? 0 : 1;
