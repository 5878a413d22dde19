#!/usr/bin/env node
/*
 * Summarizes a V8 .cpuprofile (node --cpu-prof) of one bench:synth sample:
 * where the measured work (buildLibrary / buildBaseline and App.synthYaml)
 * spends its time, by phase, and the hottest functions by self time.
 *
 *   node --expose-gc --cpu-prof --cpu-prof-dir=/tmp/prof -r ts-node/register/transpile-only \
 *     bench/synth.ts --child library paired 1000
 *   node bench/cpuprofile-summary.js /tmp/prof/*.cpuprofile
 *
 * Phases are matched from the innermost frame outwards, so "render the texts"
 * is not also counted as "resolve". Garbage collection is not on any stack in
 * V8 profiles; it is shown separately, for the whole process.
 */
'use strict';
const fs = require('fs');

const PHASES = [
  ['render the config texts (nginx.conf, init.sh, wg0.conf, connection-info.json)', /^(rendered|connectionInfo|renderConnectionInfo) .*wireguard-gateway/],
  ['config checksum', /^configChecksum /],
  ['policy spec (Lazy)', /^policySpec /],
  ['validation (node.validate of every construct)', /^validate .*app\.js/],
  ['cdk8s dependency graph (walks every construct)', /^(resolveDependencies|buildDependencies|DependencyGraph) /],
  ['YAML serialization', /^stringify .*yaml\.js/],
  ['resolve and toJson of the objects', /^(toJson chart\.js|_synthChart|get charts)/],
  ['construction (new WireguardGateway, addPeer, add routes; or the baseline ApiObjects)', /^(buildLibrary|buildBaseline) /],
];
const MEASURED = /^(buildLibrary|buildBaseline|synthYaml) /;

const p = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of p.nodes) for (const c of n.children || []) parent.set(c, n.id);
const key = (n) => `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.replace(/.*\/(node_modules\/)?/, '')}:${n.callFrame.lineNumber + 1}`;

const ticks = new Map();
for (let i = 0; i < p.samples.length; i++) ticks.set(p.samples[i], (ticks.get(p.samples[i]) || 0) + (p.timeDeltas[i] || 0));

let total = 0;
let measured = 0;
let gc = 0;
const phase = new Map();
const self = new Map();
for (const [id, t] of ticks) {
  total += t;
  const leaf = byId.get(id);
  if (leaf.callFrame.functionName === '(garbage collector)') gc += t;
  const stack = [];
  for (let x = id; x !== undefined; x = parent.get(x)) stack.push(key(byId.get(x)));
  if (!stack.some((k) => MEASURED.test(k))) continue;
  measured += t;
  let name = 'other';
  for (const k of stack) {
    const hit = PHASES.find(([, re]) => re.test(k));
    if (hit) { name = hit[0]; break; }
  }
  phase.set(name, (phase.get(name) || 0) + t);
  self.set(stack[0], (self.get(stack[0]) || 0) + t);
}

const ms = (us) => `${(us / 1000).toFixed(0).padStart(6)} ms`;
const pct = (us) => `${((100 * us) / measured).toFixed(1).padStart(5)}%`;
console.log(`profile: ${ms(total).trim()} sampled in all; measured work ${ms(measured).trim()}; garbage collection (whole process) ${ms(gc).trim()}`);
console.log('phases of the measured work:');
for (const [name, t] of [...phase.entries()].sort((a, b) => b[1] - a[1])) console.log(`  ${ms(t)} ${pct(t)}  ${name}`);
console.log('hottest functions of the measured work, by self time:');
for (const [k, t] of [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, Number(process.argv[3] || 15))) console.log(`  ${ms(t)} ${pct(t)}  ${k}`);
