// The ledger is killed right after writing an EntrySet whose answer the client never
// used; the client retries with the same idempotency key. No money may be created or lost (DOMAIN.md invariants 1-3).

include('lib/bank.js');

function balanceOf(address) { return ledgerBalance(address).settled; }

scenario('ledger killed mid-transfer: the retry neither creates nor loses money', {
  timeout: '60s',
  run() {
    const a = 'account:' + uuid() + ':main', b = 'account:' + uuid() + ':main';
    rpc('ledger.PostEntrySet', {idempotency_key: uuid(), description: 'opening', source: 'scenario',
                                entries: [{address: 'scheme:fps:suspense', amount: gbp(-5000)}, {address: a, amount: gbp(5000)}]});
    const key = uuid();
    const transfer = {idempotency_key: key, description: 'a to b', source: 'scenario',
                      entries: [{address: a, amount: gbp(-1200)}, {address: b, amount: gbp(1200)}]};
    // The client never sees this answer (it timed out on its side); the ledger is then
    // killed, as a pod would be, and the client retries with the same key. The mesh's
    // drop rule cannot stand in for a lost reply: it drops calls before they reach the
    // service, so the write would never happen.
    const first = rpc('ledger.PostEntrySet', transfer, {timeout: '5s'});
    services.kill('ledger', 'KILL');
    services.waitReady('ledger', '30s');
    const retry = rpc('ledger.PostEntrySet', transfer, {timeout: '5s'});
    assert.equal(balanceOf(a), 3800, 'debited once');
    assert.equal(balanceOf(b), 1200, 'credited once');
    const again = rpc('ledger.PostEntrySet', transfer);
    assert.equal(retry.entryset.entryset_id, first.entryset.entryset_id, 'the retry after the crash returns the original EntrySet');
    assert.equal(again.entryset.entryset_id, first.entryset.entryset_id, 'so does every later retry');
    assert.equal(again.replayed, true);
  },
});
