// report.mjs -- the table of bench/run: every ratio of bench/README.md from the figures of
// one run, its goal, and whether it is met; then the figures themselves.
// Usage: node bench/report.mjs RESULTS_DIR CALLGRIND_COUNT [JSON_FILE]
import { readFileSync, writeFileSync, existsSync } from 'node:fs';

const [dir, countArg, jsonFile] = process.argv.slice(2);
const count = Number(countArg);

function lines(file) {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
}

// ---- the figures -----------------------------------------------------------------------

const runs = [...lines(`${dir}/workloads.jsonl`), ...lines(`${dir}/peers.jsonl`)];
// bench/run measures each figure several times, interleaved with its baselines: the best.
// groupCommit: how concurrent transactions share syncs (the journal's own leader and
// followers, or RocksDB's write groups: PROVOST_GROUP_COMMIT=rocksdb).
function run(name, { sync = 'none', threads = 1, allocator, groupCommit = 'journal' } = {}) {
  const r = runs.filter((x) => x.name === name && (x.sync === undefined || x.sync === sync) && x.threads === threads &&
                               (allocator === undefined || x.allocator === undefined || x.allocator === allocator) &&
                               (x.group_commit === undefined || x.group_commit === groupCommit))
    .reduce((best, x) => (!best || x.per_s > best.per_s ? x : best), undefined);
  if (!r) return undefined;
  if (r.failed) throw new Error(`${name} (sync ${sync}, ${threads} threads) had failures: see the run's output`);
  return r;
}
const jem = { allocator: 'jemalloc' };

const micro = {};
if (existsSync(`${dir}/micro.json`)) {
  for (const b of JSON.parse(readFileSync(`${dir}/micro.json`, 'utf8')).benchmarks) {
    if (b.error_occurred) throw new Error(`micro-benchmark ${b.name} failed: ${b.error_message}`);
    micro[b.name.replace(/\/real_time$/, '')] = b; // real_time in microseconds per iteration
  }
}

// callgrind_annotate --inclusive=yes: the inclusive count of a function, by exact name
function inclusive(text, fn) {
  let total = 0;
  for (const line of text.split('\n')) {
    const m = line.match(/^\s*([\d,]+)\s+\([^)]*\)\s+\S*?:([A-Za-z_][\w]*)(\s|$)/);
    if (m && m[2] === fn) total = Math.max(total, Number(m[1].replace(/,/g, '')));
  }
  return total;
}
const xsltEntries = ['xsltNewTransformContext', 'xsltApplyStylesheetUser', 'xsltFreeTransformContext',
                     'xsltSetCtxtSecurityPrefs', 'xsltSetTransformErrorFunc'];
function callgrind(name, steps) {
  const file = `${dir}/callgrind-${name}.txt`;
  if (!existsSync(file)) return undefined;
  const text = readFileSync(file, 'utf8');
  const total = inclusive(text, 'wl_measure');
  const provider = inclusive(text, 'test_process');
  const xslt = xsltEntries.reduce((s, f) => s + inclusive(text, f), 0);
  const engine = total - provider - xslt;
  return { total: total / count, provider: provider / count, xslt: xslt / count, engine: engine / count,
           perStep: engine / count / steps };
}

const figures = {};
function figure(name, value, unit) {
  if (value !== undefined && Number.isFinite(value)) figures[name] = { value: round(value), unit };
}
function round(v) {
  return Math.abs(v) >= 100 ? Math.round(v * 10) / 10 : Math.round(v * 1000) / 1000;
}

