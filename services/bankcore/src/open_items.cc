// The open-items list and its sweep over the store; see open_items.h.
#include "sandbank/bankcore/open_items.h"

#include <algorithm>

#include "sandbank/bankcore/money.h"
#include "sandbank/kit/log.h"

namespace sandbank::bank {
using kit::StoreValue;

std::string openItemsTableCql(std::string_view keyspace, std::string_view table) {
  return "CREATE TABLE IF NOT EXISTS " + std::string(keyspace) + "." + std::string(table) +
         " (bucket int, item_id text, since_us bigint, claimed_us bigint, PRIMARY KEY (bucket, item_id))";
}

OpenItems::OpenItems(kit::StoreClient& store, std::string consistency, const Clock& clock, int buckets)
    : store_(store), consistency_(std::move(consistency)), clock_(clock), buckets_(buckets) {}

Result<std::unique_ptr<OpenItems>> OpenItems::open(kit::StoreClient& store, std::string_view keyspace,
                                                   std::string_view table, std::string consistency, const Clock& clock,
                                                   int buckets) {
  if (buckets <= 0) return InvalidArgument("an open-items list needs at least one bucket");
  std::unique_ptr<OpenItems> items(new OpenItems(store, std::move(consistency), clock, buckets));
  const std::string t(table);
  const std::string add = "INSERT INTO " + t + " (bucket, item_id, since_us, claimed_us) VALUES (?, ?, ?, 0)";
  const std::string remove = "DELETE FROM " + t + " WHERE bucket = ? AND item_id = ? IF EXISTS";
  const std::string list = "SELECT item_id, since_us, claimed_us FROM " + t + " WHERE bucket = ?";
  const std::string claim =
      "UPDATE " + t + " SET claimed_us = ? WHERE bucket = ? AND item_id = ? IF claimed_us = ?";
  const std::pair<kit::StoreStatement*, const char*> all[] = {
      {&items->add_, add.c_str()},
      {&items->remove_, remove.c_str()},
      {&items->list_, list.c_str()},
      {&items->claim_, claim.c_str()},
  };
  if (Status s = store.prepareAll(all, std::string(keyspace)); !s.ok()) return s;
  return items;
}

kit::StoreCall OpenItems::call() const {
  kit::StoreCall c;
  c.consistency = consistency_;
  return c;
}

kit::StoreCall OpenItems::lwtCall() const {
  kit::StoreCall c = call();
  c.serial_consistency = "LOCAL_SERIAL";
  return c;
}

Status OpenItems::add(const std::string& item_id) {
  kit::StoreCall c = call();
  c.timestamp_us = timestamps_.next(clock_);
  auto r = store_.execute(add_,
                          {StoreValue::integer(bucketOf(item_id, buckets_)), StoreValue::text(item_id),
                           StoreValue::integer(toMicros(clock_.now()))},
                          c);
  return r.ok() ? OkStatus() : r.status().withContext("listing " + item_id + " as open");
}

Status OpenItems::remove(const std::string& item_id) {
  // An LWT: its timestamp is above the claims' (also LWTs), so the row really goes; a
  // plain DELETE stamped by this process's clock could lose to a claim cell.
  auto r = store_.execute(remove_, {StoreValue::integer(bucketOf(item_id, buckets_)), StoreValue::text(item_id)},
                          lwtCall());
  return r.ok() ? OkStatus() : r.status().withContext("taking " + item_id + " off the open list");
}

SweepReport OpenItems::sweep(Duration older_than, const Resolver& resolve) {
  SweepReport report;
  const int64_t now = toMicros(clock_.now());
  const int64_t age_us = std::chrono::duration_cast<std::chrono::microseconds>(older_than).count();
  for (int bucket = 0; bucket < buckets_; ++bucket) {
    auto listed = store_.execute(list_, {StoreValue::integer(bucket)}, call());
    if (!listed.ok()) {
      kit::logWarn("sweeper: cannot list open items", {{"bucket", std::to_string(bucket)},
                                                       {"error", listed.status().toString()}});
      ++report.failed;
      continue;
    }
    for (size_t i = 0; i < listed->rows.size(); ++i) {
      const std::string id = listed->cell(i, "item_id").s;
      const int64_t since = listed->cell(i, "since_us").i;
      const int64_t claimed = listed->cell(i, "claimed_us").i;
      ++report.examined;
      if (now - since < age_us) continue;  // young: its own request may still be on it
      if (claimed != 0 && now - claimed < age_us) {
        ++report.skipped;  // a sweeper holds it and has not been gone long enough to lapse
        continue;
      }
      const int64_t mine = std::max(now, claimed + 1);
      auto won = store_.execute(claim_,
                                {StoreValue::integer(mine), StoreValue::integer(bucket), StoreValue::text(id),
                                 StoreValue::integer(claimed)},
                                lwtCall());
      if (!won.ok()) {
        ++report.failed;
        continue;
      }
      if (!won->applied.value_or(false)) {
        ++report.skipped;  // another sweeper claimed it first, or it was removed
        continue;
      }
      Result<bool> done = resolve(id);
      if (done.ok() && *done) {
        if (Status s = remove(id); !s.ok()) {
          kit::logWarn("sweeper: resolved item stays listed", {{"item_id", id}, {"error", s.toString()}});
        }
        ++report.resolved;
        continue;
      }
      if (done.ok()) {
        ++report.still_open;
      } else {
        ++report.failed;
        kit::logWarn("sweeper: could not resolve an open item", {{"item_id", id}, {"error", done.status().toString()}});
      }
      // Release the claim so the next sweep tries again without waiting for it to lapse.
      (void)store_.execute(claim_,
                           {StoreValue::integer(0), StoreValue::integer(bucket), StoreValue::text(id),
                            StoreValue::integer(mine)},
                           lwtCall());
    }
  }
  return report;
}

void SweepLoop::start(std::string name, std::chrono::milliseconds interval, std::function<SweepReport()> sweep) {
  stop();
  {
    std::lock_guard lock(mu_);
    stop_ = false;
  }
  thread_ = std::thread([this, name = std::move(name), interval, sweep = std::move(sweep)] {
    std::unique_lock lock(mu_);
    while (!cv_.wait_for(lock, interval, [this] { return stop_; })) {
      lock.unlock();
      SweepReport r = sweep();
      if (r.resolved > 0 || r.failed > 0 || r.still_open > 0) {
        kit::logInfo(name + " sweep", {{"examined", std::to_string(r.examined)},
                                       {"resolved", std::to_string(r.resolved)},
                                       {"still_open", std::to_string(r.still_open)},
                                       {"failed", std::to_string(r.failed)}});
      }
      lock.lock();
    }
  });
}

void SweepLoop::stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

}  // namespace sandbank::bank
