// PanelRegistry: the panels of the main window. Each panel's .cc registers itself with
// SANDBANK_GUI_PANEL; the main window makes one dock per panel, in `order`, and the
// screenshot test renders every registered panel. Adding a panel touches no other file.
// Thread-safety: registration happens during static initialisation; reads on the UI thread.
#pragma once

#include <QKeySequence>
#include <QString>
#include <QWidget>

#include <functional>
#include <vector>

#include "gui_context.h"

namespace sandbank::gui {

struct PanelSpec {
  QString id;       // stable: used for the saved layout and screenshot names ("messages")
  QString title;    // dock title ("Messages")
  int order = 0;    // position in the View menu and default tab order
  Qt::DockWidgetArea area = Qt::RightDockWidgetArea;
  QKeySequence shortcut;  // raises the panel
  bool needs_live = false;  // hidden when a recording is open instead of a live bank
  std::function<QWidget*(GuiContext&, QWidget* parent)> create;
};

class PanelRegistry {
 public:
  static bool add(PanelSpec spec);
  static std::vector<PanelSpec> all();  // sorted by order
};

}  // namespace sandbank::gui

#define SANDBANK_GUI_PANEL_CAT2(a, b) a##b
#define SANDBANK_GUI_PANEL_CAT(a, b) SANDBANK_GUI_PANEL_CAT2(a, b)
// In a panel's .cc: SANDBANK_GUI_PANEL({ .id = "bus", .title = "Bus", ... });
#define SANDBANK_GUI_PANEL(...)                                                      \
  namespace {                                                                        \
  const bool SANDBANK_GUI_PANEL_CAT(kRegistered, __LINE__) =                         \
      ::sandbank::gui::PanelRegistry::add(::sandbank::gui::PanelSpec __VA_ARGS__);   \
  }