const seen = new Set();
for (const line of runs) {
  const key = [line.name, line.sync, line.threads, line.allocator, line.group_commit].join('|');
  if (seen.has(key)) continue;
  seen.add(key);
  const r = run(line.name, { sync: line.sync ?? 'none', threads: line.threads, allocator: line.allocator,
                             groupCommit: line.group_commit });
  const tag = [r.name, r.sync, r.threads > 1 ? `${r.threads}t` : null, r.allocator === 'glibc' ? 'glibc' : null,
               r.group_commit === 'rocksdb' ? 'rocksdb_groups' : null].filter(Boolean).join('_');
  if (r.syncs_per_request !== undefined) figure(`${tag}_syncs_per_request`, spr(r), 'syncs per request (median)');
  figure(`${tag}_per_s`, r.per_s, r.name.startsWith('bpmn') ? 'instances/s' : r.name === 'saxon_xslt1' ? 'transforms/s' : 'requests/s');
  figure(`${tag}_us`, r.us_per_request, 'us per request');
  if (r.steps > 1) figure(`${tag}_us_per_step`, r.us_per_step, 'us per step');
  if (r.p99_us !== undefined) figure(`${tag}_p99_us`, r.p99_us, 'us');
}
for (const [name, b] of Object.entries(micro)) {
  figure(`micro/${name}`, b.real_time, 'us per iteration');
  if (b.items_per_second) figure(`micro/${name}/item`, 1e6 / b.items_per_second, 'us per item');
}
const cg = { echo3: callgrind('echo3', 3), xslt1: callgrind('xslt1', 1) };
for (const [name, c] of Object.entries(cg)) {
  if (!c) continue;
  figure(`callgrind_${name}_instructions_per_request`, c.total, 'instructions');
  figure(`callgrind_${name}_provider_per_request`, c.provider, 'instructions');
  figure(`callgrind_${name}_libxslt_per_request`, c.xslt, 'instructions');
  figure(`callgrind_${name}_engine_per_step`, c.perStep, 'instructions');
}

// ---- the ratios --------------------------------------------------------------------------

const rows = []; // [name, figure text, baseline text, value, goal]
const ratios = {};
function ratio(name, what, base, value, op, goal, note = '') {
  if (value === undefined || !Number.isFinite(value)) {
    rows.push([name, what, base, NaN, `${op} ${goal}`, 'missing']);
    ratios[name] = { value: null, goal: `${op} ${goal}`, met: false };
    return;
  }
  const met = op === '>=' ? value >= goal : value <= goal;
  ratios[name] = { value: round(value), goal: `${op} ${goal}`, met };
  rows.push([name, what, base, value, `${op} ${goal}`, met ? 'met' : 'MISSED', note]);
}
const fmt = (v, u) => (v === undefined ? '?' : `${v >= 1000 ? Math.round(v).toLocaleString('en-US') : v.toPrecision(3)} ${u}`);
const per = (r) => r?.us_per_request;
const rate = (r) => r?.per_s;

const xslt1 = run('xslt1', jem), raw = run('raw_libxslt', jem), naive = run('naive', jem);
ratio('xslt1_vs_raw_libxslt', `xslt1 ${fmt(per(xslt1), 'us')}`, `raw_libxslt ${fmt(per(raw), 'us')}`,
      per(xslt1) / per(raw), '<=', 1.1);
ratio('naive_vs_compiled', `naive ${fmt(per(naive), 'us')}`, `xslt1 ${fmt(per(xslt1), 'us')}`,
      per(naive) / per(xslt1), '>=', 5);
const syncs = ['group', 'none', 'always'];
for (const sync of syncs) {
  for (const threads of [1, 2]) {
    const w = run('write3', { sync, threads }), rr = run('raw_rocksdb', { sync, threads });
    if (!w && !rr) continue;
    const name = `write3_vs_raw_rocksdb${sync === 'group' ? '' : `_${sync}`}${threads > 1 ? `_${threads}t` : ''}`;
    ratio(name, `write3 ${fmt(rate(w), '/s')}`, `raw_rocksdb ${fmt(rate(rr), '/s')} (${sync}, ${threads}t)`,
          rate(w) / rate(rr), '>=', 0.8);
  }
}
// the journal's syncs: only what must be durable before a call or a response, shared by
// the transactions waiting at the same moment
const w3g = run('write3', { sync: 'group' }), w3g16 = run('write3', { sync: 'group', threads: 16 });
// syncs per request: the median of every measurement (how many writers share a sync
// depends on the moment, and the best rate is not the typical sharing)
function spr(r) {
  if (!r) return undefined;
  const v = runs.filter((x) => x.name === r.name && x.sync === r.sync && x.threads === r.threads &&
                               x.group_commit === r.group_commit && x.syncs_per_request !== undefined)
    .map((x) => x.syncs_per_request).sort((a, b) => a - b);
  return v.length ? (v[(v.length - 1) >> 1] + v[v.length >> 1]) / 2 : undefined;
}
ratio('write3_syncs_per_request_1t', `write3 ${fmt(spr(w3g), 'syncs')}`, 'per request, group, 1 thread', spr(w3g),
      '<=', 4);
