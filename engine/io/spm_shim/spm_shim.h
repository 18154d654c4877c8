// The C interface of libctxlab_spm, a shared library that wraps Debian's libsentencepiece. The
// engine loads it with dlopen(RTLD_LOCAL | RTLD_DEEPBIND): libsentencepiece carries its own
// protobuf-lite and exports its symbols, which would otherwise bind LibTorch's libprotobuf to the
// wrong copy and crash at start-up. Nothing crosses the boundary but C types; results come back
// through callbacks, so no memory is allocated on one side and freed on the other.
#pragma once

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef void (*ctxlab_spm_ids_sink)(void* ctx, const int* ids, size_t n);
typedef void (*ctxlab_spm_text_sink)(void* ctx, const char* text, size_t n);

// A model from the bytes of tokenizer.model, or NULL with the reason given to `error`.
void* ctxlab_spm_load(const char* bytes, size_t n, ctxlab_spm_text_sink error, void* ctx);
void ctxlab_spm_free(void* model);
int ctxlab_spm_size(const void* model);
int ctxlab_spm_bos(const void* model);
int ctxlab_spm_eos(const void* model);
// 0 on success; otherwise the reason goes to `error`.
int ctxlab_spm_encode(const void* model, const char* text, size_t n, ctxlab_spm_ids_sink out,
                      void* ctx, ctxlab_spm_text_sink error, void* ectx);
int ctxlab_spm_decode(const void* model, const int* ids, size_t n, ctxlab_spm_text_sink out,
                      void* ctx, ctxlab_spm_text_sink error, void* ectx);
void ctxlab_spm_piece(const void* model, int id, ctxlab_spm_text_sink out, void* ctx);
// bit 0: control, bit 1: unknown, bit 2: byte.
int ctxlab_spm_flags(const void* model, int id);

#ifdef __cplusplus
}
#endif
