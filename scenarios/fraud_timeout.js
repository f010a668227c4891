// Fraud is called under a deadline, and each caller says what a missing answer means.
// card-processor fails open (bank.yaml default): a card payment is approved when fraud
// is slow, and the authorisation records that it was. p2p fails closed: a transfer is
// declined and no money moves. A mesh fault delays every call to fraud past the
// callers' 200 ms deadlines.

include('lib/bank.js');

function settled(customer) { return ledgerBalance(mainAddress(customer)).settled; }

scenario('fraud timeout: card payments fail open, transfers fail closed', {
  setup(ctx) {
    ctx.gail = signUp('Gail');
    ctx.hugo = signUp('Hugo');
    payIn(ctx.gail, 10000);
    waitFor(() => settled(ctx.gail) === 10000, '5s', 'salary credited');
  },
  run(ctx) {
    faults.add({id: 'slow-fraud', destination: 'fraud', action: 'delay', delay: '600ms'});

    log('a card payment while fraud is slow');
    const auth = http.post('/scheme/card/authorise', {
      scheme_message_id: uuid(), card_token: ctx.gail.card_token, amount: gbp(1200),
      merchant: {merchant_id: 'm-shoes', name: 'Shoe Shop', category_code: '5661', country: 'GB'}}, SCHEME).json;
    assert.equal(auth.decision, 'APPROVED', 'card-processor fails open');
    const record = rpc('card-processor.GetAuthorisation', {authorisation_id: auth.authorisation_id});
    assert.ok(String(record.fraud_check || '').indexOf('fail_open') >= 0,
              'the authorisation says fraud was skipped: ' + JSON.stringify(record.fraud_check));

    log('a transfer while fraud is slow');
    const t = http.post('/v1/transfers', {idempotency_key: uuid(), from_account_id: ctx.gail.account_id,
                                          to_account_id: ctx.hugo.account_id, amount: gbp(500), reference: 'lunch'},
                        {token: ctx.gail.token});
    assert.equal(t.status, 200, 'transfer answered ' + t.body);
    assert.equal(t.json.state, 'TRANSFER_DECLINED', 'p2p fails closed');
    assert.equal(settled(ctx.hugo), 0, 'no money moved');

    log('fraud answers again');
    faults.clear();
    const ok = http.post('/v1/transfers', {idempotency_key: uuid(), from_account_id: ctx.gail.account_id,
                                           to_account_id: ctx.hugo.account_id, amount: gbp(500), reference: 'lunch'},
                         {token: ctx.gail.token}).json;
    assert.equal(ok.state, 'TRANSFER_COMPLETED');
    assert.equal(settled(ctx.hugo), 500);
  },
});
