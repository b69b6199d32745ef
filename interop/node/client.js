// The interop matrix's cases (interop/CASES.md) from grpc-js
// (@grpc/grpc-js and @grpc/proto-loader from npm, package-lock.json).
//
// Usage: node client.js CASE HOST:PORT   (YES_TLS_CA=ca.pem for the tls case)
//        node client.js cases            (lists the cases it knows)
//        node client.js load HOST:PORT BYTES SECONDS   (the benchmark's load: one
//        YesWithFc stream of BYTES-byte replies read as fast as it comes; after
//        a second's warm-up prints msgs=N bytes=B seconds=S total=T)
// YES_PROTO_DIRS: where yes.proto, grpc/health/v1/health.proto and
// grpc/reflection/v1alpha/reflection.proto are found (':'-separated).
'use strict';

const fs = require('fs');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const dirs = (process.env.YES_PROTO_DIRS || '').split(':').filter(Boolean);
const loadProto = (file) =>
  grpc.loadPackageDefinition(protoLoader.loadSync(file, { includeDirs: dirs, enums: String, keepCase: true }));
const yesProto = loadProto('yes.proto').yes;
const healthProto = loadProto('grpc/health/v1/health.proto').grpc.health.v1;
const reflectionProto = loadProto('grpc/reflection/v1alpha/reflection.proto').grpc.reflection.v1alpha;

class Fail extends Error {}

function check(ok, what) {
  if (!ok) throw new Fail(what);
}

// Resolves with the next `n` replies' messages; rejects on error or end.
function read(call, n) {
  return new Promise((resolve, reject) => {
    const replies = [];
    const onData = (reply) => {
      replies.push(reply.message);
      if (replies.length === n) {
        done();
        call.pause();
        resolve(replies);
      }
    };
    const onError = (e) => { done(); reject(e); };
    const onEnd = () => { done(); reject(new Fail(`the stream ended after ${replies.length} of ${n} replies`)); };
    const done = () => {
      call.off('data', onData);
      call.off('error', onError);
      call.off('end', onEnd);
    };
    call.on('data', onData);
    call.on('error', onError);
    call.on('end', onEnd);
    call.resume();
  });
}

