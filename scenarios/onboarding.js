// A walk-through for a new engineer: one customer signs up, gets paid, pays for a coffee
// and looks at the app. Each step says what happens inside the bank; run it with
// `sandbank run --html walkthrough.html scenarios/onboarding.js` and open the report.

include('lib/bank.js');

scenario('onboarding: follow one card payment through the bank', () => {
  log('1. Sign up: the edge calls account (user + GBP account) and card (a new card).');
  const r = http.post('/v1/signup', {name: 'Grace', email: 'grace-' + uuid().slice(0, 8) + '@example.com', password: 'correct horse battery'});
  assert.equal(r.status, 201, r.body);
  const grace = r.json;
  log('   account ' + grace.account_id + ', card token ' + grace.card_token);

  log('2. Get paid: a Faster Payment arrives from the scheme hub; the ledger posts one EntrySet.');
  http.post('/scheme/fps/inbound', {payment_id: uuid(), account_id: grace.account_id, amount: gbp(2500),
                                    payer_name: 'Employer Ltd', reference: 'first salary'}, SCHEME);
  expectFlow({kind: 'publish', topic: 'ledger.entrysets'}, '2s', 'the ledger announces the posting');

  log('3. Buy a coffee: the scheme asks card-processor to authorise; it checks the card, the account, fraud, then holds the money.');
  const auth = http.post('/scheme/card/authorise', {scheme_message_id: uuid(), card_token: grace.card_token, amount: gbp(340),
    merchant: {merchant_id: 'm-cafe', name: 'Corner Cafe', category_code: '5814', country: 'GB'}}, SCHEME);
  assert.equal(auth.json.decision, 'APPROVED');
  log('   approved; the whole path as a sequence diagram:\n' + flow.diagram(auth.trace));

  log('4. Asynchronously: card.authorisations -> transaction -> feed -> notification.');
  const item = waitFor(() => (http.get('/v1/accounts/' + grace.account_id + '/feed', {token: grace.token}).json.items || [])
                                .find(i => int(i.amount.minor_units) === -340), '5s', 'the feed item');
  log('   the app shows: ' + item.title);

  log('5. The balance: settled 25.00, held 3.40, available 21.60.');
  const b = http.get('/v1/accounts/' + grace.account_id + '/balance', {token: grace.token}).json;
  log('   ' + JSON.stringify(b.currencies));
  log('After this scenario the invariant checker proves the books still balance.');
});
