// The Hugging Face folder summary and its number formats; see hf_summary.h.
#include "widgets/hf_summary.h"

#include <QStringList>
#include <cmath>

namespace ctx::gui {

using nlohmann::json;

namespace {

QString str(const json& info, const char* key) {
  auto it = info.find(key);
  return it != info.end() && it->is_string() ? QString::fromStdString(it->get<std::string>())
                                             : QString();
}

double num(const json& info, const char* key, double fallback = -1) {
  auto it = info.find(key);
  return it != info.end() && it->is_number() ? it->get<double>() : fallback;
}

QString plain(double v) {
  return QString::number(v, 'g', 10);
}

// Three significant digits, never in exponent form ("531", "1.24", "1023").
QString sig3(double v) {
  return v >= 999.5 ? QString::number(v, 'f', 0) : QString::number(v, 'g', 3);
}

}  // namespace

QString formatCount(double n) {
  if (!std::isfinite(n) || n < 0) return QString();
  struct Unit {
    double scale;
    const char* suffix;
  };
  for (const Unit u : {Unit{1e12, "T"}, Unit{1e9, "B"}, Unit{1e6, "M"}, Unit{1e3, "K"}}) {
    // 999 950 rounds to "1e+03 K" at three digits: such a value belongs to the next unit.
    if (n >= u.scale * 0.9995) return sig3(n / u.scale) + " " + u.suffix;
  }
  return QString::number(n, 'f', 0);
}

QString formatBytes(double bytes) {
  if (!std::isfinite(bytes) || bytes < 0) return QString();
  const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  if (bytes < 1024) return QString("%1 bytes").arg(bytes, 0, 'f', 0);
  double v = bytes / 1024;
  int u = 0;
  while (v >= 1023.5 && u < 3) {
    v /= 1024;
    ++u;
  }
  return sig3(v) + " " + units[u];
}

QString ropeScalingText(const json& block) {
  if (!block.is_object() || block.empty()) return "none";
  QString type = str(block, "rope_type");
  if (type.isEmpty()) type = str(block, "type");  // Hugging Face's legacy key
  if (type.isEmpty()) type = "scaling";
  QString out = type;
  if (const double f = num(block, "factor"); f > 0) out += " ×" + plain(f);
  if (const double o = num(block, "original_max_position_embeddings"); o > 0)
    out += " from " + plain(o);
  return out;
}

QList<QPair<QString, QString>> hfSummaryRows(const json& info) {
  QList<QPair<QString, QString>> rows;
  if (!info.is_object()) return rows;
  if (const QString a = str(info, "architecture"); !a.isEmpty()) rows.append({"architecture", a});
  QStringList shape;
  if (const double l = num(info, "layers"); l > 0) shape << plain(l) + " layers";
  if (const double h = num(info, "hidden_size"); h > 0) shape << "hidden " + plain(h);
  if (const double h = num(info, "heads"); h > 0) {
    QString heads = plain(h) + " heads";
    const double kv = num(info, "kv_heads");
    if (kv > 0 && kv != h) heads += " (" + plain(kv) + " KV)";
    if (const double d = num(info, "head_dim"); d > 0) heads += " × " + plain(d);
    shape << heads;
  }
  if (!shape.isEmpty()) rows.append({"shape", shape.join(" · ")});
  if (const double p = num(info, "parameters"); p >= 0) rows.append({"parameters", formatCount(p)});
  if (const double c = num(info, "max_position_embeddings"); c > 0) {
    QString ctx = plain(c) + " tokens";
    if (const double w = num(info, "sliding_window", 0); w > 0)
      ctx += " · sliding window " + plain(w);
    rows.append({"native context", ctx});
  }
  if (info.contains("rope_theta") || info.contains("rope_scaling")) {
    QStringList rope;
    if (const double t = num(info, "rope_theta"); t > 0) rope << "θ " + plain(t);
    const json scaling = info.value("rope_scaling", json());
    rope << (scaling.is_object() ? "scaling " + ropeScalingText(scaling) : QString("no scaling"));
    rows.append({"RoPE", rope.join(" · ")});
  }
  if (const json tok = info.value("tokenizer", json()); tok.is_object()) {
    QString t = str(tok, "kind");
    if (const double v = num(tok, "vocab_size"); v > 0)
      t += (t.isEmpty() ? "" : " · ") + plain(v) + " tokens";
    rows.append({"tokenizer", t});
  } else if (info.contains("tokenizer")) {
    rows.append({QString("tokenizer"), QString("none in the folder")});
  }
  if (const json w = info.value("weights", json()); w.is_object()) {
    QStringList parts;
    if (const QString d = str(w, "dtype"); !d.isEmpty()) parts << d;
    QString size = formatBytes(num(w, "bytes"));
    const auto files = w.value("files", json::array());
    if (files.is_array() && !files.empty())
      size += QString(" in %1 file%2").arg(files.size()).arg(files.size() == 1 ? "" : "s");
    if (!size.trimmed().isEmpty()) parts << size.trimmed();
    rows.append({"weights", parts.join(" · ")});
  }
  return rows;
}

}  // namespace ctx::gui
