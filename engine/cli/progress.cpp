// Progress output: JSON lines on stdout with --json; otherwise a bar on a terminal (stderr), or a
// line every few seconds when stderr is a file.
#include "cli/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>

namespace ctx::cli {
namespace {

std::string hms(double s) {
  if (!(s >= 0) || s > 1e7) return "--:--";
  const long t = static_cast<long>(s + 0.5);
  char buf[32];
  if (t >= 3600) std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
  else std::snprintf(buf, sizeof buf, "%02ld:%02ld", t / 60, t % 60);
  return buf;
}

class JsonSink : public EventSink {
 public:
  void on_start(int64_t run_id, const nlohmann::json& info) override {
    emit({{"event", "start"}, {"run_id", run_id}, {"info", info}});
  }
  void on_step(const StepEvent& e) override {
    emit({{"event", "step"}, {"step", e.step}, {"total", e.total}, {"loss", e.loss}, {"lr", e.lr},
          {"grad_norm", e.grad_norm}, {"tokens_per_s", e.tokens_per_s}, {"elapsed_s", e.elapsed_s},
          {"eta_s", e.eta_s}, {"tokens_seen", e.tokens_seen}});
  }
  void on_eval(const EvalEvent& e) override {
    emit({{"event", "eval"}, {"task", e.task}, {"mode", e.mode}, {"length", e.length}, {"loss", e.loss},
          {"ppl", e.ppl}, {"tokens", e.tokens}, {"tokens_per_s", e.tokens_per_s}});
  }
  void on_progress(const ProgressEvent& e) override {
    emit({{"event", "progress"}, {"done", e.done}, {"total", e.total}, {"what", e.what}});
  }
  void on_message(const std::string& level, const std::string& text) override {
    emit({{"event", "message"}, {"level", level}, {"text", text}});
    if (level == "warning") std::cerr << "warning: " << text << "\n";
  }

 private:
  static void emit(const nlohmann::json& j) { std::cout << j.dump() << std::endl; }
};

class HumanSink : public EventSink {
 public:
  HumanSink() : tty_(isatty(2) != 0) {}
  void on_start(int64_t run_id, const nlohmann::json& info) override {
    std::cerr << "run " << run_id << " '" << info.value("name", "") << "': " << info.value("parameters", 0)
              << " parameters on " << info.value("device", "") << ", " << info.value("train_docs", 0)
              << " training / " << info.value("validation_docs", 0) << " validation documents\n";
  }
  void on_step(const StepEvent& e) override {
    const auto now = std::chrono::steady_clock::now();
    const bool last = e.step == e.total;
    if (!tty_ && !last && std::chrono::duration<double>(now - last_).count() < 5.0) return;
    if (tty_ && !last && std::chrono::duration<double>(now - last_).count() < 0.1) return;
    last_ = now;
    const int width = 28;
    const int filled = e.total > 0 ? static_cast<int>(width * e.step / e.total) : width;
    std::string bar(static_cast<size_t>(filled), '#');
    bar.resize(width, '.');
    char line[256];
    std::snprintf(line, sizeof line, "step %lld/%lld [%s] loss %.4f lr %.2e %.0f tok/s elapsed %s eta %s",
                  static_cast<long long>(e.step), static_cast<long long>(e.total), bar.c_str(), e.loss, e.lr,
                  e.tokens_per_s, hms(e.elapsed_s).c_str(), hms(e.eta_s).c_str());
    if (tty_) std::cerr << "\r" << line << "\033[K" << (last ? "\n" : "") << std::flush;
    else std::cerr << line << "\n";
  }
  void on_eval(const EvalEvent& e) override {
    char line[160];
    std::snprintf(line, sizeof line, "eval %-10s length %6lld  loss %.4f  ppl %9.3f  (%lld tokens)", e.mode.c_str(),
                  static_cast<long long>(e.length), e.loss, e.ppl, static_cast<long long>(e.tokens));
    std::cerr << line << "\n";
  }
  void on_progress(const ProgressEvent& e) override {
    const auto now = std::chrono::steady_clock::now();
    const bool last = e.done >= e.total;
    const double gap = std::chrono::duration<double>(now - last_).count();
    if (!last && gap < (tty_ ? 0.1 : 5.0)) return;
    last_ = now;
    if (e.done <= 0 || progress_start_ == std::chrono::steady_clock::time_point{}) progress_start_ = now;
    const double elapsed = std::chrono::duration<double>(now - progress_start_).count();
    const double eta = e.done > 0 ? elapsed * static_cast<double>(e.total - e.done) / static_cast<double>(e.done) : -1;
    const int width = 28;
    const int filled = e.total > 0 ? static_cast<int>(width * e.done / e.total) : width;
    std::string bar(static_cast<size_t>(std::clamp(filled, 0, width)), '#');
    bar.resize(width, '.');
    char line[256];
    std::snprintf(line, sizeof line, "%lld/%lld [%s] %s elapsed %s eta %s", static_cast<long long>(e.done),
                  static_cast<long long>(e.total), bar.c_str(), e.what.c_str(), hms(elapsed).c_str(), hms(eta).c_str());
    if (tty_) std::cerr << "\r" << line << "\033[K" << (last ? "\n" : "") << std::flush;
    else std::cerr << line << "\n";
  }
  void on_message(const std::string& level, const std::string& text) override {
    std::cerr << (level == "warning" ? "warning: " : "") << text << "\n";
  }

 private:
  bool tty_;
  std::chrono::steady_clock::time_point last_{}, progress_start_{};
};

}  // namespace

std::unique_ptr<EventSink> make_event_sink(bool json) {
  if (json) return std::make_unique<JsonSink>();
  return std::make_unique<HumanSink>();
}

}  // namespace ctx::cli
