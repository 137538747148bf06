// peer-bpmn.mjs -- bpmn-engine (npm) running the BPMN equivalents of the Provost workloads,
// definitions parsed once: each instance is a new Engine on the serialised definitions,
// run to its end.  Prints one JSON line per process.
//   echo3      three service tasks in sequence (what Bench/Echo3 and Bench/Write3 do)
//   foreach100 one service task, sequential multi-instance over 100 items
// Usage: node bench/peer-bpmn.mjs SECONDS   (packages from bench/peers, see bench/run)
import { createRequire } from 'node:module';

const require = createRequire(new URL('./peers/package.json', import.meta.url));
const { Engine } = require('bpmn-engine');
const BpmnModdle = require('bpmn-moddle');
const { default: serializer, TypeResolver } = require('moddle-context-serializer');
const elements = require('bpmn-elements');

const seconds = Number(process.argv[2] || 2);

const header = `<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="http://www.omg.org/spec/BPMN/20100524/MODEL" id="bench" targetNamespace="http://provost/bench">`;

const echo3 = `${header}
  <process id="echo3" isExecutable="true">
    <startEvent id="start"/>
    <sequenceFlow id="f0" sourceRef="start" targetRef="t1"/>
    <serviceTask id="t1" implementation="\${environment.services.echo}"/>
    <sequenceFlow id="f1" sourceRef="t1" targetRef="t2"/>
    <serviceTask id="t2" implementation="\${environment.services.echo}"/>
    <sequenceFlow id="f2" sourceRef="t2" targetRef="t3"/>
    <serviceTask id="t3" implementation="\${environment.services.echo}"/>
    <sequenceFlow id="f3" sourceRef="t3" targetRef="end"/>
    <endEvent id="end"/>
  </process>
</definitions>`;

const foreach100 = `${header}
  <process id="foreach100" isExecutable="true">
    <startEvent id="start"/>
    <sequenceFlow id="f0" sourceRef="start" targetRef="each"/>
    <serviceTask id="each" implementation="\${environment.services.store}">
      <multiInstanceLoopCharacteristics isSequential="true">
        <loopCardinality>100</loopCardinality>
      </multiInstanceLoopCharacteristics>
    </serviceTask>
    <sequenceFlow id="f1" sourceRef="each" targetRef="end"/>
    <endEvent id="end"/>
  </process>
</definitions>`;

const items = Array.from({ length: 100 }, (_, i) => ({ id: i, value: `value ${i}` }));

const services = {
  // what the test provider's Echo does: hand the input back
  echo(context, next) {
    next(null, context.content.input ?? null);
  },
  // one item of the loop, copied, as Bench/ForEach's before copies it
  store(context, next) {
    const item = items[context.content.index];
    next(null, { ...item });
  },
};

async function parsed(source) {
  const moddle = new BpmnModdle();
  const context = await moddle.fromXML(source);
  return serializer(context, TypeResolver(elements));
}

function instance(sourceContext) {
  return new Promise((resolve, reject) => {
    const engine = new Engine({ sourceContext, services });
    engine.once('end', resolve);
    engine.once('error', reject);
    engine.execute().catch(reject);
  });
}

async function measure(name, source, steps) {
  const sourceContext = await parsed(source);
  const warmUntil = performance.now() + 500;
  while (performance.now() < warmUntil) await instance(sourceContext);
  let n = 0;
  const t0 = performance.now();
  const until = t0 + seconds * 1000;
  let t = t0;
  while (t < until) {
    await instance(sourceContext);
    n++;
    t = performance.now();
  }
  const el = (t - t0) / 1000;
  const line = { name, threads: 1, requests: n, seconds: el, per_s: n / el, us_per_request: (el * 1e6) / n,
                 steps, us_per_step: (el * 1e6) / n / steps };
  console.log(JSON.stringify(line));
  console.error(`  ${name.padEnd(20)}  1 thread  node      ${line.per_s.toFixed(1).padStart(10)} /s  ${line.us_per_request.toFixed(2).padStart(9)} us/instance`);
}

await measure('bpmn_echo3', echo3, 3);
await measure('bpmn_foreach100', foreach100, 100);
