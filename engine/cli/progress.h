// Event sinks of the CLI: a progress bar with ETA and tokens/s for a terminal, JSON event lines
// ({"event":"step",...}) for programs such as the window, plain lines otherwise.
#pragma once

#include <chrono>
#include <memory>

#include "train/events.h"

namespace ctx::cli {

std::unique_ptr<EventSink> make_event_sink(bool json);

}  // namespace ctx::cli
