// ControlClient: the GUI's one connection to a running simulator's control port (the
// Control, Bus and Store gRPC services, all behind the run's token). Every call runs on a
// small thread pool, never on the UI thread, and its result comes back to the UI thread
// through call()'s `done`, which is skipped when the receiver was destroyed meanwhile.
// The stubs live in control_stubs.h, which only the .cc files that make calls include.
// Thread-safety: call() and the accessors from the UI thread; `work` runs on the pool.
#pragma once

#include <QObject>
#include <QPointer>
#include <QThreadPool>
#include <QString>

#include <functional>
#include <memory>
#include <string>
#include <utility>

namespace sandbank::gui {

struct Stubs;  // control_stubs.h

class ControlClient : public QObject {
  Q_OBJECT

 public:
  ControlClient(std::string address, std::string token, QObject* parent = nullptr);
  ~ControlClient() override;  // waits for calls in flight (each has a deadline)

  const std::string& address() const { return address_; }
  const std::string& token() const { return token_; }
  Stubs& stubs() { return *stubs_; }

  // Runs `work(stubs)` on the pool; then `done(result)` on the UI thread if `receiver`
  // still exists. `work` makes blocking gRPC calls with contexts from Stubs::context().
  template <class Work, class Done>
  void call(QObject* receiver, Work work, Done done) {
    QPointer<QObject> guard(receiver);
    Stubs* stubs = stubs_.get();
    ++in_flight_;
    pool_.start([this, stubs, guard, work = std::move(work), done = std::move(done)]() mutable {
      auto result = work(*stubs);
      QMetaObject::invokeMethod(
          this,
          [this, guard, done = std::move(done), result = std::move(result)]() mutable {
            --in_flight_;
            if (guard) done(std::move(result));
          },
          Qt::QueuedConnection);
    });
  }

  int inFlight() const { return in_flight_; }  // UI thread

 private:
  std::string address_;
  std::string token_;
  std::unique_ptr<Stubs> stubs_;
  QThreadPool pool_;
  int in_flight_ = 0;  // UI thread only
};

}  // namespace sandbank::gui
