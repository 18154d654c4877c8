// What the Studies view shows, as plain functions of the window's cache: the study files shipped
// in resources/studies, the runs of a store study with their part in it ("base", "pi", ...), each
// check's stored outcome (task "study_check" on the base run, as `ctxlab-cli study run` writes
// it), and the paper's figure as lines of points. No widgets here, so tests read the numbers.
// Assumes the runs' details (evaluations) are in the cache for check outcomes and retrieval
// figures; perplexity figures need only the run summaries.
#pragma once

#include <QString>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "config/study_plot.h"
#include "widgets/data_cache.h"

namespace ctx::gui {

struct StudyFileInfo {
  QString path;         // where it was read (":/studies/NAME.json" when compiled in)
  nlohmann::json json;  // the file as written
  std::string name;
  StudyPlot plot;      // its "plot", or the one derived from it
  QString plot_error;  // a bad "plot" (the engine refuses the file to run); the figure is derived
};

// Every *.json study in `dir` (a folder or a resource prefix), by name; unreadable files are
// skipped (the engine names their problem when they are run).
std::vector<StudyFileInfo> loadStudyFiles(const QString& dir);
// The file a store study was run from: the same name, or the name followed by " #k".
const StudyFileInfo* fileOfStudy(const std::vector<StudyFileInfo>& files,
                                 const std::string& study_name);

struct StudyRunRef {
  int64_t run = 0;
  std::string role;  // "base", a run name of the study file, or the store's run name
};
// The runs of store study `study` in figure order (base first, then the file's runs): its members,
// and the runs they start from outside it (a base trained earlier and reused), or the one tagged as
// its base (store/study_tags.h: a reused base no run starts from). The base is the run holding this
// study's check outcomes, else the tagged one, else the one the others start from.
std::vector<StudyRunRef> studyRuns(const DataCache& cache, int64_t study,
                                   const StudyFileInfo* file);

enum class CheckState { Held, NotHeld, NotRun };
struct CheckRow {
  CheckState state = CheckState::NotRun;
  QString description, detail;
};
// One row per check of `file` (with its stored outcome for store study `study`, if any), or, with
// no file, one per stored outcome. `study` 0 = nothing run.
std::vector<CheckRow> studyChecks(const DataCache& cache, const StudyFileInfo* file, int64_t study,
                                  const std::vector<StudyRunRef>& runs);
// A check of a study file in words, before it has been run ("yarn's perplexity is at most pi's at
// 512, 1024 (YaRN <= PI at 4-8x)").
QString describeCheck(const nlohmann::json& check);

struct FigureLine {
  int64_t run = 0;
  QString label;  // "#3 yarn" or "#1 quickstart (base)"
  std::vector<double> x, y;
};
struct FigureMark {
  double x = 0;
  int line = -1;  // the line whose colour it takes; -1 = grey
  QString text;
};
struct StudyFigure {
  QString title, x_label, y_label;
  bool log_x = false, log_y = false;
  std::vector<FigureLine> lines;  // one per run drawn, possibly without points
  std::vector<FigureMark> marks;  // vertical lines: training lengths, L0
  double length = 0;              // retrieval_by_depth: the prompt length shown
  double x_full = 0;              // retrieval_by_depth: the end of the position scale (1 or 100)
  bool points() const;
};
// The figure `plot` asks for, from the stored results of `runs` (plot.runs filters them by role).
StudyFigure studyFigure(const DataCache& cache, const StudyPlot& plot,
                        const std::vector<StudyRunRef>& runs);

}  // namespace ctx::gui
