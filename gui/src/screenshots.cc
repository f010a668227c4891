// saveScreenshots: one PNG per dock, and one of the whole window.
#include "screenshots.h"

#include <QApplication>
#include <QDir>
#include <QDockWidget>
#include <QElapsedTimer>
#include <QPixmap>

#include <iostream>

#include "main_window.h"

namespace sandbank::gui {
namespace {

// Lets queued work (replies, batches, repaints) run for `ms` milliseconds.
void pump(int ms) {
  QElapsedTimer t;
  t.start();
  while (t.elapsed() < ms) QApplication::processEvents(QEventLoop::AllEvents, 20);
}

}  // namespace

QStringList saveScreenshots(MainWindow& window, const QString& dir) {
  QDir().mkpath(dir);
  QStringList saved;
  // The default arrangement, not whatever layout the user last saved.
  window.resetLayout();
  pump(200);
  for (const QString& id : window.panelIds()) {
    QDockWidget* d = window.dock(id);
    d->show();
    d->raise();
    pump(400);
    const QString file = QDir(dir).filePath(id + ".png");
    if (d->grab().save(file)) {
      saved << file;
    } else {
      std::cerr << "could not save " << file.toStdString() << "\n";
    }
  }
  window.resetLayout();
  pump(400);
  const QString file = QDir(dir).filePath("window.png");
  if (window.grab().save(file)) saved << file;
  return saved;
}

}  // namespace sandbank::gui
