// A rebalance in the middle of a batch. Card payments for several accounts pile up while
// the transaction and feed consumer groups are stalled; then both groups drain a large
// batch slowly (their store writes are delayed) and, part-way through, both groups are
// rebalanced and the feed service is restarted (its member leaves and a new one joins).
// The batch in hand at that moment cannot be committed (the generation moved on), so the
// bus delivers it again. Kafka keeps order within a partition only, and every topic is
// keyed by account, so each account's events must still be processed in the order the
// payments were made, and nothing may be lost or shown twice (DOMAIN.md invariant 5 and
// the bus semantics: at-least-once, order per partition).

include('lib/bank.js');

const PEOPLE = ['Hal', 'Ivy', 'Jon', 'Kay'];
const PAYMENTS = 12;  // per account, amounts 101, 102, ... in the order they are made
function cardItems(customer) {
  const r = rpc('feed.ListFeed', {account_id: customer.account_id, limit: 200});
  return (r.items || []).filter(i => i.transaction_id && int(i.amount.minor_units) < 0);
}
// The card amounts of one account's records on a topic, in offset order, each source
// counted once (the first time it appears: a redelivered batch publishes again).
function firstSeenAmounts(records, accountId, itemOf, idOf) {
  const seen = {};
  const out = [];
  for (const r of records) {
    if (!r.json) continue;
    const item = itemOf(r.json);
    if (!item || !item.amount || item.account_id !== accountId || int(item.amount.minor_units) >= 0) continue;
    const id = idOf(item);
    if (seen[id]) continue;
    seen[id] = true;
    out.push(-int(item.amount.minor_units));
  }
  return out;
}
function lagOf(group) { return bus.lag(group).total; }
// How many card payments (of any account) a topic shows so far.
function firstSeenCount(records, itemOf) {
  const ids = {};
  for (const r of records) {
    const item = r.json && itemOf(r.json);
    if (item && item.amount && item.transaction_id && int(item.amount.minor_units) < 0) ids[item.transaction_id] = true;
  }
  return Object.keys(ids).length;
}

scenario('a rebalance in the middle of a batch keeps each account in order and loses nothing', {
  timeout: '120s',
  setup(ctx) {
    ctx.people = PEOPLE.map(signUp);
    ctx.people.forEach(p => payIn(p, 50000));
    // The salaries' own feed items first, so the backlog below is only card payments.
    waitFor(() => ctx.people.every(p => (rpc('feed.ListFeed', {account_id: p.account_id}).items || []).length > 0),
            '20s', 'salary feed items');
  },
  run(ctx) {
    const groups = ['transaction', 'feed'];
    groups.forEach(g => assert.ok(bus.groups().indexOf(g) >= 0, 'the bank consumes through group ' + g));
    step('a backlog of card payments while both groups are stalled', () => {
      groups.forEach(g => bus.stallGroup(g, true));
      for (let i = 0; i < PAYMENTS; i++) {
        for (const p of ctx.people) {
          const r = http.post('/scheme/card/authorise', {
            scheme_message_id: uuid(), card_token: p.card_token, amount: gbp(101 + i),
            merchant: {merchant_id: 'm-corner', name: 'Corner Shop', category_code: '5411', country: 'GB'}}, SCHEME);
          assert.equal(r.json.decision, 'APPROVED', 'payment ' + (101 + i) + ' for ' + p.account_id);
        }
      }
      waitFor(() => lagOf('transaction') >= PEOPLE.length * PAYMENTS, '10s', 'the authorisations wait for the transaction group');
    });

    // Each group in turn takes the whole backlog as one batch (its writes slowed so the
    // batch takes seconds) and is rebalanced once part of it is done.
    const rebalanceMidBatch = (group, table, topic, itemOf) => step('rebalance ' + group + ' mid-batch', () => {
      faults.add({id: 'slow-' + group, table: table, action: 'delay', delay: '15ms'});
      bus.stallGroup(group, false);
      waitFor(() => {
        const done = firstSeenCount(bus.browse(topic), itemOf);
        return done > 0 && done < PEOPLE.length * PAYMENTS * 0.7;
      }, '30s', group + ' part-way through its batch');
      bus.forceRebalance(group);
      if (group === 'feed') {
        log('the feed restarts too: its member leaves and a new one joins');
        services.restart('feed');
        services.waitReady('feed', '30s');
      }
      faults.remove('slow-' + group);
      waitFor(() => lagOf(group) === 0, '60s', group + ' caught up');
      // The batch in hand could not be committed under the old generation, and the bus
      // delivered it again: the rebalance landed in the middle of it.
      const refused = flow.events({kind: 'commit', group: group}).filter(e => e.status !== 'OK' && e.status !== '');
      const times = {};
      for (const e of flow.events({kind: 'deliver', group: group})) {
        const at = e.topic + '/' + e.partition + '@' + e.offset;
        times[at] = (times[at] || 0) + 1;
      }
      const again = Object.keys(times).filter(at => times[at] > 1);
      log(group + ': ' + refused.length + ' commits refused (' + refused.map(e => e.status).filter((x, i, a) => a.indexOf(x) === i).join(', ') +
          '), ' + again.length + ' records delivered again');
      assert.ok(refused.length > 0, 'the rebalance of ' + group + ' came in the middle of a batch, so its commit was refused');
      assert.ok(again.length > 0, 'what ' + group + ' could not commit was delivered again');
    });
    rebalanceMidBatch('transaction', 'transaction.transactions', 'transaction.events', j => j.transaction);
    rebalanceMidBatch('feed', 'feed.items', 'feed.events', j => j.item);
    waitFor(() => ctx.people.every(p => cardItems(p).length >= PAYMENTS), '20s', 'every payment in the feed');

    const expected = [];
    for (let i = 0; i < PAYMENTS; i++) expected.push(101 + i);
    const txEvents = bus.browse('transaction.events');
    const feedEvents = bus.browse('feed.events');
    for (const p of ctx.people) {
      assert.deepEqual(firstSeenAmounts(txEvents, p.account_id, j => j.transaction, t => t.transaction_id), expected,
                       'transaction.events for ' + p.account_id + ' in payment order');
      assert.deepEqual(firstSeenAmounts(feedEvents, p.account_id, j => j.item, f => f.feed_item_id), expected,
                       'feed.events for ' + p.account_id + ' in payment order');
      const shown = cardItems(p).map(i => -int(i.amount.minor_units)).sort((a, b) => a - b);
      assert.deepEqual(shown, expected, 'one feed item per payment for ' + p.account_id);
    }
  },
});
