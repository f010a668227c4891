// Severity colours that work on both themes.
#include "services_severity.h"

namespace sandbank::gui {
namespace {

bool isDark(const QPalette& p) { return p.color(QPalette::Base).lightness() < 128; }

}  // namespace

QColor severityText(Severity s, const QPalette& palette) {
  const bool dark = isDark(palette);
  switch (s) {
    case Severity::kGood: return dark ? QColor(110, 210, 120) : QColor(20, 130, 45);
    case Severity::kWarn: return dark ? QColor(235, 185, 80) : QColor(170, 105, 0);
    case Severity::kBad: return dark ? QColor(255, 110, 105) : QColor(195, 30, 30);
    case Severity::kMuted: return palette.color(QPalette::Disabled, QPalette::Text);
    case Severity::kActive: return dark ? QColor(110, 175, 255) : QColor(20, 90, 190);
    case Severity::kNone: break;
  }
  return palette.color(QPalette::Text);
}

QColor severityRowBackground(Severity s, const QPalette& palette) {
  const bool dark = isDark(palette);
  switch (s) {
    case Severity::kBad: return dark ? QColor(90, 35, 35) : QColor(255, 226, 224);
    case Severity::kWarn: return dark ? QColor(80, 62, 25) : QColor(255, 243, 205);
    case Severity::kGood: return dark ? QColor(30, 70, 40) : QColor(222, 245, 225);
    case Severity::kActive: return dark ? QColor(30, 55, 90) : QColor(222, 235, 255);
    default: break;
  }
  return {};
}

void SeverityDelegate::initStyleOption(QStyleOptionViewItem* option, const QModelIndex& index) const {
  QStyledItemDelegate::initStyleOption(option, index);
  const auto row = static_cast<Severity>(index.data(kRowSeverityRole).toInt());
  if (QColor bg = severityRowBackground(row, option->palette); bg.isValid()) option->backgroundBrush = bg;
  const auto cell = static_cast<Severity>(index.data(kSeverityRole).toInt());
  if (cell != Severity::kNone) {
    option->palette.setColor(QPalette::Text, severityText(cell, option->palette));
    if (cell == Severity::kBad) option->font.setBold(true);
  }
}

}  // namespace sandbank::gui
