// Times snarkjs Groth16 proving of a circuit exported by `zkpay-bench` (circuit.r1cs and
// witness.wtns in DIR): powers of tau 2^POWER, phase 2, setup, then one warm-up proof and
// SAMPLES timed proofs, each verified. Prints one JSON object.
"use strict";
const { execFileSync } = require("child_process");
const path = require("path");
const fs = require("fs");
const snarkjs = require("snarkjs");

const [dir, power, samples] = [process.argv[2], process.argv[3], Number(process.argv[4] || 3)];
const checkOnly = process.argv[5] === "check-only";
const cli = path.join(__dirname, "node_modules", "snarkjs", "build", "cli.cjs");
const run = (...args) => execFileSync(process.execPath, [cli, ...args], { cwd: dir, stdio: "pipe" });
const median = (v) => { const s = [...v].sort((a, b) => a - b); const n = s.length; return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2; };

async function main() {
  const t = Date.now();
  run("wtns", "check", "circuit.r1cs", "witness.wtns");
  const checkMs = Date.now() - t;
  const version = JSON.parse(fs.readFileSync(path.join(__dirname, "node_modules", "snarkjs", "package.json"))).version;
  if (checkOnly) {
    console.log(JSON.stringify({ snarkjs: version, node: process.version, witness_check_ms: checkMs, ptau_ms: 0, setup_ms: 0, prove_median_ms: 0, prove_samples_ms: [], verified: false, public_inputs_match: false }));
    process.exit(0);
  }
  const t1 = Date.now();
  if (!fs.existsSync(path.join(dir, `pot${power}_final.ptau`))) {
    run("powersoftau", "new", "bn128", String(power), `pot${power}_0.ptau`);
    run("powersoftau", "contribute", `pot${power}_0.ptau`, `pot${power}_1.ptau`, "--name=zkpay-bench", "-e=zkpay benchmark entropy");
    run("powersoftau", "prepare", "phase2", `pot${power}_1.ptau`, `pot${power}_final.ptau`);
  }
  const ptauMs = Date.now() - t1;
  const t2 = Date.now();
  run("groth16", "setup", "circuit.r1cs", `pot${power}_final.ptau`, "circuit.zkey");
  run("zkey", "export", "verificationkey", "circuit.zkey", "vk.json");
  const setupMs = Date.now() - t2;
  const vk = JSON.parse(fs.readFileSync(path.join(dir, "vk.json")));
  const zkey = path.join(dir, "circuit.zkey");
  const wtns = path.join(dir, "witness.wtns");
  let { proof, publicSignals } = await snarkjs.groth16.prove(zkey, wtns); // warm-up
  const times = [];
  let verified = await snarkjs.groth16.verify(vk, publicSignals, proof);
  for (let i = 0; i < samples; i++) {
    const s = process.hrtime.bigint();
    ({ proof, publicSignals } = await snarkjs.groth16.prove(zkey, wtns));
    times.push(Number(process.hrtime.bigint() - s) / 1e6);
    verified = verified && (await snarkjs.groth16.verify(vk, publicSignals, proof));
  }
  const expected = JSON.parse(fs.readFileSync(path.join(dir, "public.json")));
  console.log(JSON.stringify({
    snarkjs: version,
    node: process.version,
    witness_check_ms: checkMs,
    ptau_ms: ptauMs,
    setup_ms: setupMs,
    prove_median_ms: median(times),
    prove_samples_ms: times,
    verified,
    public_inputs_match: JSON.stringify(expected) === JSON.stringify(publicSignals),
  }));
  process.exit(0);
}
main().catch((e) => { console.error(e && e.stack || String(e)); process.exit(1); });
