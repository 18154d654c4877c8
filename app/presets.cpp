// Loading the compiled-in presets; see presets.h.
#include "app/presets.h"

#include <QDir>
#include <QFile>

namespace ctx::gui {

std::string methodName(const nlohmann::json& entry, const std::string& fallback) {
  if (entry.is_string()) return entry.get<std::string>();
  if (entry.is_object() && entry.contains("type") && entry["type"].is_string()) return entry["type"].get<std::string>();
  return fallback;
}

QString positionOf(const nlohmann::json& config) {
  const auto model = config.is_object() ? config.value("model", nlohmann::json::object()) : nlohmann::json::object();
  return QString::fromStdString(methodName(model.is_object() ? model.value("position", nlohmann::json()) : nlohmann::json(), "rope"));
}

namespace {

QString summarize(const nlohmann::json& c) {
  QStringList parts;
  parts << positionOf(c);
  const auto rs = c.value("rope_scaling", nlohmann::json());
  if (rs.is_object()) {
    QString s = QString::fromStdString(methodName(rs.contains("rope_type") ? rs["rope_type"] : rs.value("type", nlohmann::json()), ""));
    if (rs.contains("factor") && rs["factor"].is_number()) s += QString(" ×%1").arg(rs["factor"].get<double>());
    parts << s;
  }
  const auto train = c.value("train", nlohmann::json::object());
  QString sampler = QString::fromStdString(methodName(train.value("positions", nlohmann::json()), "contiguous"));
  if (train.contains("seq_len")) sampler += QString(" @%1").arg(train["seq_len"].get<int64_t>());
  if (train.value("steps", 1) == 0) sampler = "no training (inference-time scaling)";
  parts << sampler;
  return parts.join(" · ");
}

}  // namespace

QString Preset::position() const {
  return positionOf(config);
}

std::vector<Preset> loadPresets(const QString& dir) {
  std::vector<Preset> out;
  const auto files = QDir(dir).entryList({"*.json"}, QDir::Files, QDir::Name);
  for (const auto& f : files) {
    QFile file(dir + "/" + f);
    if (!file.open(QIODevice::ReadOnly)) continue;
    auto j = nlohmann::json::parse(file.readAll().toStdString(), nullptr, false);
    if (!j.is_object()) continue;
    Preset p;
    p.name = f.chopped(5);
    p.config = j;
    if (j.contains("init") && j["init"].is_object() && j["init"].contains("run_named"))
      p.base = QString::fromStdString(j["init"]["run_named"].get<std::string>());
    p.summary = summarize(j);
    out.push_back(std::move(p));
  }
  return out;
}

const Preset* findPreset(const std::vector<Preset>& all, const QString& name) {
  for (const auto& p : all)
    if (p.name == name) return &p;
  return nullptr;
}

QStringList quickstartStudyMethods() {
  return {"pi", "ntk", "yarn", "pose", "cream-pi"};
}

}  // namespace ctx::gui
