// January 2018: feed items fall behind while card payments keep being approved. Nothing
// may be lost: once the feed's consumers catch up, every approval has its feed item.

include('lib/bank.js');

scenario('consumer lag: payments approved while the feed falls behind, then catches up', {
  timeout: '90s',
  setup(ctx) {
    ctx.fay = signUp('Fay');
    payIn(ctx.fay, 100000);
  },
  run(ctx) {
    const feedGroups = bus.groups().filter(g => g.indexOf('feed') >= 0);
    assert.ok(feedGroups.length > 0, 'the feed consumes through a consumer group');
    feedGroups.forEach(g => bus.stallGroup(g, true));
    const approved = [];
    for (let i = 0; i < 20; i++) {
      const r = http.post('/scheme/card/authorise', {scheme_message_id: uuid(), card_token: ctx.fay.card_token,
        amount: gbp(100 + i), merchant: {merchant_id: 'm-' + i, name: 'Shop ' + i, category_code: '5411', country: 'GB'}}, SCHEME);
      assert.equal(r.json.decision, 'APPROVED', 'payments keep being approved while the feed is behind');
      approved.push(100 + i);
    }
    waitFor(() => feedGroups.some(g => bus.lag(g).total > 0), '5s', 'the feed is lagging');
    feedGroups.forEach(g => bus.stallGroup(g, false));
    waitFor(() => feedGroups.every(g => bus.lag(g).total === 0), '30s', 'the feed caught up');
    const items = http.get('/v1/accounts/' + ctx.fay.account_id + '/feed?limit=100', {token: ctx.fay.token}).json.items || [];
    for (const minor of approved)
      assert.equal(items.filter(i => int(i.amount.minor_units) === -minor).length, 1, 'one feed item for the payment of ' + minor);
  },
});
