// What `ctxlab-cli hf-info FOLDER --json` says about a Hugging Face model folder, as the rows the
// configurator shows (architecture, parameters, native context, RoPE, tokenizer, weights), plus
// the number formats they use ("1.24 B" parameters, "2.47 GiB" weights).
#pragma once

#include <QList>
#include <QPair>
#include <QString>
#include <nlohmann/json.hpp>

namespace ctx::gui {

// 1240000000 -> "1.24 B", 135488 -> "135 K", 494032768 -> "494 M", 512 -> "512".
QString formatCount(double n);
// 544096 -> "531 KiB", 2.47 GiB, ...; below 1 KiB in bytes.
QString formatBytes(double bytes);
// A rope_scaling block in a few words: null -> "none", {"rope_type": "llama3", "factor": 8,
// "original_max_position_embeddings": 8192} -> "llama3 ×8 from 8192".
QString ropeScalingText(const nlohmann::json& block);

// (label, value) rows for hf-info's answer; keys it lacks are left out.
QList<QPair<QString, QString>> hfSummaryRows(const nlohmann::json& info);

}  // namespace ctx::gui
