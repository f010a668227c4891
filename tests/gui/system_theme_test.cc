// The colour scheme: the desktop portal's values, a palette's lightness, and applyTheme
// honouring each choice (offscreen there is no portal, so "system" follows the palette).
#include <QApplication>
#include <QStyle>
#include <QTest>

#include "main_window.h"
#include "system_theme.h"

namespace sandbank::gui {

class SystemThemeTest : public QObject {
  Q_OBJECT

 private Q_SLOTS:
  void portalValuesMapToDarkLightOrNoPreference() {
    QCOMPARE(colorSchemeOfPortalValue(1), ColorScheme::kDark);
    QCOMPARE(colorSchemeOfPortalValue(2), ColorScheme::kLight);
    QCOMPARE(colorSchemeOfPortalValue(0), ColorScheme::kNoPreference);
    QCOMPARE(colorSchemeOfPortalValue(7), ColorScheme::kNoPreference);
  }

  void aPaletteIsDarkWhenItsWindowIsDarkerThanItsText() {
    QPalette dark;
    dark.setColor(QPalette::Window, QColor(30, 30, 30));
    dark.setColor(QPalette::WindowText, QColor(230, 230, 230));
    QCOMPARE(colorSchemeOfPalette(dark), ColorScheme::kDark);
    QCOMPARE(colorSchemeOfPalette(QApplication::style()->standardPalette()), ColorScheme::kLight);
  }

  void eachChoiceGivesItsSchemeAndOnlyTheThreeNamesAreThemes() {
    applyTheme("dark");
    QCOMPARE(colorSchemeOfPalette(QApplication::palette()), ColorScheme::kDark);
    applyTheme("light");
    QCOMPARE(colorSchemeOfPalette(QApplication::palette()), ColorScheme::kLight);
    // Offscreen has no session bus: no portal preference, so the platform palette decides.
    QCOMPARE(systemTheme().portalScheme(), ColorScheme::kNoPreference);
    applyTheme("system");
    QCOMPARE(colorSchemeOfPalette(QApplication::palette()), ColorScheme::kLight);
    QVERIFY(isTheme("system") && isTheme("dark") && isTheme("light"));
    QVERIFY(!isTheme("Dark") && !isTheme("blue") && !isTheme(""));
  }
};

}  // namespace sandbank::gui

QTEST_MAIN(sandbank::gui::SystemThemeTest)
#include "system_theme_test.moc"
