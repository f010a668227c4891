// Severity: how a cell should look (good, warning, bad, muted), as a model role, so the
// models stay free of colours and the views pick colours that read on the light and the
// dark theme alike. Used by the services, logs and faults panels.
// Thread-safety: UI thread only (the delegate paints).
#pragma once

#include <QPalette>
#include <QStyledItemDelegate>

namespace sandbank::gui {

enum class Severity : int { kNone = 0, kGood, kWarn, kBad, kMuted, kActive };

// Item data role carrying a Severity as int, for the cell (or, for kRowSeverityRole, the row).
inline constexpr int kSeverityRole = Qt::UserRole + 100;
inline constexpr int kRowSeverityRole = Qt::UserRole + 101;

// The text colour for a severity on this palette (dark palettes get lighter tints).
QColor severityText(Severity s, const QPalette& palette);
// A faint background for a whole row (error lines, firing rules), or invalid for none.
QColor severityRowBackground(Severity s, const QPalette& palette);

// Paints kSeverityRole as the text colour, kRowSeverityRole as a row tint, and bolds kBad.
class SeverityDelegate : public QStyledItemDelegate {
 public:
  using QStyledItemDelegate::QStyledItemDelegate;

 protected:
  void initStyleOption(QStyleOptionViewItem* option, const QModelIndex& index) const override;
};

}  // namespace sandbank::gui
