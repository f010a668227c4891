// A compact binary encoding for the FlowEvent fields that a recording never filters on in
// SQL (span ids, real times, method, topic details, store details, size, payload
// type, detail). Packing them into one BLOB column keeps the events row close to the raw
// SQLite baseline's width: each bound column cost the recorder about 3% of its rate.
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include "sandbank/flow/flow_event.h"

namespace sandbank::flow::codec {

// Appends the packed fields of `e` to `out` (cleared first).
void encodeExt(const FlowEvent& e, std::string* out);

// Fills the packed fields of `e` from `bytes`; false when they are malformed.
bool decodeExt(std::string_view bytes, FlowEvent* e);

}  // namespace sandbank::flow::codec
