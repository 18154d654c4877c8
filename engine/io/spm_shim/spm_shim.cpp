// libctxlab_spm: Debian's SentencePieceProcessor behind the C interface of spm_shim.h.
#include "spm_shim.h"

#include <sentencepiece_processor.h>

#include <memory>
#include <string>
#include <vector>

namespace {

const sentencepiece::SentencePieceProcessor& sp(const void* m) {
  return *static_cast<const sentencepiece::SentencePieceProcessor*>(m);
}

void report(const sentencepiece::util::Status& s, ctxlab_spm_text_sink error, void* ctx) {
  const std::string msg = s.error_message();
  if (error) error(ctx, msg.data(), msg.size());
}

}  // namespace

extern "C" {

__attribute__((visibility("default"))) void* ctxlab_spm_load(const char* bytes, size_t n,
                                                             ctxlab_spm_text_sink error,
                                                             void* ctx) {
  // No exception may cross this C interface (a protobuf version check throws, for one).
  try {
    auto p = std::make_unique<sentencepiece::SentencePieceProcessor>();
    const auto status = p->LoadFromSerializedProto(std::string(bytes, n));
    if (!status.ok()) {
      report(status, error, ctx);
      return nullptr;
    }
    return p.release();
  } catch (const std::exception& e) {
    if (error) error(ctx, e.what(), std::char_traits<char>::length(e.what()));
    return nullptr;
  }
}

__attribute__((visibility("default"))) void ctxlab_spm_free(void* model) {
  delete static_cast<sentencepiece::SentencePieceProcessor*>(model);
}

__attribute__((visibility("default"))) int ctxlab_spm_size(const void* m) {
  return sp(m).GetPieceSize();
}
__attribute__((visibility("default"))) int ctxlab_spm_bos(const void* m) {
  return sp(m).bos_id();
}
__attribute__((visibility("default"))) int ctxlab_spm_eos(const void* m) {
  return sp(m).eos_id();
}

__attribute__((visibility("default"))) int ctxlab_spm_encode(const void* m, const char* text,
                                                             size_t n, ctxlab_spm_ids_sink out,
                                                             void* ctx, ctxlab_spm_text_sink error,
                                                             void* ectx) {
  std::vector<int> ids;
  const auto status = sp(m).Encode(std::string(text, n), &ids);
  if (!status.ok()) {
    report(status, error, ectx);
    return 1;
  }
  out(ctx, ids.data(), ids.size());
  return 0;
}

__attribute__((visibility("default"))) int ctxlab_spm_decode(const void* m, const int* ids,
                                                             size_t n, ctxlab_spm_text_sink out,
                                                             void* ctx, ctxlab_spm_text_sink error,
                                                             void* ectx) {
  std::string text;
  const auto status = sp(m).Decode(std::vector<int>(ids, ids + n), &text);
  if (!status.ok()) {
    report(status, error, ectx);
    return 1;
  }
  out(ctx, text.data(), text.size());
  return 0;
}

__attribute__((visibility("default"))) void ctxlab_spm_piece(const void* m, int id,
                                                             ctxlab_spm_text_sink out, void* ctx) {
  const std::string& p = sp(m).IdToPiece(id);
  out(ctx, p.data(), p.size());
}

__attribute__((visibility("default"))) int ctxlab_spm_flags(const void* m, int id) {
  return (sp(m).IsControl(id) ? 1 : 0) | (sp(m).IsUnknown(id) ? 2 : 0) | (sp(m).IsByte(id) ? 4 : 0);
}

}  // extern "C"
