// At-least-once everywhere: the scheme retransmits an authorisation it got no answer to,
// and the bus redelivers records. The bank must still show one hold, one transaction,
// one feed item and at most one push per payment (DOMAIN.md invariants 3 and 5).

include('lib/bank.js');

function held(customer) {
  const r = http.get('/v1/accounts/' + customer.account_id + '/balance', {token: customer.token});
  const c = (r.json.currencies || []).find(x => x.currency === 'GBP') || {};
  return int(c.held_minor_units || 0);
}
function authorise(customer, minor, messageId) {
  return http.post('/scheme/card/authorise', {
    scheme_message_id: messageId, card_token: customer.card_token, amount: gbp(minor),
    merchant: {merchant_id: 'm-books', name: 'Paper Pages', category_code: '5942', country: 'GB'}}, SCHEME);
}
function feedItems(customer) {
  return http.get('/v1/accounts/' + customer.account_id + '/feed?limit=50', {token: customer.token}).json.items || [];
}

scenario('retransmitted authorisation: one hold, one feed item, one push', {
  setup(ctx) {
    ctx.dan = signUp('Dan');
    payIn(ctx.dan, 10000);
  },
  run(ctx) {
    const id = uuid();
    const first = authorise(ctx.dan, 1500, id);
    const again = authorise(ctx.dan, 1500, id);  // the scheme never saw the first answer
    assert.equal(first.status, 200);
    assert.equal(again.status, 200);
    assert.equal(again.json.authorisation_id, first.json.authorisation_id, 'the retry gets the original answer');
    assert.equal(again.json.replayed, true);
    assert.equal(held(ctx.dan), 1500, 'one hold, not two');
    waitFor(() => feedItems(ctx.dan).some(i => int(i.amount.minor_units) === -1500), '5s', 'feed item');
    pause('500ms');  // give a duplicate the chance to show up
    assert.equal(feedItems(ctx.dan).filter(i => int(i.amount.minor_units) === -1500).length, 1);
  },
});

scenario('duplicate bus delivery: the feed and the pushes stay single', {
  setup(ctx) {
    ctx.erin = signUp('Erin');
    payIn(ctx.erin, 10000);
  },
  run(ctx) {
    for (const g of bus.groups()) bus.duplicateDeliveries(g, 3);  // every consumer sees records twice
    const r = authorise(ctx.erin, 700, uuid());
    assert.equal(r.json.decision, 'APPROVED');
    waitFor(() => feedItems(ctx.erin).some(i => int(i.amount.minor_units) === -700), '5s', 'feed item');
    waitFor(() => bus.groups().every(g => bus.lag(g).total === 0), '10s', 'consumers caught up');
    assert.equal(feedItems(ctx.erin).filter(i => int(i.amount.minor_units) === -700).length, 1, 'one feed item');
    const pushes = rpc('notification.ListPushes', {account_id: ctx.erin.account_id});
    const forPayment = (pushes.pushes || []).filter(p => JSON.stringify(p).indexOf('700') >= 0);
    assert.ok(forPayment.length <= 1, 'at most one push, got ' + forPayment.length);
  },
});
