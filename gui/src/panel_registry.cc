// PanelRegistry: a function-local list, so registration order across files is safe.
#include "panel_registry.h"

#include <algorithm>

namespace sandbank::gui {
namespace {

std::vector<PanelSpec>& panels() {
  static std::vector<PanelSpec> list;
  return list;
}

}  // namespace

bool PanelRegistry::add(PanelSpec spec) {
  panels().push_back(std::move(spec));
  return true;
}

std::vector<PanelSpec> PanelRegistry::all() {
  std::vector<PanelSpec> out = panels();
  std::stable_sort(out.begin(), out.end(), [](const PanelSpec& a, const PanelSpec& b) { return a.order < b.order; });
  return out;
}

}  // namespace sandbank::gui
