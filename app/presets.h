// The presets compiled into the window (":/presets/*.json"): the configurator starts from them
// and studies pick their fine-tunes among them.
#pragma once

#include <QString>
#include <QStringList>

#include <nlohmann/json.hpp>
#include <vector>

namespace ctx::gui {

struct Preset {
  QString name;         // file stem, e.g. "yarn"
  nlohmann::json config;
  QString base;         // init.run_named: the base run it fine-tunes ("" = trains from scratch)
  QString summary;      // "rope · yarn ×8 · contiguous @512", for lists
  QString position() const;
};

// A method entry of a config ("rope" or {"type": "rope", ...}) as its name, `fallback` if absent.
std::string methodName(const nlohmann::json& entry, const std::string& fallback);
// The position scheme of a config (model.position).
QString positionOf(const nlohmann::json& config);

std::vector<Preset> loadPresets(const QString& dir = ":/presets");
const Preset* findPreset(const std::vector<Preset>& all, const QString& name);

// The fine-tunes of the quickstart study offered on first launch: few enough that base + these
// finish within 10 minutes on 2 cores, varied enough to show what the methods do.
QStringList quickstartStudyMethods();

}  // namespace ctx::gui
