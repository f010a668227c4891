// Faster Payments when the scheme misbehaves: the hub rejects one payment and never
// answers another (bank.yaml's hub rejects sort code 999999 and times out 999998). Each
// time the debit into suspense is reversed, the customer's money nets to zero, and a
// retry of the same request changes nothing. An inbound payment replayed by the hub is
// credited once (the May 2019 lesson). DOMAIN.md invariants 1, 3 and 7 in play.

include('lib/bank.js');

function settled(customer) { return ledgerBalance(mainAddress(customer)).settled; }
function pay(customer, key, minor, sortCode) {
  const r = http.post('/v1/payments', {idempotency_key: key, account_id: customer.account_id, amount: gbp(minor),
                                       sort_code: sortCode, account_number: '12345678', reference: 'rent'},
                      {token: customer.token});
  assert.equal(r.status, 200, 'payment answered ' + r.body);
  return r.json;
}

scenario('Faster Payments: a rejected and a timed-out payment are reversed once, and retries change nothing', {
  setup(ctx) {
    ctx.erin = signUp('Erin');
    payIn(ctx.erin, 10000);
    waitFor(() => settled(ctx.erin) === 10000, '5s', 'salary credited');
  },
  run(ctx) {
    log('the hub rejects sort code 999999');
    const rejected = pay(ctx.erin, 'pay-reject', 2500, '999999');
    assert.equal(rejected.state, 'PAYMENT_REVERSED', 'a rejected payment is reversed');
    assert.equal(settled(ctx.erin), 10000, 'the reversal nets the debit to zero');

    log('the hub never answers for sort code 999998');
    const timedOut = pay(ctx.erin, 'pay-timeout', 1500, '999998');
    assert.equal(timedOut.state, 'PAYMENT_REVERSED', 'a payment the hub never answered is reversed');
    assert.equal(settled(ctx.erin), 10000, 'that reversal nets to zero too');

    log('retries of both requests');
    const again = pay(ctx.erin, 'pay-reject', 2500, '999999');
    assert.equal(again.payment_id, rejected.payment_id, 'a retry is the same payment');
    assert.equal(again.state, 'PAYMENT_REVERSED');
    pay(ctx.erin, 'pay-timeout', 1500, '999998');
    assert.equal(settled(ctx.erin), 10000, 'no retry debits or credits again');

    log('a good payment still goes through');
    const ok = pay(ctx.erin, 'pay-ok', 4000, '040004');
    assert.equal(ok.state, 'PAYMENT_COMPLETED');
    assert.equal(settled(ctx.erin), 6000);
  },
});

scenario('Faster Payments: an inbound payment the hub replays is credited once', {
  setup(ctx) { ctx.finn = signUp('Finn'); },
  run(ctx) {
    const id = uuid();
    const first = payIn(ctx.finn, 7000, id);
    const replays = [payIn(ctx.finn, 7000, id), payIn(ctx.finn, 7000, id)];
    for (const r of replays) assert.equal(r.payment_id, first.payment_id, 'a replay is the same payment');
    assert.equal(settled(ctx.finn), 7000, 'credited exactly once');
  },
});
