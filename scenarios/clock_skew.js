// Last write wins by timestamp, and a client whose clock runs behind writes in the past.
// A card freeze sent by an app server five seconds slow is silently lost under a plain
// UPDATE: the store keeps the earlier "active" because its timestamp is newer. The fix
// the card service uses - a lightweight transaction (UPDATE ... IF status = 'active') -
// takes a Paxos ballot above every timestamp in the partition, so the freeze sticks
// whatever the client's clock says. DOMAIN.md: "client clock skew can silently lose
// updates".

function ensureTable() {
  store.cql("CREATE KEYSPACE IF NOT EXISTS drill WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}");
  store.cql('CREATE TABLE IF NOT EXISTS drill.cards (card_id text PRIMARY KEY, status text)');
}
function status(id) {
  const r = store.cql('SELECT status FROM drill.cards WHERE card_id = ?', [id], 'LOCAL_QUORUM');
  return r.rows.length ? r.rows[0].status : null;
}

scenario('clock skew loses a card freeze under last-write-wins; the LWT freeze keeps it', {
  setup() {
    ensureTable();
    store.clientSkew('app-slow', -5000);  // ms: its clock runs 5 s behind
  },
  run() {
    log('a plain UPDATE from a server whose clock is 5 s slow');
    store.cql("INSERT INTO drill.cards (card_id, status) VALUES ('c-1', 'active')", [], 'LOCAL_QUORUM',
              {client: 'app-ok'});
    store.cql("UPDATE drill.cards SET status = 'frozen' WHERE card_id = 'c-1'", [], 'LOCAL_QUORUM',
              {client: 'app-slow'});
    assert.equal(status('c-1'), 'active', 'the freeze was written with an older timestamp and lost');

    log('the same freeze as a lightweight transaction');
    store.cql("INSERT INTO drill.cards (card_id, status) VALUES ('c-2', 'active')", [], 'LOCAL_QUORUM',
              {client: 'app-ok'});
    const cas = store.cql("UPDATE drill.cards SET status = 'frozen' WHERE card_id = 'c-2' IF status = 'active'", [],
                          'LOCAL_QUORUM', {client: 'app-slow'});
    assert.equal(cas.applied, true, 'the condition held');
    assert.equal(status('c-2'), 'frozen', 'the LWT freeze is kept despite the slow clock');
  },
  teardown() {
    store.clientSkew('app-slow', 0);
  },
});
