// MainWindow: one dock per registered panel, arranged by default as left (services,
// faults, scenarios), right (topology, bus, store) and bottom (messages, trace, logs);
// the layout the user makes is remembered. File opens and saves recordings; View raises
// panels (Ctrl+1..9) and resets the layout; the status bar shows the simulated time,
// events per second and events lost.
// Thread-safety: UI thread only.
#pragma once

#include <QLabel>
#include <QMainWindow>
#include <QMap>
#include <QTimer>

#include "gui_context.h"

class QDockWidget;

namespace sandbank::gui {

class MainWindow : public QMainWindow {
  Q_OBJECT

 public:
  explicit MainWindow(GuiContext& context, QWidget* parent = nullptr);

  // The panel widgets by id ("messages", ...), for tests and screenshots.
  QWidget* panel(const QString& id) const;
  QDockWidget* dock(const QString& id) const;
  QStringList panelIds() const;
  void resetLayout();
  // Asks the status bar's fields to refresh now (they also refresh once a second).
  void refreshStatus();

 protected:
  void closeEvent(QCloseEvent* event) override;

 private:
  void buildMenus();
  void openRecording();
  void saveRecording();

  GuiContext& context_;
  QMap<QString, QDockWidget*> docks_;
  QByteArray default_state_;
  QLabel* clock_label_ = nullptr;
  QLabel* rate_label_ = nullptr;
  QLabel* conn_label_ = nullptr;
  QTimer clock_timer_;
};

// Applies the colour scheme: "dark", "light", or "system": the desktop's preference
// (system_theme.h), followed live while "system" stays chosen. Fusion style either way, so
// both themes look the same on every platform.
void applyTheme(const QString& theme);
// True for the three names applyTheme takes.
bool isTheme(const QString& theme);

}  // namespace sandbank::gui
