// The "data" section; see data_section.h.
#include "config/data_section.h"

#include "config/section_reader.h"

namespace ctx::sections {

void parse_data(const nlohmann::json& j, DataConfig& d) {
  Section s(j, "data");
  s.string("corpus", d.corpus);
  if (d.corpus.empty()) throw ConfigError("data.corpus: must not be empty");
  s.string("tokenizer", d.tokenizer);
  s.string("split", d.split, {"file", "blank_lines", "lines"});
  s.number("val_fraction", d.val_fraction, 0.0, 0.9);
  s.integer("builtin_docs", d.builtin_docs, 2, 1e6);
  s.integer("builtin_doc_tokens", d.builtin_doc_tokens, 64, 1e8);
  s.number("builtin_jitter", d.builtin_jitter, 0.0, 0.95);
  s.number("builtin_fact_rate", d.builtin_fact_rate, 0.0, 1.0);
  s.number("builtin_copy_rate", d.builtin_copy_rate, 0.0, 1.0);
  if (s.has("builtin_distances"))
    d.builtin_distances = int_list(s.raw("builtin_distances"), s.key("builtin_distances"), 1);
  s.integer("min_doc_tokens", d.min_doc_tokens, 1, 1e9);
  s.finish();
  // The built-in corpus is generated in memory: at most 2^28 tokens (256 MiB of text, ~8x the
  // largest preset), so a mistyped size fails here rather than after minutes of generating.
  constexpr double kMaxBuiltinTokens = 268435456.0;
  if (d.corpus.rfind("builtin:", 0) == 0 &&
      static_cast<double>(d.builtin_docs) * static_cast<double>(d.builtin_doc_tokens) >
          kMaxBuiltinTokens)
    throw ConfigError("data.builtin_docs: " + std::to_string(d.builtin_docs) + " documents of " +
                      std::to_string(d.builtin_doc_tokens) +
                      " tokens (data.builtin_doc_tokens) is more than the built-in corpus makes "
                      "(268435456 tokens at most)");
}

nlohmann::json data_json(const DataConfig& d) {
  return {{"corpus", d.corpus},
          {"tokenizer", d.tokenizer},
          {"split", d.split},
          {"val_fraction", d.val_fraction},
          {"builtin_docs", d.builtin_docs},
          {"builtin_doc_tokens", d.builtin_doc_tokens},
          {"builtin_jitter", d.builtin_jitter},
          {"builtin_distances", d.builtin_distances},
          {"builtin_fact_rate", d.builtin_fact_rate},
          {"builtin_copy_rate", d.builtin_copy_rate},
          {"min_doc_tokens", d.min_doc_tokens}};
}

}  // namespace ctx::sections
