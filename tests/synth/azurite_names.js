#!/usr/bin/env node
// The data-plane names of every golden Azure app template are names Azure Storage accepts:
// starts Azurite (Queue, Blob and Table storage), then, template by template, creates each
// queue, blob container and table the template declares, with the names it gives them, through
// the Azure SDKs, writes one message, blob or entity to each, and deletes them again.
//
//   node azurite_names.js GOLDEN_DIR
// Exit status: 0 when every name was created and used, 1 otherwise, 2 when Azurite or the SDKs
// are missing (run scripts/setup) or Azurite does not start.
'use strict';
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');
const { spawn } = require('child_process');

let QueueServiceClient;
let BlobServiceClient;
let TableClient;
let TableServiceClient;
try {
  const here = { paths: [__dirname] };
  ({ QueueServiceClient } = require(require.resolve('@azure/storage-queue', here)));
  ({ BlobServiceClient } = require(require.resolve('@azure/storage-blob', here)));
  ({ TableClient, TableServiceClient } = require(require.resolve('@azure/data-tables', here)));
  require.resolve('azurite/package.json', here);
} catch (e) {
  console.error(`azurite_names: Azurite or the Azure SDKs are not installed in ${__dirname} (run scripts/setup): ${e.message}`);
  process.exit(2);
}

// Azurite's well-known development account (documented by Azure; not a secret).
const ACCOUNT = 'devstoreaccount1';
const KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

function templatesUnder(dir) {
  const out = [];
  (function walk(d) {
    for (const name of fs.readdirSync(d).sort()) {
      const p = path.join(d, name);
      if (fs.statSync(p).isDirectory()) walk(p);
      else if (name === 'app.json' && path.relative(dir, p).split(path.sep).includes('azure')) out.push(p);
    }
  })(dir);
  return out;
}

/** The last quoted literal of "[format('{0}/default/{1}', variables('x'), 'name')]". */
function lastLiteral(expression) {
  const m = /'((?:[^']|'')*)'\)\]$/.exec(expression);
  return m ? m[1].replace(/''/g, "'") : expression;
}

function namesOf(template) {
  const names = { queues: [], containers: [], tables: [] };
  for (const r of template.resources || []) {
    if (r.type === 'Microsoft.Storage/storageAccounts/queueServices/queues') names.queues.push(lastLiteral(r.name));
    if (r.type === 'Microsoft.Storage/storageAccounts/tableServices/tables') names.tables.push(lastLiteral(r.name));
    if (r.type === 'Microsoft.Storage/storageAccounts/blobServices') {
      for (const c of r.resources || []) if (c.type === 'containers') names.containers.push(c.name);
    }
  }
  return names;
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

function waitForPort(port, deadline) {
  return new Promise((resolve, reject) => {
    (function attempt() {
      const c = net.connect(port, '127.0.0.1');
      c.once('connect', () => { c.destroy(); resolve(); });
      c.once('error', () => {
        c.destroy();
        if (Date.now() > deadline) reject(new Error(`nothing listens on ${port}`));
        else setTimeout(attempt, 100);
      });
    })();
  });
}

async function startAzurite() {
  const [blob, queue, table] = [await freePort(), await freePort(), await freePort()];
  const location = fs.mkdtempSync(path.join(os.tmpdir(), 'exoflow-azurite-'));
  const bin = path.join(__dirname, 'node_modules', 'azurite', 'dist', 'src', 'azurite.js');
  const child = spawn(process.execPath, [bin, '--silent', '--disableTelemetry',
    '--skipApiVersionCheck', '--location', location, '--blobHost', '127.0.0.1', '--blobPort', String(blob),
    '--queueHost', '127.0.0.1', '--queuePort', String(queue), '--tableHost', '127.0.0.1', '--tablePort', String(table)],
  { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const deadline = Date.now() + 30000;
  try {
    for (const p of [blob, queue, table]) await waitForPort(p, deadline);
  } catch (e) {
    child.kill();
    throw new Error(`Azurite did not start: ${e.message}\n${stderr}`);
  }
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const stop = async () => {
    child.kill();
    await exited;
    fs.rmSync(location, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  };
  return { blob, queue, table, stop };
}

async function exercise(ports, names) {
  const cs = `DefaultEndpointsProtocol=http;AccountName=${ACCOUNT};AccountKey=${KEY};` +
    `BlobEndpoint=http://127.0.0.1:${ports.blob}/${ACCOUNT};QueueEndpoint=http://127.0.0.1:${ports.queue}/${ACCOUNT};` +
    `TableEndpoint=http://127.0.0.1:${ports.table}/${ACCOUNT};`;
  const queues = QueueServiceClient.fromConnectionString(cs);
  const blobs = BlobServiceClient.fromConnectionString(cs);
  const tables = TableServiceClient.fromConnectionString(cs, { allowInsecureConnection: true });
  const failures = [];
  const attempt = async (what, fn) => { try { await fn(); } catch (e) { failures.push(`${what}: ${e.message.split('\n')[0]}`); } };
  for (const name of names.queues) {
    await attempt(`queue ${name}`, async () => {
      const q = queues.getQueueClient(name);
      await q.create();
      await q.sendMessage('hello');
      await q.delete();
    });
  }
  for (const name of names.containers) {
    await attempt(`container ${name}`, async () => {
      const c = blobs.getContainerClient(name);
      await c.create();
      await c.getBlockBlobClient('probe').upload('hello', 5);
      await c.delete();
    });
  }
  for (const name of names.tables) {
    await attempt(`table ${name}`, async () => {
      await tables.createTable(name);
      const t = TableClient.fromConnectionString(cs, name, { allowInsecureConnection: true });
      await t.createEntity({ partitionKey: 'p', rowKey: 'r', value: 'hello' });
      await tables.deleteTable(name);
    });
  }
  return failures;
}

async function main() {
  const dir = process.argv[2];
  if (!dir) { console.error('usage: azurite_names.js GOLDEN_DIR'); process.exit(2); }
  const templates = templatesUnder(dir);
  if (!templates.length) { console.error(`no Azure app templates under ${dir}`); process.exit(1); }
  let ports;
  try { ports = await startAzurite(); } catch (e) { console.error(e.message); process.exit(2); }
  let ok = true;
  const total = { queues: 0, containers: 0, tables: 0 };
  try {
    for (const file of templates) {
      const names = namesOf(JSON.parse(fs.readFileSync(file, 'utf8')));
      const failures = await exercise(ports, names);
      for (const k of Object.keys(total)) total[k] += names[k].length;
      console.log(`${failures.length ? 'FAIL' : 'PASS'} ${path.relative(dir, file)}: ${names.queues.length} queues, ` +
        `${names.containers.length} containers, ${names.tables.length} tables`);
      for (const f of failures) console.log(`  ${f}`);
      if (failures.length) ok = false;
    }
  } finally {
    await ports.stop();
  }
  console.log(`azurite: ${total.queues} queues, ${total.containers} containers and ${total.tables} tables ` +
    `created and used with the templates' names${ok ? '' : ' (with failures above)'}`);
  process.exit(ok ? 0 : 1);
}

main();
