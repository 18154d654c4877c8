// Hugging Face models in and out: import (a folder becomes a finished "pretrained" run), export-hf
// (a run becomes a folder transformers, vLLM or llama.cpp's converter load), hf-info (what a
// folder holds, checked by the engine), tokenize and logits (for parity checks with other
// frameworks).
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "cli/cli_common.h"
#include "io/npy.h"
#include "io/run_tokenizer.h"
#include "store/run_store.h"
#include "train/checkpoint.h"
#include "train/hf_runs.h"
#include "train/runtime.h"
#include "train/trainer.h"

namespace fs = std::filesystem;

namespace ctx::cli {
namespace {

// One sequence per line, ids separated by whitespace; blank lines skipped.
std::vector<std::vector<int64_t>> read_id_sequences(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw UsageError(path + ": cannot open the ids file");
  std::vector<std::vector<int64_t>> out;
  std::string line;
  int64_t number = 0;
  while (std::getline(f, line)) {
    ++number;
    std::istringstream in(line);
    std::vector<int64_t> seq;
    std::string word;
    while (in >> word) {
      size_t used = 0;
      int64_t id = -1;
      try {
        id = std::stoll(word, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != word.size() || id < 0)
        throw UsageError(path + ":" + std::to_string(number) + ": '" + word +
                         "' is not a token id");
      seq.push_back(id);
    }
    if (!seq.empty()) out.push_back(std::move(seq));
  }
  if (out.empty())
    throw UsageError(path + ": no sequences (one per line, ids separated by spaces)");
  return out;
}

// Logits of every sequence, positions 0..T-1, one batch per length. One length: `out`; several:
// "<out stem>-<T>.npy" each, since one .npy holds one (sequences x T x vocab) array.
std::vector<std::string> write_logits_npy(LanguageModel& model,
                                          const std::vector<std::vector<int64_t>>& seqs,
                                          const std::string& out, const torch::Device& device) {
  std::map<int64_t, std::vector<const std::vector<int64_t>*>> by_length;
  for (const auto& s : seqs) by_length[static_cast<int64_t>(s.size())].push_back(&s);
  std::vector<std::string> written;
  torch::NoGradGuard ng;
  for (const auto& [T, group] : by_length) {
    std::vector<int64_t> flat;
    for (const auto* s : group) flat.insert(flat.end(), s->begin(), s->end());
    const auto B = static_cast<int64_t>(group.size());
    auto tokens = torch::tensor(flat, torch::kLong).view({B, T}).to(device);
    auto positions =
        torch::arange(T, torch::kFloat).unsqueeze(0).expand({B, T}).contiguous().to(device);
    auto logits = model->forward(tokens, positions).to(torch::kCPU, torch::kFloat).contiguous();
    std::string path = out;
    if (by_length.size() > 1) {
      fs::path p(out);
      path = (p.parent_path() / (p.stem().string() + "-" + std::to_string(T) + ".npy")).string();
    }
    io::write_npy_f32(path, {B, T, logits.size(2)}, logits.data_ptr<float>());
    written.push_back(path);
  }
  return written;
}

}  // namespace

int cmd_hf_info(const Common& c, const std::string& folder) {
  const auto info = inspect_hf_folder(folder);
  if (c.json) {
    print_json(info);
    return 0;
  }
  std::cout << folder << "\n"
            << "  architecture     " << info["architecture"].get<std::string>() << "\n"
            << "  parameters       " << format_number(info["parameters"].get<double>() / 1e6, 4)
            << " M\n"
            << "  native context   " << info["max_position_embeddings"].get<int64_t>()
            << " tokens\n"
            << "  rope             theta " << info["rope_theta"].get<double>() << ", scaling "
            << (info["rope_scaling"].is_null() ? std::string("none") : info["rope_scaling"].dump())
            << "\n"
            << "  tokenizer        " << info["tokenizer"]["kind"].get<std::string>() << ", "
            << info["tokenizer"]["vocab_size"].get<int64_t>() << " ids\n"
            << "  weights          " << info["weights"]["files"].size() << " file(s), "
            << info["weights"]["dtype"].get<std::string>() << "\n";
  return 0;
}

int cmd_import(const Common& c, const std::string& folder, const std::string& name,
               const std::string& corpus) {
  const auto info = inspect_hf_folder(folder);  // every check before the store is touched
  store::RunStore db(c.db);
  const auto imported = import_hf_folder(db, folder, info, name, corpus);
  if (c.json) {
    print_json({{"run_id", imported.run_id},
                {"name", imported.name},
                {"architecture", info["architecture"]},
                {"parameters", info["parameters"]},
                {"weights", imported.how},
                {"dir", imported.dir}});
    return 0;
  }
  std::cout << "run " << imported.run_id << " '" << imported.name
            << "': " << info["architecture"].get<std::string>() << ", "
            << format_number(info["parameters"].get<double>() / 1e6, 4) << " M parameters, files "
            << imported.how << " into " << imported.dir << "\n";
  return 0;
}

int cmd_export_hf(const Common& c, int64_t run, const std::string& out_dir,
                  const std::string& dtype) {
  store::RunStore db(c.db);
  const auto rec = db.get_run(run);
  const auto cfg = config_of_run(rec);
  const auto files = export_run_to_hf(rec, cfg, out_dir, dtype);
  if (c.json) {
    print_json({{"run_id", run}, {"dir", out_dir}, {"files", files}});
    return 0;
  }
  std::cout << "run " << run << " written to " << out_dir << ":";
  for (const auto& f : files) std::cout << " " << f;
  std::cout << "\n";
  return 0;
}

int cmd_tokenize(const Common& c, int64_t run, const std::string& tokenizer,
                 const std::string& text) {
  if ((run > 0) == !tokenizer.empty())
    throw UsageError("tokenize: give either --run N or --tokenizer PATH");
  std::shared_ptr<const data::Tokenizer> tok;
  if (run > 0) {
    store::RunStore db(c.db);
    tok = io::tokenizer_for(config_of_run(db.get_run(run)));
  } else {
    tok = io::tokenizer_at(tokenizer, "--tokenizer");
  }
  const auto ids = tok->encode(text, false);
  const auto with_special = tok->encode(text, true);
  if (c.json) {
    nlohmann::json pieces = nlohmann::json::array(), texts = nlohmann::json::array();
    for (auto id : ids) {
      pieces.push_back(tok->piece(id));
      texts.push_back(tok->token_text(id));
    }
    print_json({{"ids", ids},
                {"ids_with_special", with_special},
                {"pieces", pieces},
                {"text", texts},
                {"tokenizer", tok->kind()},
                {"vocab_size", tok->vocab_size()},
                {"bos_id", tok->bos_id()},
                {"eos_id", tok->eos_id()},
                {"decoded", tok->decode(ids, false)}});
    return 0;
  }
  std::cout << ids.size() << " tokens (" << tok->kind() << ", vocabulary " << tok->vocab_size()
            << ")\n";
  for (auto id : ids) std::cout << "  " << id << "\t" << tok->token_text(id) << "\n";
  return 0;
}

int cmd_logits(const Common& c, int64_t run, const std::string& ids_file, const std::string& out,
               const std::string& device_name) {
  const auto seqs = read_id_sequences(ids_file);
  store::RunStore db(c.db);
  const auto rec = db.get_run(run);
  auto cfg = config_of_run(rec);
  const auto ck = latest_checkpoint(rec.run_dir);
  if (!ck)
    throw CheckpointError("run " + std::to_string(run) + " has no checkpoint in '" + rec.run_dir +
                          "'");
  setup_threads(cfg.train.threads);
  const auto device = resolve_device(device_name.empty() ? cfg.train.device : device_name);
  auto model = build_model(cfg, WeightInit::Skip);
  load_checkpoint(*ck, model);
  model->to(device);
  model->eval();
  for (const auto& s : seqs)
    for (auto id : s)
      if (id < 0 || id >= model->vocab_size())
        throw UsageError(ids_file + ": id " + std::to_string(id) +
                         " is outside the model's vocabulary of " +
                         std::to_string(model->vocab_size()));
  const auto written = write_logits_npy(model, seqs, out, device);
  if (c.json) {
    print_json({{"run_id", run}, {"files", written}, {"sequences", seqs.size()}});
    return 0;
  }
  for (const auto& f : written) std::cout << f << "\n";
  return 0;
}

}  // namespace ctx::cli
