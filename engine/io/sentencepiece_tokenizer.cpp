// SentencePiece through Debian's SentencePieceProcessor (its const encode / decode are
// thread-safe), reached through libctxlab_spm (spm_shim/spm_shim.h says why); control tokens
// written in the text ("<s>") stay plain text, as in sentencepiece itself.
#include "io/sentencepiece_tokenizer.h"

#include <dlfcn.h>
#include <link.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <mutex>
#include <stdexcept>
#include <vector>

#include "io/spm_shim/spm_shim.h"
#include "io/tokenizer_config.h"
#include "io/tokenizer_decoders.h"
#include "io/tokenizer_files.h"
#include "io/unicode_text.h"

namespace ctx::io {

namespace {

using data::Token;

void append_text(void* ctx, const char* text, size_t n) {
  static_cast<std::string*>(ctx)->append(text, n);
}
void append_ids(void* ctx, const int* ids, size_t n) {
  static_cast<std::vector<int>*>(ctx)->insert(static_cast<std::vector<int>*>(ctx)->end(), ids,
                                              ids + n);
}

// The shim's functions, resolved once per process.
struct SpmApi {
  decltype(&ctxlab_spm_load) load;
  decltype(&ctxlab_spm_free) free;
  decltype(&ctxlab_spm_size) size;
  decltype(&ctxlab_spm_bos) bos;
  decltype(&ctxlab_spm_eos) eos;
  decltype(&ctxlab_spm_encode) encode;
  decltype(&ctxlab_spm_decode) decode;
  decltype(&ctxlab_spm_piece) piece;
  decltype(&ctxlab_spm_flags) flags;
};

// Where libctxlab_spm.so may be: $CTXLAB_SPM_SHIM, the build's lib folder, beside or next to the
// executable's folder.
std::vector<std::string> shim_candidates() {
  std::vector<std::string> out;
  if (const char* env = std::getenv("CTXLAB_SPM_SHIM")) out.push_back(env);
#ifdef CTXLAB_SPM_SHIM_PATH
  out.push_back(CTXLAB_SPM_SHIM_PATH);
#endif
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    out.push_back((exe.parent_path() / "libctxlab_spm.so").string());
    out.push_back((exe.parent_path().parent_path() / "lib" / "libctxlab_spm.so").string());
  }
  return out;
}

#if defined(__SANITIZE_ADDRESS__)
// Whether a full libprotobuf (LibTorch's) is in the process already.
bool full_protobuf_loaded() {
  auto seen = [](dl_phdr_info* info, size_t, void*) -> int {
    return info->dlpi_name && std::strstr(info->dlpi_name, "libprotobuf.so") ? 1 : 0;
  };
  return dl_iterate_phdr(seen, nullptr) != 0;
}
#endif

const SpmApi& spm_api() {
  static std::once_flag once;
  static SpmApi api{};
  static std::string failure;
  std::call_once(once, [] {
  // RTLD_DEEPBIND keeps libsentencepiece's own protobuf-lite for itself; sanitizer runtimes refuse
  // it (and interpose malloc), so sanitizer builds load it plainly. Then, in a process that holds
  // LibTorch's libprotobuf, SentencePiece would bind to that one and fail its version check: say
  // so instead of trying.
#if defined(__SANITIZE_ADDRESS__)
    if (full_protobuf_loaded()) {
      failure =
          "tokenizer.model cannot be read by a sanitizer build of a LibTorch program "
          "(SentencePiece needs RTLD_DEEPBIND, which sanitizers refuse): use a normal build, or "
          "the model's tokenizer.json";
      return;
    }
    const int flags = RTLD_NOW | RTLD_LOCAL;
#else
    const int flags = RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND;
#endif
    void* lib = nullptr;
    std::string tried;
    for (const auto& path : shim_candidates()) {
      if ((lib = dlopen(path.c_str(), flags))) break;
      tried += (tried.empty() ? "" : "; ") + std::string(dlerror());
    }
    if (!lib) {
      failure = "cannot load libctxlab_spm.so (the SentencePiece bridge): " + tried;
      return;
    }
    auto get = [&](auto& fn, const char* name) {
      fn = reinterpret_cast<std::decay_t<decltype(fn)>>(dlsym(lib, name));
    };
    get(api.load, "ctxlab_spm_load");
    get(api.free, "ctxlab_spm_free");
    get(api.size, "ctxlab_spm_size");
    get(api.bos, "ctxlab_spm_bos");
    get(api.eos, "ctxlab_spm_eos");
    get(api.encode, "ctxlab_spm_encode");
    get(api.decode, "ctxlab_spm_decode");
    get(api.piece, "ctxlab_spm_piece");
    get(api.flags, "ctxlab_spm_flags");
    if (!api.load || !api.free || !api.size || !api.bos || !api.eos || !api.encode || !api.decode ||
        !api.piece || !api.flags)
      failure = "libctxlab_spm.so lacks a function of spm_shim.h";
  });
  if (!failure.empty()) throw TokenizerError(failure);
  return api;
}

// One loaded model: the processor behind the shim, with the queries the tokenizer needs.
class SpmModel {
 public:
  explicit SpmModel(const std::string& bytes, const std::string& path) : api_(spm_api()) {
    std::string err;
    handle_ = api_.load(bytes.data(), bytes.size(), append_text, &err);
    if (!handle_) {
      std::string reason = err.empty() ? "it cannot be read" : err;
      if (reason.find("ParseFromArray") != std::string::npos) reason = "it is not a model protobuf";
      while (!reason.empty() && reason.back() == ' ') reason.pop_back();
      throw TokenizerError(path + " is not a SentencePiece model (" + reason + ")");
    }
    if (GetPieceSize() <= 0)
      throw TokenizerError(path + " is not a SentencePiece model (it has no pieces)");
    pieces_.resize(static_cast<size_t>(GetPieceSize()));
    flags_.resize(pieces_.size());
    for (int i = 0; i < GetPieceSize(); ++i) {
      api_.piece(handle_, i, append_text, &pieces_[static_cast<size_t>(i)]);
      flags_[static_cast<size_t>(i)] = api_.flags(handle_, i);
    }
  }
  ~SpmModel() { api_.free(handle_); }
  SpmModel(const SpmModel&) = delete;
  SpmModel& operator=(const SpmModel&) = delete;

