// Helpers the scenario files share: include('lib/bank.js') at the top of a file. Plain
// `var` and function declarations, so they become globals of the including script.

// Headers the card scheme and the Faster Payments hub send to the edge's /scheme routes.
var SCHEME = {headers: {'X-Scheme-Key': 'sandbank-scheme'}};

function gbp(minor) { return {minor_units: minor, currency: 'GBP'}; }

// A new customer through the app: {user_id, account_id, card_id, card_token, token}.
function signUp(name) {
  const r = http.post('/v1/signup', {name: name, email: name.toLowerCase() + '-' + uuid().slice(0, 8) + '@example.com',
                                     password: 'correct horse battery'});
  assert.equal(r.status, 201, 'signup answered ' + r.body);
  return r.json;
}

// Money in: an inbound Faster Payment from the hub (a salary), answered with the payment.
function payIn(customer, minor, paymentId) {
  const r = http.post('/scheme/fps/inbound', {payment_id: paymentId || uuid(), account_id: customer.account_id,
                                              amount: gbp(minor), payer_name: 'Employer Ltd', reference: 'salary'},
                      SCHEME);
  assert.equal(r.status, 200, 'inbound payment answered ' + r.body);
  return r.json;
}

// The GBP balance of a ledger address, straight from the ledger (app tokens expire when a
// scenario moves the clock on by days): {settled, held, available} in minor units.
function ledgerBalance(address, verify) {
  const b = rpc('ledger.GetBalance', verify ? {address: address, verify: true} : {address: address});
  const c = (b.currencies || []).find(x => x.currency === 'GBP') || {};
  return {settled: int(c.settled_minor_units || 0), held: int(c.held_minor_units || 0),
          available: int(c.available_minor_units || 0)};
}
function mainAddress(customer) { return 'account:' + customer.account_id + ':main'; }
