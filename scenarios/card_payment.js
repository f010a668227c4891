// Card payments end to end, through the edge as the card scheme and the app see them:
// authorisation puts a hold on the money, clearing settles it (possibly for a different
// amount), and a hold that is never cleared expires after about 7 days.
// DOMAIN.md invariants in play: 4 (available = settled - holds), 5 (one transaction,
// one feed item, at most one push per approval), 6 (every hold ends exactly once).

include('lib/bank.js');

// From the ledger directly: app tokens expire when the clock is moved on by days.
function balance(customer) { return ledgerBalance(mainAddress(customer)); }
function authorise(customer, minor, messageId) {
  const r = http.post('/scheme/card/authorise', {
    scheme_message_id: messageId || uuid(), card_token: customer.card_token, amount: gbp(minor),
    merchant: {merchant_id: 'm-coffee-1', name: 'Flat White Ltd', category_code: '5814', country: 'GB'}}, SCHEME);
  assert.equal(r.status, 200, 'authorise answered ' + r.body);
  return r.json;
}
function clear(auth, minor) {
  const r = http.post('/scheme/card/clear', {scheme_message_id: uuid(), authorisation_id: auth.authorisation_id,
                                             amount: gbp(minor)}, SCHEME);
  assert.equal(r.status, 200, 'clearing answered ' + r.body);
  return r.json;
}
function feed(customer) {
  const r = http.get('/v1/accounts/' + customer.account_id + '/feed?limit=50', {token: customer.token});
  assert.equal(r.status, 200, 'feed answered ' + r.body);
  return r.json.items || [];
}

scenario('card payment: authorise, clear and settle', {
  setup(ctx) {
    ctx.alice = signUp('Alice');
    payIn(ctx.alice, 10000);
    waitFor(() => balance(ctx.alice).available === 10000, '5s', 'salary credited');
  },
  run(ctx) {
    const auth = authorise(ctx.alice, 1250);
    assert.equal(auth.decision, 'APPROVED', 'a funded card payment');
    assert.deepEqual(balance(ctx.alice), {settled: 10000, held: 1250, available: 8750});
    expectFlow({kind: 'publish', topic: 'card.authorisations'}, '2s');
    const item = waitFor(() => feed(ctx.alice).find(i => int(i.amount.minor_units) === -1250), '5s', 'feed item for the payment');
    assert.ok(item.title, 'the feed item names the merchant');

    clear(auth, 1250);
    waitFor(() => balance(ctx.alice).held === 0, '5s', 'hold released by clearing');
    assert.deepEqual(balance(ctx.alice), {settled: 8750, held: 0, available: 8750});
    assert.equal(feed(ctx.alice).filter(i => int(i.amount.minor_units) === -1250).length, 1, 'one feed item per payment');
  },
});

scenario('card payment: clearing for a different amount than authorised', {
  setup(ctx) {
    ctx.bob = signUp('Bob');
    payIn(ctx.bob, 5000);
    waitFor(() => balance(ctx.bob).available === 5000, '5s', 'salary credited');
  },
  run(ctx) {
    const auth = authorise(ctx.bob, 2000);  // a restaurant bill...
    assert.equal(auth.decision, 'APPROVED');
    clear(auth, 2300);                      // ...presented with the tip
    waitFor(() => balance(ctx.bob).held === 0, '5s', 'hold released');
    assert.deepEqual(balance(ctx.bob), {settled: 2700, held: 0, available: 2700}, 'the settled amount is the presented one');
  },
});

scenario('card payment: a hold that is never cleared expires after 7 days', {
  setup(ctx) {
    ctx.carol = signUp('Carol');
    payIn(ctx.carol, 3000);
    waitFor(() => balance(ctx.carol).available === 3000, '5s', 'salary credited');
  },
  run(ctx) {
    const auth = authorise(ctx.carol, 999);
    assert.equal(auth.decision, 'APPROVED');
    assert.equal(balance(ctx.carol).held, 999);
    // Seven days pass in an instant here, not for the consumers: let the pending
    // transaction exist before the clock jumps, or the bus's 7-day retention could drop
    // the authorisation before anyone read it (as it would in a bank whose consumers
    // were a week behind).
    waitFor(() => feed(ctx.carol).find(i => int(i.amount.minor_units) === -999), '5s', 'pending feed item');
    clock.advance('6d');
    rpc('card-processor.ExpireHolds', {idempotency_key: uuid()});
    assert.equal(balance(ctx.carol).held, 999, 'a 6-day-old hold still stands');
    clock.advance('2d');
    rpc('card-processor.ExpireHolds', {idempotency_key: uuid()});
    waitFor(() => balance(ctx.carol).held === 0, '5s', 'hold expired');
    assert.deepEqual(balance(ctx.carol), {settled: 3000, held: 0, available: 3000}, 'the money is back, nothing settled');
  },
});
