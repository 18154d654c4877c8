// Small SVG figures for the HTML report, written by the engine (no Qt): line plots with linear or
// log axes, ticks, labels and a legend, and heatmaps with labelled rows and columns and a colour
// bar. The output is a standalone <svg> element (well-formed XML, no external references).
#pragma once

#include <cmath>
#include <string>
#include <string_view>
#include <vector>

namespace ctx::report {

// Text for XML content and attribute values: & < > " ' escaped, control characters dropped,
// invalid UTF-8 bytes replaced by U+FFFD.
std::string xml_escape(std::string_view s);

// A tick label: integers as written ("1024"), others with up to 3 significant digits.
std::string tick_label(double v);

struct Series {
  std::string name;
  std::vector<double> x, y;  // points in order; non-finite y (or <= 0 on a log axis) breaks the line
};

struct LinePlot {
  std::string title, x_label, y_label;
  bool log_x = false, log_y = false;
  double y_min = NAN, y_max = NAN;  // a fixed y range; NaN = from the data
  std::vector<Series> series;
  int width = 720, height = 380;
};

// One polyline with markers per series, colours from a fixed palette, the legend to the right.
// Ticks: the data's distinct x values when there are at most 12 of them, else round values (1, 2,
// 5 x 10^k on log axes). An empty plot says "no data".
std::string line_plot_svg(const LinePlot& p);

struct Heatmap {
  std::string title, x_label, y_label;
  std::vector<std::string> columns, rows;   // labels, left to right and top to bottom
  std::vector<std::vector<double>> values;  // [row][column]; NaN = no value (drawn empty)
  double v_min = 0, v_max = 1;              // the colour scale's ends
  int cell_width = 60, cell_height = 24;
};

// Cells coloured on a viridis-like scale with their value written in, a colour bar with its ends.
std::string heatmap_svg(const Heatmap& h);

}  // namespace ctx::report
