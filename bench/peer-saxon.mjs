// peer-saxon.mjs -- SaxonJS (npm saxon-js) applying bench/w1.xsl to W1's data, the work of
// the raw_libxslt baseline: parse the data text, apply the stylesheet (exported ahead of
// time to SEF by xslt3, loaded once), serialise the result.  One JSON line.
// Usage: node bench/peer-saxon.mjs SECONDS SEF_FILE DATA_FILE
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';

const require = createRequire(new URL('./peers/package.json', import.meta.url));
const SaxonJS = require('saxon-js');

const [seconds, sefFile, dataFile] = [Number(process.argv[2] || 2), process.argv[3], process.argv[4]];
const stylesheetInternal = JSON.parse(readFileSync(sefFile, 'utf8'));
const data = readFileSync(dataFile, 'utf8').trim();

function transform() {
  const out = SaxonJS.transform({ stylesheetInternal, sourceText: data, destination: 'serialized' }, 'sync');
  if (!out.principalResult || !out.principalResult.includes('primaryOrg')) throw new Error('unexpected result');
  return out.principalResult;
}

const warmUntil = performance.now() + 1500; // its JIT needs about a second whatever the run
while (performance.now() < warmUntil) transform();
let n = 0;
const t0 = performance.now();
const until = t0 + seconds * 1000;
let t = t0;
while (t < until) {
  transform();
  n++;
  if ((n & 15) === 0) t = performance.now();
}
t = performance.now();
const el = (t - t0) / 1000;
const line = { name: 'saxon_xslt1', threads: 1, requests: n, seconds: el, per_s: n / el, us_per_request: (el * 1e6) / n,
               steps: 1, us_per_step: (el * 1e6) / n };
console.log(JSON.stringify(line));
console.error(`  ${'saxon_xslt1'.padEnd(20)}  1 thread  node      ${line.per_s.toFixed(1).padStart(10)} /s  ${line.us_per_request.toFixed(2).padStart(9)} us/transform`);
