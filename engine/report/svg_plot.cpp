// SVG line plots and heatmaps: axes mapping, tick choice, legends, colour scale.
#include "report/svg_plot.h"

#include <algorithm>
#include <cstdio>
#include <iterator>
#include <numeric>
#include <set>
#include <sstream>

namespace ctx::report {
namespace {

constexpr const char* kPalette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
constexpr size_t kMaxDataTicks = 12;
constexpr size_t kLegendChars = 30;

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

// A mapping from data values to pixels along one axis.
struct Axis {
  double lo = 0, hi = 1;
  bool log = false;
  double p0 = 0, p1 = 1;  // pixels of lo and hi
  double t(double v) const { return log ? std::log10(v) : v; }
  double px(double v) const {
    const double a = t(lo), b = t(hi);
    return b == a ? (p0 + p1) / 2 : p0 + (t(v) - a) / (b - a) * (p1 - p0);
  }
  bool ok(double v) const { return std::isfinite(v) && (!log || v > 0); }
};

std::vector<double> nice_ticks(double lo, double hi, bool log) {
  std::vector<double> out;
  if (log) {
    for (int e = static_cast<int>(std::floor(std::log10(lo))) - 1;
         e <= static_cast<int>(std::ceil(std::log10(hi))); ++e)
      for (double m : {1.0, 2.0, 5.0}) {
        const double v = m * std::pow(10.0, e);
        if (v >= lo * 0.999 && v <= hi * 1.001) out.push_back(v);
      }
    if (out.size() > 8) {  // many decades: powers of ten only
      std::vector<double> tens;
      for (double v : out)
        if (std::abs(std::log10(v) - std::round(std::log10(v))) < 1e-9) tens.push_back(v);
      out = tens;
    }
    if (out.size() < 2) out = {lo, hi};
    return out;
  }
  const double span = hi - lo;
  const double raw = span / 5, mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  for (double v = std::ceil(lo / step) * step; v <= hi + step * 1e-9; v += step)
    out.push_back(std::abs(v) < step * 1e-9 ? 0.0 : v);
  return out;
}

// The data range of one axis, widened a little on linear axes and when flat.
void fit_range(Axis& a, const std::vector<double>& values) {
  std::vector<double> v;
  for (double x : values)
    if (a.ok(x)) v.push_back(x);
  if (v.empty()) {
    a.lo = a.log ? 1 : 0;
    a.hi = a.log ? 10 : 1;
    return;
  }
  a.lo = *std::min_element(v.begin(), v.end());
  a.hi = *std::max_element(v.begin(), v.end());
  if (a.lo == a.hi) {
    a.lo = a.log ? a.lo / 2 : a.lo - 0.5;
    a.hi = a.log ? a.hi * 2 : a.hi + 0.5;
  } else if (a.log) {
    a.lo /= 1.1;
    a.hi *= 1.1;
  } else {
    const double pad = (a.hi - a.lo) * 0.05;
    a.lo -= pad;
    a.hi += pad;
  }
}

std::string text(double x, double y, const std::string& s, const std::string& extra = "") {
  return "<text x=\"" + num(x) + "\" y=\"" + num(y) + "\"" + (extra.empty() ? "" : " " + extra) +
         ">" + xml_escape(s) + "</text>";
}

std::string svg_open(int w, int h) {
  return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(w) +
         "\" height=\"" + std::to_string(h) + "\" viewBox=\"0 0 " + std::to_string(w) + " " +
         std::to_string(h) +
         "\" font-family=\"sans-serif\" font-size=\"11\">"
         "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>";
}

std::string clipped(const std::string& s, size_t n) {
  return s.size() <= n ? s : s.substr(0, n - 1) + "~";
}

// Viridis at 5 stops, linearly interpolated.
std::string colour(double t) {
  static const double stops[5][3] = {
      {68, 1, 84}, {59, 82, 139}, {33, 145, 140}, {94, 201, 98}, {253, 231, 37}};
  t = std::clamp(t, 0.0, 1.0) * 4;
  const int i = std::min(3, static_cast<int>(t));
  const double f = t - i;
  char buf[8];
  std::snprintf(buf, sizeof buf, "#%02x%02x%02x",
                static_cast<int>(stops[i][0] + f * (stops[i + 1][0] - stops[i][0])),
                static_cast<int>(stops[i][1] + f * (stops[i + 1][1] - stops[i][1])),
                static_cast<int>(stops[i][2] + f * (stops[i + 1][2] - stops[i][2])));
  return buf;
}

}  // namespace

std::string xml_escape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&quot;"; break;
        case '\'': out += "&#39;"; break;
        default:
          if (c >= 0x20 || c == '\n' || c == '\t') out += static_cast<char>(c);
      }
      ++i;
      continue;
    }
    const size_t n = (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    bool valid = n > 0 && i + n <= s.size();
    for (size_t k = 1; valid && k < n; ++k)
      valid = (static_cast<unsigned char>(s[i + k]) & 0xC0) == 0x80;
    if (valid) {
      out.append(s.substr(i, n));
      i += n;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

std::string tick_label(double v) {
  if (std::abs(v - std::round(v)) < 1e-9 && std::abs(v) < 1e15)
    return std::to_string(static_cast<long long>(std::llround(v)));
  std::ostringstream s;
  s.precision(3);
  s << v;
  return s.str();
}

std::string line_plot_svg(const LinePlot& p) {
  const double left = 64, right = 190, top = 30, bottom = 46;
  Axis ax{0, 1, p.log_x, left, p.width - right};
  Axis ay{0, 1, p.log_y, p.height - bottom, top};
  std::vector<double> xs, ys;
  for (const auto& s : p.series) {
    xs.insert(xs.end(), s.x.begin(), s.x.end());
    ys.insert(ys.end(), s.y.begin(), s.y.end());
  }
  fit_range(ax, xs);
  fit_range(ay, ys);
  if (std::isfinite(p.y_min)) ay.lo = p.y_min;
  if (std::isfinite(p.y_max)) ay.hi = p.y_max;
  std::string out = svg_open(p.width, p.height);
  out += text(p.width / 2.0, 18, p.title, "text-anchor=\"middle\" font-size=\"13\"");
  // Ticks and grid.
  std::set<double> distinct;
  for (double x : xs)
    if (ax.ok(x)) distinct.insert(x);
  std::vector<double> xt = distinct.size() <= kMaxDataTicks && !distinct.empty()
                               ? std::vector<double>(distinct.begin(), distinct.end())
                               : nice_ticks(ax.lo, ax.hi, ax.log);
  for (double v : xt) {
    const double x = ax.px(v);
    out += "<line x1=\"" + num(x) + "\" y1=\"" + num(top) + "\" x2=\"" + num(x) + "\" y2=\"" +
           num(p.height - bottom) + "\" stroke=\"#e5e5e5\"/>";
    out += text(x, p.height - bottom + 14, tick_label(v), "text-anchor=\"middle\"");
  }
  for (double v : nice_ticks(ay.lo, ay.hi, ay.log)) {
    const double y = ay.px(v);
    out += "<line x1=\"" + num(left) + "\" y1=\"" + num(y) + "\" x2=\"" + num(p.width - right) +
           "\" y2=\"" + num(y) + "\" stroke=\"#e5e5e5\"/>";
    out += text(left - 6, y + 4, tick_label(v), "text-anchor=\"end\"");
  }
  out += "<rect x=\"" + num(left) + "\" y=\"" + num(top) + "\" width=\"" +
         num(p.width - right - left) + "\" height=\"" + num(p.height - bottom - top) +
         "\" fill=\"none\" stroke=\"#333333\"/>";
  out += text((left + p.width - right) / 2, p.height - 8,
              p.x_label + (p.log_x ? " (log)" : ""), "text-anchor=\"middle\"");
  out += text(14, (top + p.height - bottom) / 2, p.y_label + (p.log_y ? " (log)" : ""),
              "text-anchor=\"middle\" transform=\"rotate(-90 14 " +
                  num((top + p.height - bottom) / 2) + ")\"");
  if (p.series.empty() || xs.empty())
    out += text((left + p.width - right) / 2, (top + p.height - bottom) / 2, "no data",
                "text-anchor=\"middle\" fill=\"#888888\"");
  // Series and legend.
  for (size_t i = 0; i < p.series.size(); ++i) {
    const auto& s = p.series[i];
    const std::string c = kPalette[i % std::size(kPalette)];
    std::string pts, marks;
    const auto flush = [&] {
      if (!pts.empty())
        out += "<polyline fill=\"none\" stroke=\"" + c + "\" stroke-width=\"1.8\" points=\"" +
               pts + "\"/>";
      pts.clear();
    };
    for (size_t k = 0; k < std::min(s.x.size(), s.y.size()); ++k) {
      if (!ax.ok(s.x[k]) || !ay.ok(s.y[k]) || s.y[k] < ay.lo || s.y[k] > ay.hi) {
        flush();
        continue;
      }
      const std::string x = num(ax.px(s.x[k])), y = num(ay.px(s.y[k]));
      pts += (pts.empty() ? "" : " ") + x + "," + y;
      marks += "<circle cx=\"" + x + "\" cy=\"" + y + "\" r=\"2.8\" fill=\"" + c + "\"/>";
    }
    flush();
    out += marks;
    const double ly = top + 8 + 16 * static_cast<double>(i);
    out += "<rect x=\"" + num(p.width - right + 12) + "\" y=\"" + num(ly - 8) +
           "\" width=\"12\" height=\"4\" fill=\"" + c + "\"/>";
    out += text(p.width - right + 30, ly - 2, clipped(s.name, kLegendChars));
  }
  return out + "</svg>";
}

std::string heatmap_svg(const Heatmap& h) {
  const double left = 24 + 7.0 * static_cast<double>(std::accumulate(
                                h.rows.begin(), h.rows.end(), size_t{0},
                                [](size_t m, const std::string& r) { return std::max(m, r.size()); })),
               top = 30, bar = 90;
  const double grid_w = h.cell_width * static_cast<double>(h.columns.size()),
               grid_h = h.cell_height * static_cast<double>(h.rows.size());
  const int width = static_cast<int>(left + grid_w + bar), height = static_cast<int>(top + grid_h + 44);
  std::string out = svg_open(std::max(width, 240), height);
  out += text(8, 18, h.title, "font-size=\"13\"");
  const double span = h.v_max > h.v_min ? h.v_max - h.v_min : 1;
  for (size_t r = 0; r < h.rows.size(); ++r) {
    const double y = top + h.cell_height * static_cast<double>(r);
    out += text(left - 6, y + h.cell_height / 2.0 + 4, h.rows[r], "text-anchor=\"end\"");
    for (size_t c = 0; c < h.columns.size(); ++c) {
      const double x = left + h.cell_width * static_cast<double>(c);
      const double v = r < h.values.size() && c < h.values[r].size() ? h.values[r][c] : NAN;
      const bool has = std::isfinite(v);
      const double t = has ? (v - h.v_min) / span : 0;
      out += "<rect x=\"" + num(x) + "\" y=\"" + num(y) + "\" width=\"" +
             std::to_string(h.cell_width) + "\" height=\"" + std::to_string(h.cell_height) +
             "\" fill=\"" + (has ? colour(t) : std::string("#f4f4f4")) +
             "\" stroke=\"#ffffff\"/>";
      if (has)
        out += text(x + h.cell_width / 2.0, y + h.cell_height / 2.0 + 4, tick_label(std::round(v * 100) / 100),
                    std::string("text-anchor=\"middle\" fill=\"") + (t > 0.6 ? "#000000" : "#ffffff") + "\"");
    }
  }
  for (size_t c = 0; c < h.columns.size(); ++c)
    out += text(left + h.cell_width * (static_cast<double>(c) + 0.5), top + grid_h + 14,
                h.columns[c], "text-anchor=\"middle\"");
  out += text(left + grid_w / 2, top + grid_h + 32, h.x_label, "text-anchor=\"middle\"");
  out += text(8, top + grid_h + 32, h.y_label);
  // Colour bar.
  const double bx = left + grid_w + 20;
  for (int i = 0; i < 20; ++i)
    out += "<rect x=\"" + num(bx) + "\" y=\"" + num(top + grid_h - (i + 1) * grid_h / 20) +
           "\" width=\"14\" height=\"" + num(grid_h / 20 + 0.5) + "\" fill=\"" +
           colour((i + 0.5) / 20) + "\"/>";
  out += text(bx + 18, top + 10, tick_label(h.v_max));
  out += text(bx + 18, top + grid_h, tick_label(h.v_min));
  return out + "</svg>";
}

}  // namespace ctx::report
