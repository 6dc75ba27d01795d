// memjs (Node, binary protocol only; MemCachier-style SASL PLAIN) against HOST:PORT.
// Usage: node memjs_binary.js HOST PORT [USER PASS [--check-refusal]]
// memjs is looked up through NODE_PATH (tests/e2e/clients/install_memjs.sh
// installs it under build/npm). Prints one line per check; exits 1 at the first
// mismatch, 2 on bad usage or when memjs is missing.
// --check-refusal: stores a key as USER/PASS, then checks that a client with a
// wrong password and a client without credentials can neither write nor read.
'use strict';
let memjs;
try {
  memjs = require('memjs');
} catch (e) {
  console.error('memjs is missing: run sh tests/e2e/clients/install_memjs.sh');
  process.exit(2);
}
const crypto = require('crypto');

const args = process.argv.slice(2);
const ri = args.indexOf('--check-refusal');
const refusal = ri >= 0;
if (refusal) args.splice(ri, 1);
if (!(args.length === 2 || args.length === 4) || (refusal && args.length !== 4)) {
  console.error('usage: node memjs_binary.js HOST PORT [USER PASS [--check-refusal]]');
  process.exit(2);
}
const [host, port, user, pass] = args;
console.log('memjs ' + require('memjs/package.json').version);
setTimeout(() => { console.log('FAIL: no answer within 25 s'); process.exit(1); }, 25000).unref();

function check(what, got, want) {
  const same = Buffer.isBuffer(want) ? Buffer.isBuffer(got) && got.equals(want)
    : JSON.stringify(got) === JSON.stringify(want);
  if (!same) {
    const show = (v) => (Buffer.isBuffer(v) && v.length > 64 ? `<${v.length} bytes>` : JSON.stringify(v));
    console.log(`FAIL ${what}: got ${show(got)}, want ${show(want)}`);
    process.exit(1);
  }
  console.log('ok ' + what);
}

const quiet = { log: (...m) => console.error('  (memjs: ' + m.join(' ') + ')') };
function client(u, p) {
  const opts = { timeout: 5, conntimeout: 5, retries: 1, logger: quiet };
  if (u) Object.assign(opts, { username: u, password: p });
  return memjs.Client.create(`${host}:${port}`, opts);
}

// memjs 1.3 has no CAS API: send a GET and a SET carrying the CAS through its
// own transport (perform() matches the reply by opaque).
function raw(mc, key, opcode, extras, value, cas) {
  mc.incrSeq();
  const req = memjs.Utils.makeRequestBuffer(opcode, key, extras, value, mc.seq);
  if (cas) cas.copy(req, 16);
  return new Promise((resolve, reject) => {
    mc.perform(key, req, mc.seq, (err, resp) => (err ? reject(err) : resolve(resp)));
  });
}
const SET_EXTRAS = Buffer.alloc(8); // flags 0, exptime 0

async function refused(what, fn) {
  try {
    const r = await fn();
    return r === null || r === false || (r && r.value === null);
  } catch (e) {
    console.log(`  (${what}: ${e.message || e})`);
    return true;
  }
}

async function checkRefusal() {
  const mc = client(user, pass);
  check('authenticated set', await mc.set('js:secret', 'hidden', {}), true);
  for (const [what, u, p] of [['wrong password', user, pass + 'x'], ['no credentials', null, null]]) {
    // a client each: after a refusal memjs 1.3.2 may lose its next socket
    // (the old socket's 'close' handler clears the new one) and hang
    let bad = client(u, p);
    check(`${what}: set refused`, await refused(what, () => bad.set('js:secret', 'overwritten', {})), true);
    bad.close();
    bad = client(u, p);
    check(`${what}: get reads nothing`, await refused(what, () => bad.get('js:secret')), true);
    bad.close();
  }
  check('secret unchanged', (await mc.get('js:secret')).value, Buffer.from('hidden'));
  mc.close();
  console.log('MEMJS REFUSAL OK');
}

