// TableSchema helpers.
// Thread-safety: pure functions on values.
#include "sandbank/store/schema.h"

#include <algorithm>

namespace sandbank::store {

int TableSchema::columnIndex(std::string_view column) const {
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i].name == column) return static_cast<int>(i);
  }
  return -1;
}

void TableSchema::finalize() {
  partition_key.clear();
  clustering.clear();
  regular.clear();
  for (size_t i = 0; i < columns.size(); ++i) {
    switch (columns[i].kind) {
      case ColumnKind::kPartitionKey: partition_key.push_back(static_cast<int>(i)); break;
      case ColumnKind::kClustering: clustering.push_back(static_cast<int>(i)); break;
      case ColumnKind::kRegular: regular.push_back(static_cast<int>(i)); break;
    }
  }
  auto byPosition = [&](int a, int b) { return columns[a].position < columns[b].position; };
  std::sort(partition_key.begin(), partition_key.end(), byPosition);
  std::sort(clustering.begin(), clustering.end(), byPosition);
  for (size_t i = 0; i < regular.size(); ++i) columns[regular[i]].position = static_cast<int>(i);
  partition_key_types.clear();
  for (int i : partition_key) partition_key_types.push_back(columns[i].type);
}

}  // namespace sandbank::store