  int GetPieceSize() const { return api_.size(handle_); }
  int bos_id() const { return api_.bos(handle_); }
  int eos_id() const { return api_.eos(handle_); }
  const std::string& IdToPiece(int id) const { return pieces_[static_cast<size_t>(id)]; }
  bool IsControl(int id) const { return flags_[static_cast<size_t>(id)] & 1; }
  bool IsUnknown(int id) const { return flags_[static_cast<size_t>(id)] & 2; }
  bool IsByte(int id) const { return flags_[static_cast<size_t>(id)] & 4; }
  std::vector<int> Encode(std::string_view text) const {
    std::vector<int> ids;
    std::string err;
    if (api_.encode(handle_, text.data(), text.size(), append_ids, &ids, append_text, &err) != 0)
      throw std::runtime_error("sentencepiece: " + err);
    return ids;
  }
  std::string Decode(const std::vector<int>& ids) const {
    std::string text, err;
    if (api_.decode(handle_, ids.data(), ids.size(), append_text, &text, append_text, &err) != 0)
      throw std::runtime_error("sentencepiece: " + err);
    return text;
  }

 private:
  const SpmApi& api_;
  void* handle_ = nullptr;
  std::vector<std::string> pieces_;  // cached: IdToPiece returns references
  std::vector<int> flags_;
};

class SentencePieceTokenizer final : public data::Tokenizer {
 public:
  SentencePieceTokenizer(const std::string& model_path, const std::string& config_path);

