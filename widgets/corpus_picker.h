// The data.corpus field: a built-in corpus, a text file, a folder of text files or a JSONL file,
// with a file or folder picker for the last three.
#pragma once

#include "widgets/config_fields.h"

namespace ctx::gui {

// The kind of corpus a spec names, as the engine reads it: "builtin", "file", "folder" or "jsonl".
QString corpusKind(const QString& spec);

ConfigField* makeCorpusPicker(const FieldSpec& spec, QWidget* parent);

}  // namespace ctx::gui