async function main() {
  const mc = client(user, pass);
  const s = (v) => Buffer.from(v);

  // set / get
  check('set', await mc.set('js:k1', 'v1', {}), true);
  check('get', (await mc.get('js:k1')).value, s('v1'));
  check('get flags', (await mc.get('js:k1')).flags, s('\0\0\0\0'));
  check('get missing', (await mc.get('js:nope')).value, null);

  // no multi-get in memjs 1.3: pipelined GETs on one connection, told apart by opaque
  await Promise.all([mc.set('js:m1', 'one', {}), mc.set('js:m2', 'two', {}), mc.set('js:m3', 'three', {})]);
  const many = await Promise.all(['js:m1', 'js:nope', 'js:m2', 'js:m3'].map((k) => mc.get(k)));
  check('pipelined gets', many.map((r) => r.value && r.value.toString()), ['one', null, 'two', 'three']);

  // add / replace / append / prepend
  check('add new', await mc.add('js:a', 'mid', {}), true);
  check('add existing', await mc.add('js:a', 'x', {}), false);
  check('replace', await mc.replace('js:a', 'mid', {}), true);
  check('replace missing', await mc.replace('js:nope', 'x', {}), false);
  check('append', await mc.append('js:a', '-tail'), true);
  // memjs 1.3.2's prepend() sends APPEND (0x0e): PREPEND (0x0f) goes raw
  check('prepend', (await raw(mc, 'js:a', 0x0f, '', 'head-')).header.status, 0);
  check('get appended', (await mc.get('js:a')).value, s('head-mid-tail'));

  // delete
  check('delete', await mc.delete('js:m2'), true);
  check('delete again', await mc.delete('js:m2'), false);
  check('get deleted', (await mc.get('js:m2')).value, null);

  // incr / decr: memjs always sends an initial value and exptime 0 (creates)
  await mc.set('js:n', '10', {});
  check('increment', await mc.increment('js:n', 5, {}), { success: true, value: 15 });
  check('decrement', await mc.decrement('js:n', 20, {}), { success: true, value: 0 });
  check('increment missing creates', await mc.increment('js:init', 1, { initial: 7 }), { success: true, value: 7 });
  check('increment created', await mc.increment('js:init', 1, {}), { success: true, value: 8 });
  check('get counter', (await mc.get('js:init')).value, s('8'));

  // cas (raw GET 0x00 then SET 0x01 with the CAS)
  const g = await raw(mc, 'js:k1', 0x00, '', '');
  check('raw get status', g.header.status, 0);
  check('raw get value', g.val, s('v1'));
  check('cas nonzero', g.header.cas.equals(Buffer.alloc(8)), false);
  const ok = await raw(mc, 'js:k1', 0x01, SET_EXTRAS, 'v2', g.header.cas);
  check('set with cas', ok.header.status, 0);
  check('set answers a new cas', ok.header.cas.equals(g.header.cas), false);
  const stale = await raw(mc, 'js:k1', 0x01, SET_EXTRAS, 'v3', g.header.cas);
  check('set with stale cas: exists', stale.header.status, 2);
  const nf = await raw(mc, 'js:nope', 0x01, SET_EXTRAS, 'v3', g.header.cas);
  check('set with cas, missing key: not found', nf.header.status, 1);
  check('after cas', (await mc.get('js:k1')).value, s('v2'));

  // touch (0x1c)
  check('touch', await mc.touch('js:k1', 100), true);
  check('touch missing', await mc.touch('js:nope', 100), false);
  check('after touch', (await mc.get('js:k1')).value, s('v2'));

  // 500 KB value
  const big = crypto.randomBytes(500 * 1024);
  check('set 500KB', await mc.set('js:big', big, {}), true);
  check('get 500KB', (await mc.get('js:big')).value, big);

  // stats (0x10: one reply per stat, an empty key ends them)
  const stats = await new Promise((resolve, reject) => {
    mc.stats((err, server, st) => (err ? reject(err) : resolve(st)));
  });
  check('stats', 'curr_items' in stats && 'pid' in stats, true);

  // flush (0x08)
  const fl = await mc.flush();
  check('flush', Object.values(fl), [true]);
  check('get after flush', (await mc.get('js:k1')).value, null);
  mc.close();
  console.log('MEMJS OK');
}

(refusal ? checkRefusal() : main()).then(() => process.exit(0), (e) => {
  console.log('FAIL: ' + (e && e.stack ? e.stack : e));
  process.exit(1);
});