ratio('write3_syncs_per_request_16', `write3 ${fmt(spr(w3g16), 'syncs')}`, 'per request, group, 16 in flight',
      spr(w3g16), '<=', 0.5);
const raw1 = run('raw_rocksdb', { sync: 'group' });
ratio('write3_16_vs_raw_rocksdb_1t', `write3 16 in flight ${fmt(rate(w3g16), '/s')}`,
      `raw_rocksdb ${fmt(rate(raw1), '/s')} (group, 1t)`, rate(w3g16) / rate(raw1), '>=', 2);
const bpmn = run('bpmn_echo3');
const echo3 = run('echo3', jem);
ratio('echo3_vs_bpmn', `echo3 ${fmt(rate(echo3), '/s')}`, `bpmn-engine ${fmt(rate(bpmn), '/s')}`,
      rate(echo3) / rate(bpmn), '>=', 200);
const w3always = run('write3', { sync: 'always' });
ratio('write3_always_vs_bpmn', `write3 always ${fmt(rate(w3always), '/s')}`, `bpmn-engine ${fmt(rate(bpmn), '/s')}`,
      rate(w3always) / rate(bpmn), '>=', 30);
const saxon = run('saxon_xslt1');
ratio('xslt1_vs_saxonjs', `xslt1 ${fmt(rate(xslt1), '/s')}`, `saxon-js ${fmt(rate(saxon), '/s')}`,
      rate(xslt1) / rate(saxon), '>=', 5);
const glibc = run('xslt1', { allocator: 'glibc' });
ratio('jemalloc_vs_glibc', `xslt1 jemalloc ${fmt(rate(xslt1), '/s')}`, `glibc ${fmt(rate(glibc), '/s')}`,
      rate(xslt1) / rate(glibc), '>=', 1.2);
const c1000 = micro['compile/1000'], l1000 = micro['bundle_load/1000'];
ratio('bundle_load_vs_compile', `compile ${fmt(c1000?.real_time, 'us')}`, `load ${fmt(l1000?.real_time, 'us')}`,
      c1000?.real_time / l1000?.real_time, '>=', 50);
const echo3x2 = run('echo3', { threads: 2, allocator: 'jemalloc' });
ratio('echo3_2t_vs_1t', `2 threads ${fmt(rate(echo3x2), '/s')}`, `1 thread ${fmt(rate(echo3), '/s')}`,
      rate(echo3x2) / rate(echo3), '>=', 1.7);
const f10k = run('foreach10k', jem), f100 = run('foreach100', jem), f10 = run('foreach10', jem);
ratio('foreach10k_vs_foreach100', `foreach10k ${fmt(f10k?.us_per_step, 'us/step')}`,
      `foreach100 ${fmt(f100?.us_per_step, 'us/step')}`, f10k?.us_per_step / f100?.us_per_step, '<=', 1.2);
ratio('echo3_engine_instructions_per_step', `${fmt(cg.echo3?.perStep, 'instr/step')}`, 'callgrind', cg.echo3?.perStep,
      '<=', 4000);

// informative, no goal
const info = [];
function inform(name, what, base, value) {
  if (value !== undefined && Number.isFinite(value)) {
    info.push([name, what, base, value]);
    figure(name, value, 'ratio');
  }
}
inform('foreach10_vs_foreach100', `foreach10 ${fmt(f10?.us_per_step, 'us/step')}`,
       `foreach100 ${fmt(f100?.us_per_step, 'us/step')}`, f10?.us_per_step / f100?.us_per_step);
