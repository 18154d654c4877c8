// Loading the compiled-in presets; see presets.h.
#include "app/presets.h"

#include <QDir>
#include <QFile>

namespace ctx::gui {
namespace {

QString summarize(const nlohmann::json& c) {
  QStringList parts;
  const auto pos = c.value("model", nlohmann::json::object()).value("position", nlohmann::json::object());
  parts << QString::fromStdString(pos.value("type", "rope"));
  const auto rs = c.value("rope_scaling", nlohmann::json());
  if (rs.is_object()) {
    QString s = QString::fromStdString(rs.value("rope_type", rs.value("type", "")));
    if (rs.contains("factor") && rs["factor"].is_number()) s += QString(" ×%1").arg(rs["factor"].get<double>());
    parts << s;
  }
  const auto train = c.value("train", nlohmann::json::object());
  const auto sp = train.value("positions", nlohmann::json::object());
  QString sampler = QString::fromStdString(sp.value("type", "contiguous"));
  if (train.contains("seq_len")) sampler += QString(" @%1").arg(train["seq_len"].get<int64_t>());
  if (train.value("steps", 1) == 0) sampler = "no training (inference-time scaling)";
  parts << sampler;
  return parts.join(" · ");
}

}  // namespace

QString Preset::position() const {
  const auto pos = config.value("model", nlohmann::json::object()).value("position", nlohmann::json::object());
  return QString::fromStdString(pos.value("type", "rope"));
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
