// A retry of a non-idempotent call. Every bank API takes an idempotency key, so "no key"
// here means what it costs in practice: a client that mints a fresh key for every
// attempt, so the ledger sees two different requests for one payment. The reply to the
// first attempt is lost (the ledger posts the EntrySet, then its balance write is held
// up past the caller's deadline), the caller retries, and the customer is debited twice.
// The same retry under the original key is debited once (DOMAIN.md invariant 3). Both
// double-debit EntrySets balance, so the bank invariant checker passes after the
// scenario: the harm is on the customer's balance, and that is what is asserted.

include('lib/bank.js');

function settled(address) { return ledgerBalance(address, /*verify=*/true).settled; }
// The EntrySets that debited `address` for `reference` (one per distinct id).
function debitsFor(address, minor) {
  const entries = rpc('ledger.ListEntries', {address: address}).entries || [];
  const ids = {};
  for (const e of entries) if (int(e.amount.minor_units) === -minor) ids[e.entryset_id] = true;
  return Object.keys(ids);
}
// The gym collects a membership fee: one EntrySet, customer -> the gym's settlement address.
function collection(account, key, minor, reference) {
  return {idempotency_key: key, description: 'Gym membership', source: 'scenario', reference: reference,
          entries: [{address: account, amount: gbp(-minor)}, {address: 'external:gym:settlement', amount: gbp(minor)}]};
}
// The ledger writes the EntrySet and its entries first, then the cached balances (an LWT
// on ledger.balances). Holding that LWT past the caller's deadline loses the reply but
// not the write: the mesh's own delay and drop rules act before the call reaches the
// ledger, so they cannot stand in for a lost reply.
function loseNextReply(id) {
  faults.add({id: id, table: 'ledger.balances', method: 'cas', action: 'delay', delay: '1500ms', times: 1});
}

scenario('a retry with a fresh key per attempt debits twice; under the same key, once', {
  timeout: '60s',
  setup(ctx) {
    ctx.gus = signUp('Gus');
    payIn(ctx.gus, 10000);
    ctx.account = 'account:' + ctx.gus.account_id + ':main';
  },
  run(ctx) {
    const start = settled(ctx.account);
    assert.equal(start, 10000, 'the salary arrived');

    step('a lost reply, retried under a new key', () => {
      loseNextReply('lost-reply-1');
      const first = rpc('ledger.PostEntrySet', collection(ctx.account, uuid(), 2500, 'gym-nov'), {timeout: '300ms', allowError: true});
      assert.equal(first.code, 'DEADLINE_EXCEEDED', 'the caller never saw the first answer');
      log('the first attempt timed out on the caller; it retries with a fresh key');
      const retry = rpc('ledger.PostEntrySet', collection(ctx.account, uuid(), 2500, 'gym-nov'), {timeout: '10s'});
      assert.equal(retry.replayed, false, 'a new key is a new request to the ledger');
      // The retry waited for the first attempt's address locks, so both are posted now.
      const twice = debitsFor(ctx.account, 2500);
      assert.equal(twice.length, 2, 'two EntrySets for one membership fee');
      assert.ok(twice.indexOf(retry.entryset.entryset_id) >= 0, 'the retry is one of them');
      assert.equal(settled(ctx.account), start - 5000, 'the customer was debited twice');
      log('double debit: ' + twice.join(', '));
    });

    step('the same lost reply, retried under the original key', () => {
      const before = settled(ctx.account);
      loseNextReply('lost-reply-2');
      const key = uuid();
      const first = rpc('ledger.PostEntrySet', collection(ctx.account, key, 1800, 'gym-dec'), {timeout: '300ms', allowError: true});
      assert.equal(first.code, 'DEADLINE_EXCEEDED', 'the caller never saw the first answer');
      // While the first attempt is still posting, the ledger answers UNAVAILABLE and asks
      // for a retry under the same key; once it is done, the retry gets the original.
      const attempts = [];
      const retry = waitFor(() => {
        const r = rpc('ledger.PostEntrySet', collection(ctx.account, key, 1800, 'gym-dec'), {timeout: '10s', allowError: true});
        attempts.push(r.ok ? 'OK' : r.code);
        if (!r.ok && r.code !== 'UNAVAILABLE') throw new Error('the retry failed with ' + r.code + ': ' + r.message);
        return r.ok ? r.body : null;
      }, '15s', 'the retry under the same key answered');
      log('retries under the same key: ' + attempts.filter(a => a === 'UNAVAILABLE').length +
          ' answered UNAVAILABLE (the first attempt still posting), then ' + attempts[attempts.length - 1]);
      assert.equal(retry.replayed, true, 'the retry returns the original result');
      const once = debitsFor(ctx.account, 1800);
      assert.deepEqual(once, [retry.entryset.entryset_id], 'one EntrySet for the fee');
      assert.equal(settled(ctx.account), before - 1800, 'the customer was debited once');
    });
  },
});
