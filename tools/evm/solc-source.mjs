// Compiles one Solidity source read from stdin (a verifier rendered from a key at run time) with
// the pinned solc and the settings of compile.mjs; prints {"abi": ..., "bytecode": "0x..."} of
// the contract named by the first argument.
//   node tools/evm/solc-source.mjs Verifier < Verifier.sol
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";

const require = createRequire(import.meta.url);
const solc = require("solc");
const name = process.argv[2];
if (!name) {
  console.error("usage: node tools/evm/solc-source.mjs CONTRACT < source.sol");
  process.exit(2);
}
const input = {
  language: "Solidity",
  sources: { "source.sol": { content: readFileSync(0, "utf8") } },
  settings: {
    optimizer: { enabled: true, runs: 200 },
    evmVersion: "prague",
    metadata: { bytecodeHash: "none", appendCBOR: false },
    outputSelection: { "*": { "*": ["abi", "evm.bytecode.object"] } },
  },
};
const out = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (out.errors || []).filter((e) => e.severity === "error");
if (errors.length) {
  for (const e of errors) console.error(e.formattedMessage);
  process.exit(1);
}
const c = out.contracts["source.sol"]?.[name];
if (!c) {
  console.error(`no contract ${name} in the source`);
  process.exit(1);
}
process.stdout.write(JSON.stringify({ abi: c.abi, bytecode: "0x" + c.evm.bytecode.object }) + "\n");
