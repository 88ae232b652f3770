// node-postgres through dwproxy: named prepared statements reused, an error with its
// SQLSTATE, and many queries in flight on one connection (pipelined by the driver).
// Exits non-zero on the first mismatch. Usage: node node_pg_check.js PORT
const assert = require('assert');
const { Client } = require('pg');

(async () => {
  const c = new Client({ host: '127.0.0.1', port: Number(process.argv[2]), user: 'postgres',
                         password: 'postgres', database: 'app' });
  await c.connect();
  const q = { text: 'SELECT g FROM generate_series(1, $1::int) g', name: 'series' };
  assert.strictEqual((await c.query({ ...q, values: [5] })).rowCount, 5);
  assert.strictEqual((await c.query({ ...q, values: [3] })).rowCount, 3);
  await assert.rejects(c.query('SELECT 1/0'), (e) => e.code === '22012');
  const results = await Promise.all([...Array(20).keys()].map(async (i) => {
    const r = await c.query('SELECT $1::int * 2 AS v', [i]);
    return r.rows[0].v;
  }));
  assert.strictEqual(results.reduce((a, b) => a + b), 380);
  await c.end();
  console.log('node-pg: ok');
})().catch((e) => { console.error('node-pg: FAILED', e); process.exit(1); });
