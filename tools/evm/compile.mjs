// Compiles contracts/src/*.sol with the pinned solc (tools/evm/package.json) into
// contracts/out/<Contract>.json ({abi, bytecode, deployedBytecode}).
//   node tools/evm/compile.mjs          write the artifacts
//   node tools/evm/compile.mjs --check  exit 1 if a committed artifact differs from the sources
import { createRequire } from "node:module";
import { readdirSync, readFileSync, writeFileSync, mkdirSync, existsSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const solc = require("solc");
const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const srcDir = join(root, "contracts", "src");
const outDir = join(root, "contracts", "out");
const check = process.argv.includes("--check");

const sources = {};
for (const f of readdirSync(srcDir).filter((f) => f.endsWith(".sol")).sort()) {
  sources[f] = { content: readFileSync(join(srcDir, f), "utf8") };
}
const input = {
  language: "Solidity",
  sources,
  settings: {
    optimizer: { enabled: true, runs: 200 },
    viaIR: false,
    evmVersion: "prague",
    metadata: { bytecodeHash: "none", appendCBOR: false },
    outputSelection: { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } },
  },
};
const out = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (out.errors || []).filter((e) => e.severity === "error");
for (const e of out.errors || []) console.error(e.formattedMessage);
if (errors.length) process.exit(1);

mkdirSync(outDir, { recursive: true });
let differ = 0;
for (const [file, contracts] of Object.entries(out.contracts)) {
  for (const [name, c] of Object.entries(contracts)) {
    const artifact =
      JSON.stringify(
        {
          contract: name,
          source: `contracts/src/${file}`,
          compiler: `solc ${solc.version()}`,
          abi: c.abi,
          bytecode: "0x" + c.evm.bytecode.object,
          deployedBytecode: "0x" + c.evm.deployedBytecode.object,
        },
        null,
        1,
      ) + "\n";
    const path = join(outDir, `${name}.json`);
    if (check) {
      if (!existsSync(path) || readFileSync(path, "utf8") !== artifact) {
        console.error(`contracts/out/${name}.json differs from what contracts/src/${file} compiles to`);
        differ = 1;
      }
    } else {
      writeFileSync(path, artifact);
    }
  }
}
if (check && differ) {
  console.error("run: node tools/evm/compile.mjs   (and commit contracts/out)");
  process.exit(1);
}
console.log(check ? "contracts/out matches contracts/src" : `wrote ${outDir}`);
