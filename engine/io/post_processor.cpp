// Post-processors reduced to a single sequence: TemplateProcessing's "single" template, ByteLevel
// (offsets only) and Sequence (each processor wraps the result of the ones before).
#include "io/post_processor.h"

#include "io/json_fields.h"

namespace ctx::io {

namespace {

using json_fields::Where;

// The ids of one SpecialToken item: special_tokens[name].ids.
std::vector<data::Token> special_ids(const nlohmann::json& table, const std::string& name,
                                     const Where& where) {
  auto it = table.find(name);
  if (it == table.end() || !it->is_object()) {
    json_fields::fail(where, "special token '" + name + "' is missing from special_tokens");
  }
  std::vector<data::Token> ids;
  for (const auto& id : json_fields::array_of(*it, "ids", where)) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0) {
      json_fields::fail(where, "special token '" + name + "' has an id that is not an integer");
    }
    ids.push_back(static_cast<data::Token>(id.get<int64_t>()));
  }
  return ids;
}

SingleTemplate template_processing(const nlohmann::json& j, const Where& where) {
  const auto& single = json_fields::array_of(j, "single", where);
  const auto& table = json_fields::required(j, "special_tokens", where);
  SingleTemplate t;
  bool seen_sequence = false;
  for (const auto& item : single) {
    if (item.is_object() && item.contains("SpecialToken")) {
      const std::string name = json_fields::string_of(item["SpecialToken"], "id", where);
      const auto ids = special_ids(table, name, where);
      auto& side = seen_sequence ? t.suffix : t.prefix;
      side.insert(side.end(), ids.begin(), ids.end());
    } else if (item.is_object() && item.contains("Sequence")) {
      const std::string id = json_fields::string_of(item["Sequence"], "id", where);
      if (id != "A" || seen_sequence) {
        json_fields::fail(where, "the single template must hold sequence A once");
      }
      seen_sequence = true;
    } else {
      json_fields::fail(where, "template items must be SpecialToken or Sequence");
    }
  }
  if (!seen_sequence) json_fields::fail(where, "the single template has no sequence A");
  return t;
}

}  // namespace

SingleTemplate make_post_processor(const nlohmann::json& j, const std::string& file) {
  if (j.is_null()) return {};
  const std::string type = json_fields::type_of(j, Where{file, "post_processor"});
  const Where where{file, "post_processor '" + type + "'"};
  if (type == "TemplateProcessing") return template_processing(j, where);
  if (type == "ByteLevel") return {};
  if (type == "Sequence") {
    SingleTemplate all;
    for (const auto& child : json_fields::array_of(j, "processors", where)) {
      const SingleTemplate inner = make_post_processor(child, file);
      all.prefix.insert(all.prefix.begin(), inner.prefix.begin(), inner.prefix.end());
      all.suffix.insert(all.suffix.end(), inner.suffix.begin(), inner.suffix.end());
    }
    return all;
  }
  json_fields::fail(Where{file, ""},
                    "post_processor '" + type +
                        "' is not supported (supported: TemplateProcessing, ByteLevel, Sequence)");
}

}  // namespace ctx::io
