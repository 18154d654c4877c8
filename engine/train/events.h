// What a running job reports as it goes: the CLI turns these into a progress bar or JSON event
// lines (which the window follows), tests collect them.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

namespace ctx {

struct StepEvent {
  int64_t step = 0, total = 0;
  double loss = 0, lr = 0, grad_norm = 0;
  double tokens_per_s = 0, elapsed_s = 0, eta_s = 0;
  int64_t tokens_seen = 0;
};

struct EvalEvent {
  std::string task = "ppl";
  std::string mode;
  int64_t length = 0;
  double loss = 0, ppl = 0;
  int64_t tokens = 0;
  double tokens_per_s = 0;
};

// Work done so far in a long evaluation ("longdoc 8192", "ruler vt 4096"): `done` of `total`
// units (windows, prompts) of the whole call.
struct ProgressEvent {
  int64_t done = 0, total = 0;
  std::string what;
};

class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void on_start(int64_t /*run_id*/, const nlohmann::json& /*info*/) {}
  virtual void on_step(const StepEvent& /*e*/) {}
  virtual void on_eval(const EvalEvent& /*e*/) {}
  virtual void on_progress(const ProgressEvent& /*e*/) {}
  // level: "info" | "warning"
  virtual void on_message(const std::string& /*level*/, const std::string& /*text*/) {}
};

}  // namespace ctx
