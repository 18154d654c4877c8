// DataCache: merging follower batches; see data_cache.h.
#include "widgets/data_cache.h"

#include <algorithm>

namespace ctx::gui {

DataCache::DataCache(QObject* parent) : QObject(parent) {}

const store::RunSummary* DataCache::summary(int64_t run) const {
  auto it = runs_.find(run);
  return it == runs_.end() ? nullptr : &it->second;
}

const RunDetail* DataCache::detail(int64_t run) const {
  auto it = details_.find(run);
  return it == details_.end() ? nullptr : &it->second;
}

const store::Study* DataCache::study(int64_t id) const {
  for (const auto& s : studies_)
    if (s.id == id) return &s;
  return nullptr;
}

const DataCache::ParsedConfig& DataCache::parsed(int64_t run) const {
  static const ParsedConfig empty{nlohmann::json::object(), {}};
  auto it = configs_.find(run);
  if (it != configs_.end()) return it->second;
  const auto* s = summary(run);
  if (!s) return empty;
  ParsedConfig p;
  p.config = nlohmann::json::parse(s->run.config_json, nullptr, false);
  if (!p.config.is_object()) p.config = nlohmann::json::object();
  if (auto r = p.config.find("_resolved"); r != p.config.end() && r->is_object()) {
    auto b = r->find("base_model");
    if (b != r->end() && b->is_string()) p.base_model = b->get<std::string>();
  }
  p.config.erase("_given");
  p.config.erase("_resolved");
  return configs_.emplace(run, std::move(p)).first->second;
}

const nlohmann::json& DataCache::config(int64_t run) const { return parsed(run).config; }

const std::string& DataCache::baseModel(int64_t run) const { return parsed(run).base_model; }

void DataCache::setWatched(const QVector<qint64>& runs) {
  if (runs == watched_) return;
  watched_ = runs;
  for (auto it = details_.begin(); it != details_.end();) {
    if (!runs.contains(it->first)) {
      it = details_.erase(it);
    } else {
      ++it;
    }
  }
  emit watchedChanged(runs);
}

void DataCache::requestArtifact(qint64 run, const std::string& name, int64_t step) {
  if (auto* d = detail(run); d && d->blobs.count({name, step})) return;
  if (!pending_.insert({run, name, step}).second) return;
  emit artifactWanted(run, QString::fromStdString(name), step);
}

void DataCache::patchSummary(const store::RunSummary& s) {
  const bool added = !runs_.count(s.run.id);
  runs_[s.run.id] = s;
  configs_.erase(s.run.id);
  if (added) rebuild_order();
  emit runsChanged({s.run.id}, added);
}

void DataCache::removeRun(int64_t run) {
  if (!runs_.erase(run)) return;
  details_.erase(run);
  configs_.erase(run);
  rebuild_order();
  emit runsChanged({run}, true);
}

void DataCache::rebuild_order() {
  order_.clear();
  order_.reserve(runs_.size());
  for (const auto& [id, s] : runs_) order_.push_back(id);
  std::sort(order_.begin(), order_.end(), std::greater<>());
}

void DataCache::applySummaries(SummaryBatchPtr batch) {
  QSet<qint64> ids;
  bool structural = batch->full;
  if (batch->full) {
    runs_.clear();
    configs_.clear();
  }
  for (const auto& s : batch->runs) {
    ids.insert(s.run.id);
    auto it = runs_.find(s.run.id);
    if (it == runs_.end()) {
      structural = true;
      runs_.emplace(s.run.id, s);
    } else {
      it->second = s;
    }
    configs_.erase(s.run.id);
  }
  studies_ = batch->studies;
  if (structural) rebuild_order();
  emit runsChanged(ids, structural);
}

void DataCache::applyDetails(DetailBatchPtr batch) {
  QSet<qint64> ids;
  for (const auto& d : *batch) {
    if (!watched_.contains(d.run)) continue;  // unwatched while the batch was in flight
    d.apply_to(details_[d.run]);
    ids.insert(d.run);
  }
  if (!ids.isEmpty()) emit detailsChanged(ids);
}

void DataCache::applyArtifact(qint64 run, ArtifactPtr artifact) {
  pending_.erase({run, artifact->name, artifact->step});
  auto it = details_.find(run);
  if (it == details_.end()) return;
  it->second.blobs[{artifact->name, artifact->step}] = artifact;
  emit detailsChanged({run});
}

}  // namespace ctx::gui
