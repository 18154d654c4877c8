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

namespace {

// One integer >= least (2 for a length, 1 for a step), or UsageError naming the item.
int64_t length_of(const std::string& item, const std::string& whole, const std::string& option,
                  int64_t least = 2) {
  size_t used = 0;
  long long v = 0;
  try {
    v = std::stoll(item, &used);
  } catch (...) {
    used = 0;
  }
  if (item.empty() || used != item.size() || v < least)
    throw UsageError(option + ": '" + whole + "' is not a length (an integer >= 2, or FROM:TO:STEP)");
  return v;
}

}  // namespace

std::vector<int64_t> parse_lengths(const std::string& csv, const std::string& option) {
  constexpr int64_t kMostLengths = 4096;  // a range past this is surely a typo
  std::vector<int64_t> out;
  auto add = [&out](int64_t v) {  // each length once, in the order given
    if (std::find(out.begin(), out.end(), v) == out.end()) out.push_back(v);
  };
  std::stringstream ss(csv);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    const auto a = item.find(':');
    if (a == std::string::npos) {
      add(length_of(item, item, option));
      continue;
    }
    const auto b = item.find(':', a + 1);
    if (b == std::string::npos) throw UsageError(option + ": '" + item + "' is not a range (FROM:TO:STEP)");
    const int64_t from = length_of(item.substr(0, a), item, option);
    const int64_t to = length_of(item.substr(a + 1, b - a - 1), item, option);
    const int64_t step = length_of(item.substr(b + 1), item, option, 1);
    if (to < from || (to - from) / step >= kMostLengths)
      throw UsageError(option + ": '" + item + "' is not a range of at most " + std::to_string(kMostLengths) +
                       " lengths (FROM <= TO)");
    for (int64_t v = from; v <= to; v += step) add(v);
  }
  if (out.empty()) throw UsageError(option + ": no lengths given");
  return out;
}

std::vector<double> parse_numbers(const std::string& csv, const std::string& option) {
  std::vector<double> out;
  std::stringstream ss(csv);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (item.empty()) continue;
    size_t used = 0;
    double v = 0;
    try {
      v = std::stod(item, &used);
    } catch (...) {
      used = 0;
    }
    if (used != item.size()) throw UsageError(option + ": '" + item + "' is not a number");
    out.push_back(v);
  }
  if (out.empty()) throw UsageError(option + ": no values given");
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