// Reads until the call fails with `code`; resolves with [replies read, error].
function expectCode(call, code) {
  return new Promise((resolve, reject) => {
    let count = 0;
    call.on('data', () => { count += 1; });
    call.on('error', (e) => {
      if (e.code === code) resolve([count, e]);
      else reject(new Fail(`${grpc.status[e.code]} (${e.details}) instead of ${grpc.status[code]}`));
    });
    call.on('end', () => reject(new Fail(`the stream ended without a status after ${count} replies`)));
    call.resume();
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const same = (replies, text) => replies.every((r) => r === text);

const cases = {
  async 'default-reply'(client) {
    const replies = await read(client.YesWithFc({}), 3);
    check(same(replies, 'yes'), `replies ${replies}`);
    return "3 replies of 'yes'";
  },
  async echo(client) {
    for (const text of ['hello interop', 'はい — да — 👍', 'a'.repeat(1 << 20)]) {
      const call = client.YesWithFc({ message: text });
      check(same(await read(call, 2), text), `${text.length}-character message not echoed`);
      call.on('error', () => {});
      call.cancel();
    }
    return 'custom, UTF-8 and 1 MiB messages echoed intact';
  },
  async 'cancel-then-new-call'(client) {
    const first = client.YesWithFc({ message: 'first' });
    await read(first, 10);
    const cancelled = expectCode(first, grpc.status.CANCELLED);
    first.cancel();
    await cancelled;
    check(same(await read(client.YesWithFc({ message: 'again' }), 3), 'again'), 'the new call');
    return '10 replies, cancelled, then a new call on the same channel';
  },
  async deadline(client) {
    const started = Date.now();
    const call = client.YesWithFc({}, { deadline: Date.now() + 300 });
    const [count] = await expectCode(call, grpc.status.DEADLINE_EXCEEDED);
    const took = Date.now() - started;
    check(count > 0 && took >= 250 && took <= 5000, `${count} replies in ${took} ms`);
    return `DEADLINE_EXCEEDED after ${took} ms and ${count} replies`;
  },
  async unimplemented(client) {
    const call = client.makeServerStreamRequest('/yes.SayYes/NoSuchMethod',
      (x) => x, (x) => x, Buffer.alloc(0));
    await expectCode(call, grpc.status.UNIMPLEMENTED);
    return 'UNIMPLEMENTED';
  },
  async 'slow-reader'(client) {
    const call = client.YesWithFc({ message: 'slow' });
    let count = 0;
    for (const until = Date.now() + 3000; Date.now() < until; count += 1) {
      const [reply] = await read(call, 1);
      check(reply === 'slow', `reply ${count} is ${reply}`);
      await sleep(10);
    }
    call.on('error', () => {});
    call.cancel();
    return `${count} replies read at 100 a second, all right`;
  },
  async concurrent(client) {
    const results = await Promise.all([...Array(20).keys()].map(async (i) => {
      const call = client.YesWithFc({ message: `c${i}` });
      const replies = await read(call, 100);
      call.on('error', () => {});
      call.cancel();
      return same(replies, `c${i}`);
    }));
    check(results.every(Boolean), `${results.filter((r) => !r).length} streams got wrong replies`);
    return '20 streams on one channel, 100 replies each';
  },
  async gzip(client, target, credentials) {
    const gz = new yesProto.SayYes(target, credentials, {
      'grpc.default_compression_algorithm': 2, // gzip
      'grpc.max_receive_message_length': 8 << 20,
    });
    const replies = await read(gz.YesWithFc({ message: 'gzip' }), 3);
    check(same(replies, 'gzip'), `replies ${replies}`);
    gz.close();
    return 'gzip request, 3 replies';
  },
  async 'naive-echo'(client) {
    const call = client.Yes({ message: 'naive' });
    check(same(await read(call, 3), 'naive'), 'replies');
    call.on('error', () => {});
    call.cancel();
    return 'Yes echoed 3 replies';
  },
  async health(client, target, credentials) {
    const health = new healthProto.Health(target, credentials);
    for (const service of ['', 'yes.SayYes']) {
      const reply = await new Promise((resolve, reject) =>
        health.Check({ service }, (e, r) => (e ? reject(e) : resolve(r))));
      check(reply.status === 'SERVING', `Check('${service}') = ${reply.status}`);
    }
    const watch = health.Watch({ service: 'yes.SayYes' });
    const seen = [];
    await new Promise((resolve, reject) => {
      watch.on('data', (update) => {
        seen.push(update.status);
        if (seen.length === 1) {
          if (update.status !== 'SERVING') reject(new Fail(`Watch began with ${seen}`));
          console.log('streaming');
        } else if (update.status === 'NOT_SERVING') {
          resolve();
        }
      });
      watch.on('error', (e) => reject(new Fail(`Watch ended after ${seen}: ${e.message}`)));
      watch.on('end', () => reject(new Fail(`Watch ended after ${seen}`)));
    });
    watch.on('error', () => {});
    watch.cancel();
    return 'Check SERVING twice; Watch SERVING, then NOT_SERVING on shutdown';
  },
  async reflection(client, target, credentials) {
    const reflect = new reflectionProto.ServerReflection(target, credentials);
    const call = reflect.ServerReflectionInfo();
    const response = await new Promise((resolve, reject) => {
      call.on('data', resolve);
      call.on('error', reject);
      call.write({ list_services: '' });
    });
    call.on('error', () => {});
    call.cancel();
    const names = response.list_services_response.service.map((s) => s.name);
    check(names.includes('yes.SayYes') && names.includes('grpc.health.v1.Health'), `listed ${names}`);
    return `listed ${names.sort().join(', ')}`;
  },
  async tls(client) {
    check(same(await read(client.YesWithFc({}), 3), 'yes'), 'replies');
    return "3 replies of 'yes' over TLS";
  },
  async sigterm(client) {
    const call = client.YesWithFc({ message: 'until shutdown' });
    await read(call, 10);
    console.log('streaming');
    const [count, e] = await expectCode(call, grpc.status.UNAVAILABLE);
    return `UNAVAILABLE (${e.details}) after ${count} more replies`;
  },
};

async function load(target, size, seconds) {
  const client = new yesProto.SayYes(target, grpc.credentials.createInsecure(),
    { 'grpc.max_receive_message_length': 8 << 20 });
  let msgs = 0;
  let bytes = 0;
  const call = client.YesWithFc({ message: 'y'.repeat(size) });
  call.on('data', (reply) => { msgs += 1; bytes += reply.message.length; });
  call.on('error', () => {});
  await sleep(1000);
  const [m0, b0, started] = [msgs, bytes, process.hrtime.bigint()];
  await sleep(seconds * 1000);
  const elapsed = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(`msgs=${msgs - m0} bytes=${bytes - b0} seconds=${elapsed.toFixed(3)} total=${msgs}`);
  return 0;
}

async function main() {
  const [name, target] = process.argv.slice(2);
  if (name === 'cases' && target === undefined) {
    console.log(Object.keys(cases).join('\n'));
    return 0;
  }
  if (name === 'load') {
    return load(target, Number(process.argv[4]), Number(process.argv[5]));
  }
  if (!(name in cases)) {
    console.log(`N/A ${name}: no such case in this client`);
    return 0;
  }
  let credentials = grpc.credentials.createInsecure();
  const options = { 'grpc.max_receive_message_length': 8 << 20 };
  if (name === 'tls') {
    credentials = grpc.credentials.createSsl(fs.readFileSync(process.env.YES_TLS_CA));
    options['grpc.ssl_target_name_override'] = 'localhost';
  }
  const client = new yesProto.SayYes(target, credentials, options);
  const timer = setTimeout(() => {
    console.log(`FAIL ${name}: no verdict within 30 s`);
    process.exit(1);
  }, 30000);
  try {
    const detail = await cases[name](client, target, credentials);
    console.log(`PASS ${name}: ${detail}`);
    return 0;
  } catch (e) {
    console.log(`FAIL ${name}: ${e.message}`);
    return 1;
  } finally {
    clearTimeout(timer);
    client.close();
  }
}

main().then((code) => process.exit(code));
