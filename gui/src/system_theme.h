// How the desktop wants the app coloured. Qt 6.4 has no colour-scheme API, so this reads
// the freedesktop appearance setting (org.freedesktop.appearance color-scheme, which GNOME
// and KDE publish through the desktop portal) and follows its SettingChanged signal, so a
// desktop switching to dark switches the app too. Without a portal (no session bus, a bare
// X server, CI) the platform palette's own lightness decides.
// Thread-safety: UI thread only.
#pragma once

#include <QDBusVariant>
#include <QObject>
#include <QPalette>

namespace sandbank::gui {

enum class ColorScheme { kNoPreference, kDark, kLight };

// The portal's value: 1 prefers dark, 2 prefers light, anything else states no preference.
ColorScheme colorSchemeOfPortalValue(uint value);
// Dark when the palette's window is darker than its text, else light.
ColorScheme colorSchemeOfPalette(const QPalette& palette);

class SystemTheme : public QObject {
  Q_OBJECT

 public:
  // Asks the portal once (waiting at most 300 ms) and subscribes to its changes.
  explicit SystemTheme(QObject* parent = nullptr);
  // What the portal said; kNoPreference when there is no portal or it has no opinion.
  ColorScheme portalScheme() const { return portal_; }

 Q_SIGNALS:
  void changed(ColorScheme scheme);

 private Q_SLOTS:
  void settingChanged(const QString& name_space, const QString& key, const QDBusVariant& value);

 private:
  ColorScheme portal_ = ColorScheme::kNoPreference;
};

// The one instance for the application, made on first use.
SystemTheme& systemTheme();

}  // namespace sandbank::gui