// the cost of one more step, apart from what a request costs once (parse, BEGIN, END, response)
const marginal = (a, b, na, nb) => (a && b ? (per(b) - per(a)) / (nb - na) : undefined);
const m10 = marginal(f10, f100, 10, 100), m10k = marginal(f100, f10k, 100, 10000);
figure('foreach_marginal_10_to_100_us_per_step', m10, 'us per added step');
figure('foreach_marginal_100_to_10k_us_per_step', m10k, 'us per added step');
inform('foreach_marginal_100_10k_vs_10_100', `100->10k ${fmt(m10k, 'us/step')}`, `10->100 ${fmt(m10, 'us/step')}`,
       m10k / m10);
const f1k = run('foreach1k', jem);
inform('foreach1k_vs_foreach100', `foreach1k ${fmt(f1k?.us_per_step, 'us/step')}`,
       `foreach100 ${fmt(f100?.us_per_step, 'us/step')}`, f1k?.us_per_step / f100?.us_per_step);
for (const sync of syncs) {
  const w = run('write3', { sync }), rj = run('raw_rocksdb_journal', { sync });
  inform(`write3_vs_raw_rocksdb_journal${sync === 'group' ? '' : `_${sync}`}`, `write3 ${fmt(rate(w), '/s')}`,
         `same writes ${fmt(rate(rj), '/s')} (${sync})`, rate(w) / rate(rj));
}
for (const threads of [1, 16]) {
  const ours = run('write3', { sync: 'group', threads }), theirs = run('write3', { sync: 'group', threads, groupCommit: 'rocksdb' });
  inform(`write3_group_journal_vs_rocksdb_groups${threads > 1 ? `_${threads}` : ''}`,
         `journal's groups ${fmt(rate(ours), '/s')}`, `RocksDB's write groups ${fmt(rate(theirs), '/s')} (${threads}t)`,
         rate(ours) / rate(theirs));
}
const xreq = run('xslt1_request', jem);
inform('naive_vs_cached_request', `naive ${fmt(per(naive), 'us')}`, `xslt1_request ${fmt(per(xreq), 'us')}`,
       per(naive) / per(xreq));
const bpmn100 = run('bpmn_foreach100');
inform('foreach100_vs_bpmn_multi_instance', `foreach100 ${fmt(rate(f100), '/s')}`,
       `bpmn-engine ${fmt(rate(bpmn100), '/s')}`, rate(f100) / rate(bpmn100));

// ---- print ---------------------------------------------------------------------------------

const pad = (s, n) => String(s).padEnd(n);
const head = ['RATIO', 'FIGURE', 'BASELINE', 'RATIO', 'GOAL', ''];
const widths = [36, 34, 44, 9, 9, 6];
console.log(head.map((h, i) => pad(h, widths[i])).join(' ').trimEnd());
for (const r of rows)
  console.log([r[0], r[1], r[2], Number.isFinite(r[3]) ? r[3].toPrecision(3) : '?', r[4], r[5]]
    .map((c, i) => pad(c, widths[i])).join(' ').trimEnd());
console.log('');
for (const r of info) console.log([r[0], r[1], r[2], r[3].toPrecision(3), '-'].map((c, i) => pad(c, widths[i])).join(' ').trimEnd());
if (cg.echo3 || cg.xslt1) {
  console.log('');
  console.log('callgrind, instructions per request: total / provider (test_process) / libxslt / engine per step');
  for (const [name, c] of Object.entries(cg))
    if (c) console.log(`  ${pad(name, 6)} ${Math.round(c.total).toLocaleString('en-US')} / ${Math.round(c.provider).toLocaleString('en-US')} / ` +
                       `${Math.round(c.xslt).toLocaleString('en-US')} / ${Math.round(c.perStep).toLocaleString('en-US')}`);
}
const missed = Object.values(ratios).filter((r) => !r.met).length;
console.log(`\n${Object.keys(ratios).length - missed} goals met, ${missed} missed (bench/README.md says what bounds each)`);
if (jsonFile) writeFileSync(jsonFile, JSON.stringify({ ratios, figures }, null, 2) + '\n');
