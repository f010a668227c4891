// SystemTheme over the desktop portal's Settings interface (Read, SettingChanged).
#include "system_theme.h"

#include <QDBusConnection>
#include <QDBusMessage>

namespace sandbank::gui {
namespace {

constexpr const char* kPortal = "org.freedesktop.portal.Desktop";
constexpr const char* kPath = "/org/freedesktop/portal/desktop";
constexpr const char* kSettings = "org.freedesktop.portal.Settings";
constexpr const char* kAppearance = "org.freedesktop.appearance";
constexpr const char* kColorScheme = "color-scheme";

// Read answers variant<variant<uint>>; SettingChanged carries variant<uint>.
uint unwrap(QVariant v) {
  for (int depth = 0; depth < 4 && v.canConvert<QDBusVariant>(); ++depth) v = qvariant_cast<QDBusVariant>(v).variant();
  return v.toUInt();
}

}  // namespace

ColorScheme colorSchemeOfPortalValue(uint value) {
  if (value == 1) return ColorScheme::kDark;
  if (value == 2) return ColorScheme::kLight;
  return ColorScheme::kNoPreference;
}

ColorScheme colorSchemeOfPalette(const QPalette& palette) {
  return palette.color(QPalette::Window).lightness() < palette.color(QPalette::WindowText).lightness()
             ? ColorScheme::kDark
             : ColorScheme::kLight;
}

SystemTheme::SystemTheme(QObject* parent) : QObject(parent) {
  QDBusConnection bus = QDBusConnection::sessionBus();
  if (!bus.isConnected()) return;
  QDBusMessage read = QDBusMessage::createMethodCall(kPortal, kPath, kSettings, "Read");
  read << QString(kAppearance) << QString(kColorScheme);
  const QDBusMessage reply = bus.call(read, QDBus::Block, 300);
  if (reply.type() == QDBusMessage::ReplyMessage && !reply.arguments().isEmpty()) {
    portal_ = colorSchemeOfPortalValue(unwrap(reply.arguments().constFirst()));
  }
  bus.connect(kPortal, kPath, kSettings, "SettingChanged", this,
              SLOT(settingChanged(QString, QString, QDBusVariant)));
}

void SystemTheme::settingChanged(const QString& name_space, const QString& key, const QDBusVariant& value) {
  if (name_space != kAppearance || key != kColorScheme) return;
  const ColorScheme now = colorSchemeOfPortalValue(unwrap(value.variant()));
  if (now == portal_) return;
  portal_ = now;
  Q_EMIT changed(now);
}

SystemTheme& systemTheme() {
  static SystemTheme* theme = new SystemTheme();  // lives as long as the application
  return *theme;
}

}  // namespace sandbank::gui
