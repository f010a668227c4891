// Load in the background while other steps proceed. `load.start` runs simulated
// customers (the `sandbank load` generator, seeded from the scenario's seed) on their own
// threads, so the bank stays busy while the script itself sits in a slow call: here an
// rpc held up by a mesh delay. The customers sign up, get paid, spend by card, transfer,
// save into pots and pay out; the invariant checker runs over all of it afterwards.

scenario('background load keeps running while the script blocks in a slow call', {
  timeout: '60s',
  run() {
    const customers = load.start({customers: 4, rate: 40});
    const warm = waitFor(() => { const s = customers.stats(); return s.ok >= 20 && s; }, '20s',
                         'the simulated customers are signed up and paying');
    log('warmed up: ' + warm.ok + ' requests answered, p50 ' + warm.p50_ms.toFixed(1) + ' ms');

    // One call from the script that the mesh holds for 1.5 s. The script is blocked in
    // C++ for all of it, so whatever the customers do meanwhile proves they do not need it.
    faults.add({id: 'slow-lookup', source: 'scenario', destination: 'account', action: 'delay', delay: '1500ms',
                times: 1});
    const before = customers.stats().attempted;
    const started = Date.now();
    const r = rpc('account.Get', {account_id: 'acc_not_there'}, {allowError: true, timeout: '5s'});
    const blockedMs = Date.now() - started;
    const during = customers.stats().attempted - before;
    assert.equal(r.code, 'NOT_FOUND', 'the delayed call still gets its answer');
    assert.ok(blockedMs >= 1400, 'the call was held by the fault (' + blockedMs + ' ms)');
    assert.ok(during >= 10, 'the customers kept sending while the script was blocked (' + during + ' requests in ' +
                            blockedMs + ' ms)');

    const last = customers.stop();
    log('stopped: ' + last.attempted + ' sent, ' + last.ok + ' ok, ' + last.declined + ' declined, ' + last.failed +
        ' failed; p99 ' + last.p99_ms.toFixed(1) + ' ms');
    assert.equal(last.running, false, 'stop() waits for the requests in flight');
    assert.equal(last.retransmit_mismatches, 0, 'a retransmitted authorisation got its original answer');
    assert.ok(last.by_kind.card_authorise && last.by_kind.card_authorise.ok > 0, 'card payments were made');
  },
});

scenario('background load the script leaves running is stopped before the invariant check', () => {
  const customers = load.start({customers: 2, rate: 20});
  waitFor(() => customers.stats().ok >= 5, '20s', 'the customers are active');
  // No stop(): the runner ends the load and waits for it before checking the bank.
});