  std::vector<Token> encode(std::string_view text, bool add_special) const override;
  std::string decode(const std::vector<Token>& ids, bool skip_special) const override;
  std::string piece(Token id) const override;
  std::string token_text(Token id) const override;
  int64_t vocab_size() const override { return sp_.GetPieceSize(); }
  Token bos_id() const override { return sp_.bos_id(); }
  Token eos_id() const override { return sp_.eos_id(); }
  std::string kind() const override { return "sentencepiece"; }
  std::string fingerprint() const override { return fingerprint_; }

 private:
  bool valid(Token id) const { return id >= 0 && id < sp_.GetPieceSize(); }
  std::string decode_run(const std::vector<int>& run) const;

  std::string bytes_;  // the model file
  SpmModel sp_;
  bool add_bos_ = true;
  bool add_eos_ = false;
  std::string fingerprint_;
};

SentencePieceTokenizer::SentencePieceTokenizer(const std::string& model_path,
                                               const std::string& config_path)
    : bytes_(read_tokenizer_file(model_path)), sp_(bytes_, model_path) {
  const std::string& bytes = bytes_;
  const TokenizerConfig config = read_tokenizer_config(config_path);
  add_bos_ = config.add_bos_token;
  add_eos_ = config.add_eos_token;
  uint64_t h = fnv1a64(bytes);
  if (config.present) h = fnv1a64(config.bytes, fnv1a64(std::string_view("\0", 1), h));
  fingerprint_ = hex64(h);
}

std::vector<Token> SentencePieceTokenizer::encode(std::string_view text, bool add_special) const {
  const std::vector<int> ids = sp_.Encode(text);
  std::vector<Token> out;
  out.reserve(ids.size() + 2);
  if (add_special && add_bos_ && sp_.bos_id() >= 0) out.push_back(sp_.bos_id());
  out.insert(out.end(), ids.begin(), ids.end());
  if (add_special && add_eos_ && sp_.eos_id() >= 0) out.push_back(sp_.eos_id());
  return out;
}

std::string SentencePieceTokenizer::decode_run(const std::vector<int>& run) const {
  return sp_.Decode(run);
}

std::string SentencePieceTokenizer::decode(const std::vector<Token>& ids, bool skip_special) const {
  for (Token id : ids) {
    if (!valid(id)) {
      throw std::invalid_argument("token id " + std::to_string(id) + " is outside the vocabulary");
    }
  }
  if (skip_special) return decode_run(std::vector<int>(ids.begin(), ids.end()));
  // Control tokens written as their pieces between the decoded runs around them; a run after
  // text keeps the space its first piece stands for (sentencepiece drops it only at the start).
  std::string out;
  std::vector<int> run;
  bool text_before = false;
  auto flush = [&] {
    if (run.empty()) return;
    std::string part = decode_run(run);
    if (text_before && sp_.IdToPiece(run.front()).rfind("\xE2\x96\x81", 0) == 0) {
      part.insert(0, " ");
    }
    text_before = text_before || !part.empty();
    out += part;
    run.clear();
  };
  for (Token id : ids) {
    if (sp_.IsControl(id)) {
      flush();
      out += sp_.IdToPiece(id);
    } else {
      run.push_back(id);
    }
  }
  flush();
  return out;
}

std::string SentencePieceTokenizer::piece(Token id) const {
  return valid(id) ? sp_.IdToPiece(id) : std::string();
}

std::string SentencePieceTokenizer::token_text(Token id) const {
  if (!valid(id)) return "<invalid " + std::to_string(id) + ">";
  const std::string& p = sp_.IdToPiece(id);
  if (sp_.IsControl(id) || sp_.IsUnknown(id)) return p;
  if (const int b = sp_.IsByte(id) ? byte_piece_value(p) : -1; b >= 0) {
    return text::escape_for_display(std::string(1, static_cast<char>(b)));
  }
  return text::escape_for_display(metaspace_to_spaces(p));
}

}  // namespace

std::shared_ptr<const data::Tokenizer> load_sentencepiece(const std::string& model_path,
                                                          const std::string& config_path) {
  return std::make_shared<const SentencePieceTokenizer>(model_path, config_path);
}

}  // namespace ctx::io
