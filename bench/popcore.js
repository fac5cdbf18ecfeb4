// The official Node.js SDK peer for `make bench`: @alicloud/pop-core (installed by bench/run
// with npm into a temporary folder, found through NODE_PATH) calling DescribeRegions (RPC,
// signed HMAC-SHA1 per call, keep-alive agent) against the bench's nginx, with WINDOW requests
// in flight: WINDOW async loops take request numbers from one counter until N are done.
//
//   node bench/popcore.js PORT N WINDOW
//
// Prints one line: RESULT calls=.. ok=.. err=.. wall=.. cpu=.. hwm_kb=..
// cpu is process.cpuUsage() (user+system, every thread) over the load; hwm_kb is VmHWM.
// Bounded: stops after BENCH_MAX_SECONDS (default 120).
'use strict';

const fs = require('fs');
const RPCClient = require('@alicloud/pop-core');

const [port, n, windowSize] = process.argv.slice(2).map(Number);
if (!port || !n || !windowSize) {
  console.error('usage: node bench/popcore.js PORT N WINDOW');
  process.exit(2);
}
const maxSeconds = Number(process.env.BENCH_MAX_SECONDS || 120);
const RID = 'B5C1E0F2-3A4D-4E6F-8A9B-0C1D2E3F4A5B';

const client = new RPCClient({
  accessKeyId: 'ak',
  accessKeySecret: 'secret',
  endpoint: `http://127.0.0.1:${port}`,
  apiVersion: '2014-05-26',
});

function vmHwmKb() {
  const m = /VmHWM:\s*(\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) : -1;
}

let next = 0;
let ok = 0;
let failed = 0;
let firstErr = null;

async function loop(deadline) {
  while (next < n && Date.now() < deadline) {
    next++;
    try {
      const res = await client.request('DescribeRegions', { RegionId: 'cn-hangzhou' },
        { timeout: 10000 });
      if (res && res.RequestId === RID && res.Regions.Region.length > 0) ok++;
      else { failed++; firstErr = firstErr || 'unexpected body'; }
    } catch (e) {
      failed++;
      firstErr = firstErr || String(e && e.message || e);
    }
  }
}

async function main() {
  const t0 = process.hrtime.bigint();
  const c0 = process.cpuUsage();
  const deadline = Date.now() + maxSeconds * 1000;
  const loops = [];
  for (let i = 0; i < windowSize; i++) loops.push(loop(deadline));
  await Promise.all(loops);
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const cu = process.cpuUsage(c0);
  const cpu = (cu.user + cu.system) / 1e6;
  console.log(`RESULT calls=${n} ok=${ok} err=${n - ok} wall=${wall.toFixed(6)} ` +
    `cpu=${cpu.toFixed(6)} hwm_kb=${vmHwmKb()}`);
  if (firstErr) console.error(`popcore.js: first error: ${firstErr}`);
  client.keepAliveAgent.destroy();
  process.exit(ok === n ? 0 : 1);
}

main();
