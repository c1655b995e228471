#!/usr/bin/env node
// Baseline for the QR benchmark: times QRCode.toDataURL(url) from the `qrcode` npm package
// for the same 107-character URL that benches/hot_paths.rs encodes in Rust (level M, 4-module
// quiet zone, 4 px per module: qrcode's defaults, passed explicitly here).
//
//   node scripts/bench/qr-node.js [--url URL] [--iterations N] [--warmup N]
//
// Prints one JSON object on stdout: mean ms per data URL and data URLs per second.
'use strict';

const QRCode = require('qrcode');

const DEFAULT_URL =
  'https://staffgate.kichijoji.example-hospital.jp/staff/welcome#t=OpPh3-1BbF3NQrkZuJ_Ecb1EGjS9b2ScwlUy5CLmYWw';

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

async function main() {
  const url = arg('url', DEFAULT_URL);
  const iterations = Number.parseInt(arg('iterations', '500'), 10);
  const warmup = Number.parseInt(arg('warmup', '100'), 10);
  if (!(iterations > 0) || !(warmup >= 0)) {
    throw new Error('--iterations must be > 0 and --warmup >= 0');
  }
  const opts = { errorCorrectionLevel: 'M', margin: 4, scale: 4 };

  let sample = '';
  for (let i = 0; i < warmup; i++) {
    sample = await QRCode.toDataURL(url, opts);
  }
  if (!sample.startsWith('data:image/png;base64,') && warmup > 0) {
    throw new Error(`unexpected output: ${sample.slice(0, 40)}`);
  }

  const times = new Float64Array(iterations);
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) {
    const t0 = process.hrtime.bigint();
    sample = await QRCode.toDataURL(url, opts);
    times[i] = Number(process.hrtime.bigint() - t0) / 1e6;
  }
  const totalMs = Number(process.hrtime.bigint() - start) / 1e6;
  const sorted = Array.from(times).sort((a, b) => a - b);
  const pct = (p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
  const meanMs = totalMs / iterations;
  const version = require('qrcode/package.json').version;
  const qrVersion = QRCode.create(url, { errorCorrectionLevel: 'M' }).version;

  process.stdout.write(
    JSON.stringify({
      bench: 'node_qrcode_toDataURL',
      node: process.version,
      qrcode: version,
      urlLength: url.length,
      qrVersion,
      warmup,
      iterations,
      meanMs: Number(meanMs.toFixed(4)),
      p50Ms: Number(pct(50).toFixed(4)),
      p99Ms: Number(pct(99).toFixed(4)),
      opsPerSec: Number((1000 / meanMs).toFixed(1)),
      dataUrlLength: sample.length,
    }) + '\n',
  );
}

main().catch((err) => {
  console.error(`qr-node: ${err && err.stack ? err.stack : err}`);
  process.exit(1);
});
