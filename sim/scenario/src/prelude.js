// The scenario API as scripts see it (scenarios/README.md documents it). Everything that
// touches the bank goes through __host.call(op, json), which blocks; waiting loops poll.
(function (global) {
  'use strict';
  const H = __host;
  const scenarios = [];
  const background_jobs = [];
  let lastTrace = '';

  function fail(name, message, extra) {
    const e = new Error(message);
    e.name = name;
    if (extra) for (const k in extra) e[k] = extra[k];
    return e;
  }
  function canon(v) {
    if (Array.isArray(v)) return v.map(canon);
    if (v && typeof v === 'object') {
      const o = {};
      Object.keys(v).sort().forEach(function (k) { o[k] = canon(v[k]); });
      return o;
    }
    return v;
  }
  function show(v) {
    if (v === undefined) return 'undefined';
    if (typeof v === 'function') return String(v);
    if (typeof v === 'number' && !isFinite(v)) return String(v);
    return JSON.stringify(canon(v), null, 2);
  }
  function short(text, n) {
    n = n || 80;
    text = String(text).replace(/\s+/g, ' ').trim();
    return text.length > n ? text.slice(0, n - 3) + '...' : text;
  }
  function ms(d, what) {
    if (typeof d === 'number') return d;
    const v = H.durationMs(String(d));
    if (v < 0) throw fail('TypeError', (what || 'duration') + ": '" + d + "' is not a duration such as 250ms, 2s or 7d");
    return v;
  }
  function fmt(msv) { return msv >= 1000 ? (msv / 1000) + 's' : msv + 'ms'; }
  function call(op, args) {
    const r = JSON.parse(H.call(op, JSON.stringify(args === undefined ? {} : args)));
    if (!r.ok) throw fail(r.kind, op + ': ' + r.message, { code: r.code, trace: lastTrace });
    return r.value;
  }
  function runBackground() {
    const now = H.nowMs();
    for (const job of background_jobs) {
      let n = 0;
      while (!job.stopped && job.next <= now && n < 1000) {
        job.next += 1000 / job.rate;
        n++;
        try { job.fn(job.count); job.count++; } catch (e) { job.errors++; job.lastError = e; }
      }
    }
  }
  function timeoutError(step, limit, last) {
    const trace = lastTrace;
    let text = step + ' timed out after ' + fmt(limit);
    if (last !== undefined) text += ' (last value: ' + short(show(last)) + ')';
    text += trace ? '\nflow of trace ' + trace + ' (the last one this scenario started):\n' + H.diagram(trace)
                  : '\nno trace was started by this scenario yet, so there is no flow to show';
    return fail('TimeoutError', text, { trace: trace, step: step });
  }
  function poll(name, limit, probe) {
    H.stepBegin(name);
    const end = H.nowMs() + limit;
    let last;
    try {
      for (;;) {
        last = probe();
        if (last && last.done) { H.stepEnd(true); return last.value; }
        if (H.nowMs() >= end) break;
        runBackground();
        H.pause(5);
      }
    } catch (e) { H.stepEnd(false); throw e; }
    H.stepEnd(false);
    throw timeoutError(name, limit, last ? last.value : undefined);
  }
  // Loose match of an actual value against a pattern: functions are predicates, objects
  // match key by key, and scalars compare as text (int64 fields arrive as strings).
  function matches(actual, pattern) {
    if (typeof pattern === 'function') return !!pattern(actual);
    if (pattern && typeof pattern === 'object') {
      if (!actual || typeof actual !== 'object') return false;
      for (const k in pattern) if (!matches(actual[k], pattern[k])) return false;
      return true;
    }
    return actual !== undefined && actual !== null && String(actual) === String(pattern);
  }

  global.scenario = function (name, spec) {
    if (typeof name !== 'string' || name === '') throw fail('TypeError', 'scenario(name, spec): name must be a non-empty string');
    if (typeof spec === 'function') spec = { run: spec };
    if (!spec || typeof spec.run !== 'function') throw fail('TypeError', "scenario '" + name + "': give a function, or {setup, run, teardown} with run a function");
    for (const s of scenarios) if (s.name === name) throw fail('TypeError', "scenario '" + name + "' is declared twice");
    scenarios.push({ name: name, spec: spec, ctx: {} });
  };
  global.__scenarioNames = function () { return JSON.stringify(scenarios.map(function (s) { return s.name; })); };
  global.__scenarioTimeout = function (name) {
    const s = scenarios.find(function (x) { return x.name === name; });
    return s && s.spec.timeout !== undefined ? ms(s.spec.timeout, 'timeout') : -1;
  };
  global.__runPhase = function (name, phase) {
    const s = scenarios.find(function (x) { return x.name === name; });
    if (!s) return { ok: false, name: 'Error', message: "no scenario named '" + name + "'", stack: '' };
    const f = s.spec[phase];
    if (f === undefined) return { ok: true };
    if (typeof f !== 'function') return { ok: false, name: 'TypeError', message: phase + ' must be a function', stack: '' };
    try {
      f.call(s.ctx, s.ctx);
      return { ok: true };
    } catch (e) {
      const isErr = e instanceof Error;
      return { ok: false, name: isErr ? e.name : 'Error', message: isErr ? e.message : 'uncaught ' + show(e),
               stack: isErr && e.stack ? String(e.stack) : '', trace: (isErr && e.trace) || lastTrace };
    }
  };

  global.log = function () {
    const parts = [];
    for (let i = 0; i < arguments.length; i++) parts.push(typeof arguments[i] === 'string' ? arguments[i] : JSON.stringify(arguments[i]));
    H.log(parts.join(' '));
  };
  global.console = { log: global.log, info: global.log, warn: global.log, error: global.log };
  global.step = function (name, fn) {
    H.stepBegin(String(name));
    try { const r = fn(); H.stepEnd(true); return r; } catch (e) { H.stepEnd(false); throw e; }
  };
  global.pause = function (d) {
    const limit = ms(d, 'pause');
    const end = H.nowMs() + limit;
    H.stepBegin('pause ' + fmt(limit));
    while (H.nowMs() < end) { runBackground(); H.pause(Math.min(5, Math.max(0, end - H.nowMs()))); }
    H.stepEnd(true);
  };
  global.background = function (rate, fn) {
    if (!(rate > 0) || typeof fn !== 'function') throw fail('TypeError', 'background(ratePerSecond, fn): rate must be > 0 and fn a function');
    const job = { rate: rate, fn: fn, next: H.nowMs(), count: 0, errors: 0, lastError: null, stopped: false };
    job.stop = function () { job.stopped = true; return { count: job.count, errors: job.errors, lastError: job.lastError }; };
    background_jobs.push(job);
    return job;
  };
  // Simulated customers on their own threads (the `sandbank load` generator): unlike
  // background(), they keep going while the script makes blocking calls. Seeded from the
  // scenario's seed unless opts.seed is given; stopped before the invariant check.
  global.load = {
    start: function (opts) {
      opts = opts || {};
      const args = {
        customers: opts.customers === undefined ? 5 : opts.customers,
        rate: opts.rate === undefined ? 20 : opts.rate,
        duration_ms: opts.duration === undefined ? 0 : ms(opts.duration, 'load duration'),
        seed: opts.seed === undefined ? Math.floor(H.random() * 4294967296) : opts.seed,
      };
      if (opts.concurrency !== undefined) args.concurrency = opts.concurrency;
      if (opts.mix !== undefined) args.mix = opts.mix;
      const id = call('load.start', args).id;
      return {
        id: id,
        stats: function () { return call('load.stats', { id: id }); },
        wait: function (timeout) {
          const limit = ms(timeout === undefined ? '60s' : timeout, 'load wait timeout');
          return poll('load ' + id + ' finishes', limit, function () {
            const st = call('load.wait', { id: id, timeout_ms: 0 });
            return { done: st.ended, value: st };
          });
        },
        stop: function () { return call('load.stop', { id: id }); },
      };
    },
  };
  // Helpers shared by scenario files: include('lib/bank.js') evaluates it (once) in the
  // global scope, so its functions and vars are globals afterwards.
  global.include = function (path) {
    const answer = H.include(String(path));
    if (!answer) return;
    const e = JSON.parse(answer);
    throw fail(e.name, e.message);
  };
  global.random = function () { return H.random(); };
  global.randomInt = function (lo, hi) { return lo + Math.floor(H.random() * (hi - lo + 1)); };
  global.pick = function (list) { return list[Math.floor(H.random() * list.length)]; };
  Math.random = global.random;
  global.lastTrace = function () { return lastTrace; };
  global.int = function (v) {
    const n = Number(v);
    if (!Number.isFinite(n)) throw fail('TypeError', 'int(' + show(v) + ') is not a number');
    return n;
  };
  global.uuid = function () {
    const hex = '0123456789abcdef';
    let s = '';
    for (let i = 0; i < 32; i++) s += hex[Math.floor(H.random() * 16)];
    return s.slice(0, 8) + '-' + s.slice(8, 12) + '-4' + s.slice(13, 16) + '-a' + s.slice(17, 20) + '-' + s.slice(20);
  };

  global.waitFor = function (pred, timeout, label) {
    if (typeof pred !== 'function') throw fail('TypeError', 'waitFor(predicate, timeout): predicate must be a function');
    const limit = ms(timeout === undefined ? '5s' : timeout, 'waitFor timeout');
    return poll('waitFor ' + (label || short(String(pred), 60)), limit, function () {
      const v = pred();
      return { done: !!v, value: v };
    });
  };

  global.assert = {
    ok: function (v, msg) {
      if (!v) throw fail('AssertionError', (msg ? msg + ': ' : '') + 'assert.ok: expected a truthy value, got ' + show(v));
    },
    equal: function (actual, expected, msg) {
      if (actual === expected) return;
      const e = show(expected), a = show(actual);
      throw fail('AssertionError', (msg ? msg + ': ' : '') + 'assert.equal: expected ' + short(e) + ', got ' + short(a) + '\n' + H.diff(e, a),
                 { expected: e, actual: a });
    },
    notEqual: function (actual, unexpected, msg) {
      if (actual !== unexpected) return;
      throw fail('AssertionError', (msg ? msg + ': ' : '') + 'assert.notEqual: did not expect ' + short(show(actual)));
    },
    deepEqual: function (actual, expected, msg) {
      const e = show(expected), a = show(actual);
      if (e === a) return;
      throw fail('AssertionError', (msg ? msg + ': ' : '') + 'assert.deepEqual: values differ\n' + H.diff(e, a),
                 { expected: e, actual: a });
    },
    matches: function (actual, pattern, msg) {
      if (matches(actual, pattern)) return;
      throw fail('AssertionError', (msg ? msg + ': ' : '') + 'assert.matches: the value does not match the pattern\n' +
                 H.diff(show(pattern), show(actual)));
    },
    throws: function (fn, code, msg) {
      try { fn(); } catch (e) {
        if (code === undefined || e.code === code || (code instanceof RegExp && code.test(String(e.message)))) return e;
        throw fail('AssertionError', (msg ? msg + ': ' : '') + 'assert.throws: expected ' + String(code) + ', got ' + (e.code || e.name) + ': ' + e.message);
      }
      throw fail('AssertionError', (msg ? msg + ': ' : '') + 'assert.throws: expected an error' + (code ? ' ' + String(code) : '') + ', but the call succeeded');
    },
  };

  global.rpc = function (method, body, opts) {
    opts = opts || {};
    const r = call('rpc', { method: method, body: body || {}, timeout_ms: ms(opts.timeout || '5s', 'rpc timeout'),
                            as: opts.as || 'scenario', service: opts.service || '', metadata: opts.metadata || {},
                            trace: opts.trace || '' });
    lastTrace = r.trace;
    if (!r.ok && !opts.allowError) throw fail('RpcError', 'rpc ' + method + ' failed: ' + r.code + ': ' + r.message, { code: r.code, trace: r.trace });
    return opts.allowError ? r : r.body;
  };
  function httpRequest(method, path, body, opts) {
    opts = opts || {};
    const r = call('http', { method: method, path: path, body: body === undefined ? null : body, token: opts.token || '',
                             headers: opts.headers || {}, timeout_ms: ms(opts.timeout || '10s', 'http timeout'),
                             trace: opts.trace || '' });
    lastTrace = r.trace || lastTrace;
    try { r.json = r.body ? JSON.parse(r.body) : null; } catch (e) { r.json = null; }
    return r;
  }
  global.http = {
    get: function (path, opts) { return httpRequest('GET', path, undefined, opts); },
    post: function (path, body, opts) { return httpRequest('POST', path, body === undefined ? {} : body, opts); },
    request: httpRequest,
  };

  function decodeRecords(records) {
    for (const r of records) {
      if (r.json === undefined || r.json === null) {
        try { r.json = JSON.parse(r.value); } catch (e) { r.json = null; }
      }
    }
    return records;
  }
  global.bus = {
    produce: function (topic, value, opts) {
      opts = opts || {};
      const r = call('bus.produce', { topic: topic, value: typeof value === 'string' ? value : JSON.stringify(value),
                                      object: typeof value === 'string' ? null : value, type: opts.type || '',
                                      key: opts.key === undefined ? null : String(opts.key), headers: opts.headers || {},
                                      partition: opts.partition === undefined ? -1 : opts.partition });
      lastTrace = r.trace;
      return r;
    },
    browse: function (topic, opts) {
      opts = opts || {};
      return decodeRecords(call('bus.browse', { topic: topic, from: opts.from || 'scenario', type: opts.type || '',
                                                max: opts.max || 10000, positions: opts.positions || {} }));
    },
    waitFor: function (topic, pred, timeout, label) {
      const limit = ms(timeout === undefined ? '5s' : timeout, 'bus.waitFor timeout');
      const positions = {};
      const want = typeof pred === 'function' ? pred : function (r) { return matches(r.json, pred); };
      return poll('bus.waitFor ' + topic + (label ? ' ' + label : ''), limit, function () {
        const records = decodeRecords(call('bus.browse', { topic: topic, from: 'scenario', max: 10000, positions: positions }));
        for (const r of records) {
          positions[r.partition] = r.offset + 1;
          if (want(r)) return { done: true, value: r };
        }
        return { done: false };
      });
    },
    lag: function (group) { return call('bus.lag', { group: group }); },
    stallGroup: function (group, stalled) { return call('bus.stallGroup', { group: group, stalled: stalled === undefined ? true : !!stalled }); },
    duplicateDeliveries: function (group, count) { return call('bus.duplicateDeliveries', { group: group, count: count || 1 }); },
    delayDelivery: function (group, d) { return call('bus.delayDelivery', { group: group, delay_ms: ms(d, 'delay') }); },
    forceRebalance: function (group) { return call('bus.forceRebalance', { group: group }); },
    loseAcks: function (topic, count) { return call('bus.loseAcks', { topic: topic, count: count || 1 }); },
    createTopic: function (topic, opts) { return call('bus.createTopic', { topic: topic, partitions: (opts && opts.partitions) || 1 }); },
    topics: function () { return call('bus.topics', {}); },
    groups: function () { return call('bus.groups', {}); },
  };

  global.store = {
    cql: function (query, params, cl, opts) {
      return call('store.cql', { query: query, params: params || [], consistency: cl || 'LOCAL_QUORUM',
                                 keyspace: (opts && opts.keyspace) || '', client: (opts && opts.client) || '' });
    },
    replicas: function (keyspace, table, key) { return call('store.replicas', { keyspace: keyspace, table: table, key: Array.isArray(key) ? key : [key] }); },
    nodeDown: function (n) { return call('store.nodeDown', { node: n }); },
    nodeUp: function (n) { return call('store.nodeUp', { node: n }); },
    slow: function (n, d) { return call('store.slow', { node: n, delay_ms: ms(d === undefined ? 0 : d, 'slow') }); },
    isolate: function (n, on) { return call('store.isolate', { node: n, isolated: on === undefined ? true : !!on }); },
    addNode: function (opts) { return call('store.addNode', { stream: !!(opts && opts.stream), datacenter: (opts && opts.datacenter) || 'dc1' }); },
    repair: function (keyspace) { return call('store.repair', { keyspace: keyspace || '' }); },
    // nodetool rebuild: stream to each node (or `node`) the partitions it now owns.
    rebuild: function (node) { return call('store.rebuild', node ? { node: node } : {}); },
    clientSkew: function (client, d) { return call('store.clientSkew', { client: client, skew_ms: ms(d, 'skew') }); },
    deliverHints: function () { return call('store.deliverHints', {}); },
    nodes: function () { return call('store.nodes', {}); },
    hints: function () { return call('store.hints', {}); },
  };

  global.faults = {
    add: function (rule) { return call('faults.add', rule); },
    remove: function (id) { return call('faults.remove', { id: id }); },
    clear: function () { return call('faults.remove', { id: '' }); },
    list: function () { return call('faults.list', {}); },
  };
  // Processes this scenario killed, stopped or restarted: waitReady waits for new ones,
  // since the supervisor may still list a dead process as healthy for a moment.
  const replaced = {};
  function remember(name) {
    const pids = replaced[name] || (replaced[name] = {});
    for (const i of call('services.list', { service: name })) if (i.pid) pids[i.pid] = true;
  }
  global.services = {
    list: function (name) { return call('services.list', { service: name || '' }); },
    kill: function (name, signal) { remember(name); return call('services.kill', { service: name, signal: signal || 'KILL' }); },
    stop: function (name) { remember(name); return call('services.stop', { service: name }); },
    start: function (name) { return call('services.start', { service: name }); },
    restart: function (name) { remember(name); return call('services.restart', { service: name }); },
    waitReady: function (name, timeout) {
      const limit = ms(timeout === undefined ? '30s' : timeout, 'services.waitReady timeout');
      const old = replaced[name] || {};
      return poll('services.waitReady ' + name, limit, function () {
        const list = call('services.list', { service: name });
        const ready = list.length > 0 && list.every(function (i) {
          return (i.state === 'healthy' || i.state === 'running') && !old[i.pid];
        });
        return { done: ready, value: list };
      });
    },
  };
  global.clock = {
    advance: function (d) { return call('clock', { advance: String(d) }); },
    now: function () { return call('clock', { advance: '' }).now; },
  };
  global.check = function (opts) { return call('check', opts || {}); };

  const FLOW_KEYS = ['kind', 'topic', 'source', 'destination', 'method', 'table', 'keyspace', 'status', 'trace', 'group', 'key'];
  global.flow = {
    events: function (filter) { return call('flow.events', filter || {}); },
    diagram: function (trace) { return H.diagram(trace || lastTrace); },
  };
  global.expectFlow = function (match, within, label) {
    match = match || {};
    const filter = {}, payload = {};
    let where = match.where;
    for (const k in match) {
      if (k === 'where') continue;
      if (FLOW_KEYS.indexOf(k) >= 0) filter[k] = match[k]; else payload[k] = match[k];
    }
    const limit = ms(within === undefined ? '2s' : within, 'expectFlow within');
    let after = 0;
    const name = 'expectFlow ' + (label || short(JSON.stringify(match), 70));
    return poll(name, limit, function () {
      filter.after = after;
      const events = call('flow.events', filter);
      for (const e of events) {
        after = Math.max(after, e.id);
        if (Object.keys(payload).length && !matches(e.json, payload)) continue;
        if (typeof where === 'function' ? !where(e) : (where !== undefined && !matches(e.json, where))) continue;
        return { done: true, value: e };
      }
      return { done: false };
    });
  };
})(this);
