// Output helpers shared by the verbs.
#include "cli/cli_common.h"

#include "data/interrupt.h"

#include <algorithm>
#include <ctime>
#include <iostream>
#include <sstream>

namespace ctx::cli {

void print_json(const nlohmann::json& j) { std::cout << j.dump() << std::endl; }

int exit_status_of(const std::exception& e) {
  if (const auto* i = dynamic_cast<const Interrupted*>(&e)) return exit_status_for_signal(i->signal);
  return dynamic_cast<const InputError*>(&e) ? 2 : 1;
}

std::string one_line(const std::string& msg) { return msg.substr(0, msg.find('\n')); }

std::vector<int64_t> parse_lengths(const std::string& csv, const std::string& option) {
  std::vector<int64_t> out;
  std::stringstream ss(csv);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(item, &used);
    } catch (...) {
      used = 0;
    }
    if (used != item.size() || v < 2) throw UsageError(option + ": '" + item + "' is not a length (an integer >= 2)");
    if (std::find(out.begin(), out.end(), v) == out.end()) out.push_back(v);  // once each
  }
  if (out.empty()) throw UsageError(option + ": no lengths given");
  return out;
}

std::string format_time(double t) {
  if (t <= 0) return "-";
  std::time_t tt = static_cast<std::time_t>(t);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", std::localtime(&tt));
  return buf;
}

std::string format_number(double v, int precision) {
  std::ostringstream s;
  s.precision(precision);
  s << v;
  return s.str();
}

}  // namespace ctx::cli
