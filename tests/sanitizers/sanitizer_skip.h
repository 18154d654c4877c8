// Tests that read a tokenizer.model inside a LibTorch process cannot run in the sanitizer build:
// SentencePiece is loaded with RTLD_DEEPBIND (its protobuf-lite would clash with LibTorch's
// libprotobuf), which ASan refuses. Such a test starts with CTXLAB_SKIP_SPM_UNDER_SANITIZERS().
#pragma once

#include <gtest/gtest.h>

#if defined(__SANITIZE_ADDRESS__)
#define CTXLAB_SKIP_SPM_UNDER_SANITIZERS()                                                   \
  GTEST_SKIP() << "tokenizer.model in a LibTorch process needs RTLD_DEEPBIND, which the " \
                  "sanitizer runtime refuses"
#else
#define CTXLAB_SKIP_SPM_UNDER_SANITIZERS() \
  do {                                     \
  } while (0)
#endif
