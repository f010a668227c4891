// saveScreenshots: raises each panel's dock in turn, lets it paint, and saves it as
// <dir>/<panel id>.png, plus the whole window as <dir>/window.png. Used by
// `sandbank-gui --screenshots`, the screenshot test and the README picture.
// Thread-safety: UI thread only.
#pragma once

#include <QString>
#include <QStringList>

namespace sandbank::gui {

class MainWindow;

// Returns the files written (a failed save is left out and reported on stderr).
QStringList saveScreenshots(MainWindow& window, const QString& dir);

}  // namespace sandbank::gui
