// Renders every registered panel with the whole reference bank running under a demo load,
// in the light and the dark theme, into PNGs kept as test artifacts
// (build/gui-artifacts/screenshots*/). Each PNG must exist and show more than a blank
// panel. A person still looks at them: this test only proves they were drawn.
#include <QDir>
#include <QImage>
#include <QSet>
#include <QTest>

#include "app.h"
#include "flow_feed.h"
#include "main_window.h"
#include "panel_registry.h"
#include "screenshots.h"

namespace sandbank::gui {
namespace {

// How many distinct colours an image uses (sampled on a grid): a blank panel has 1-3.
int distinctColours(const QImage& image) {
  QSet<QRgb> colours;
  const int step = std::max(1, std::min(image.width(), image.height()) / 100);
  for (int y = 0; y < image.height(); y += step) {
    for (int x = 0; x < image.width(); x += step) colours.insert(image.pixel(x, y));
  }
  return colours.size();
}

}  // namespace

class ScreenshotTest : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void everyPanelIsDrawnWithTheBankRunning_data() {
    QTest::addColumn<QString>("theme");
    QTest::newRow("light") << "light";
    QTest::newRow("dark") << "dark";
  }

  void everyPanelIsDrawnWithTheBankRunning() {
    QFETCH(QString, theme);
    applyTheme(theme);
    AppOptions o;
    o.manifest = SANDBANK_SOURCE_DIR "/bank.yaml";
    o.bin_dir = SANDBANK_BIN_DIR;
    o.record = QDir(SANDBANK_ARTIFACTS_DIR).filePath("screenshot-run-" + theme + ".db").toStdString();
    QDir().mkpath(SANDBANK_ARTIFACTS_DIR);
    QFile::remove(QString::fromStdString(o.record));
    o.demo = true;
    o.demo_rate = 20;
    App app(o);
    Status s = app.start();
    QVERIFY2(s.ok(), s.message().c_str());

    MainWindow window(app.context());
    window.show();
    // Let the demo load move money for a while, then show its latest trace.
    QString last_trace;
    connect(app.context().feed, &FlowFeed::batch, &window, [&](FlowBatch b) {
      for (const auto& e : *b) {
        if (e.kind == flow::FlowKind::kRpc && !e.trace_id.empty()) last_trace = QString::fromStdString(e.trace_id);
      }
    });
    QTRY_VERIFY_WITH_TIMEOUT(app.context().feed->received() > 500 && !last_trace.isEmpty(), 30000);
    QTest::qWait(3000);  // a few seconds of live traffic for the charts and the graph
    app.context().selection->selectTrace(last_trace);

    const QString dir = QDir(SANDBANK_ARTIFACTS_DIR).filePath(theme == "light" ? "screenshots" : "screenshots-dark");
    QDir(dir).removeRecursively();
    const QStringList saved = saveScreenshots(window, dir);
    const QStringList ids = window.panelIds();
    QVERIFY2(!ids.isEmpty(), "no panel is registered");
    QCOMPARE(saved.size(), ids.size() + 1);  // every panel and the whole window
    for (const QString& file : saved) {
      QImage image(file);
      QVERIFY2(!image.isNull(), qPrintable(file));
      QVERIFY2(image.width() > 100 && image.height() > 100, qPrintable(file));
      const int colours = distinctColours(image);
      QVERIFY2(colours > 8, qPrintable(QString("%1 looks blank: %2 colours").arg(file).arg(colours)));
    }
    window.close();
  }
};

}  // namespace sandbank::gui

QTEST_MAIN(sandbank::gui::ScreenshotTest)
#include "screenshot_test.moc"
