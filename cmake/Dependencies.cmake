# Finds LibTorch, SQLiteCpp, nlohmann-json, CLI11 and GoogleTest, falling back to CTXLAB_DEPS_DIR.
find_package(Torch REQUIRED)
find_package(Threads REQUIRED)

if(CTXLAB_DEPS_DIR)
  set(_inc ${CTXLAB_DEPS_DIR}/include)
  find_library(_sqlite3 NAMES sqlite3 libsqlite3.so.0 PATHS /lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu)
  if(NOT _sqlite3 AND EXISTS /lib/x86_64-linux-gnu/libsqlite3.so.0)
    set(_sqlite3 /lib/x86_64-linux-gnu/libsqlite3.so.0)
  endif()
  add_library(SQLiteCpp STATIC IMPORTED GLOBAL)
  set_target_properties(SQLiteCpp PROPERTIES
    IMPORTED_LOCATION ${CTXLAB_DEPS_DIR}/lib/libSQLiteCpp.a
    INTERFACE_INCLUDE_DIRECTORIES ${_inc}
    INTERFACE_LINK_LIBRARIES "${_sqlite3};Threads::Threads;${CMAKE_DL_LIBS}")
  add_library(nlohmann_json::nlohmann_json INTERFACE IMPORTED GLOBAL)
  set_target_properties(nlohmann_json::nlohmann_json PROPERTIES INTERFACE_INCLUDE_DIRECTORIES ${_inc})
  add_library(CLI11::CLI11 INTERFACE IMPORTED GLOBAL)
  set_target_properties(CLI11::CLI11 PROPERTIES INTERFACE_INCLUDE_DIRECTORIES ${_inc})
else()
  find_package(SQLiteCpp REQUIRED)
  find_package(nlohmann_json REQUIRED)
  find_package(CLI11 REQUIRED)
endif()

# Tokenizers: PCRE2 (Unicode-class regexes of byte-level BPE pre-tokenizers; lookahead, which RE2
# lacks), SentencePiece (tokenizer.model) and ICU's common library (Unicode normalisation and
# character classes of tokenizer.json normalizers). Debian: libpcre2-dev, libsentencepiece-dev,
# libicu-dev; the GPU machine: the static PCRE2 and shared SentencePiece and ICU in CTXLAB_DEPS_DIR
# (linked with an rpath; scripts/device-extra-deps adds ICU there).
find_path(CTXLAB_PCRE2_INCLUDE pcre2.h HINTS ${CTXLAB_DEPS_DIR}/include)
find_library(CTXLAB_PCRE2_LIB NAMES libpcre2-8.a pcre2-8 HINTS ${CTXLAB_DEPS_DIR}/lib)
find_path(CTXLAB_SPM_INCLUDE sentencepiece_processor.h HINTS ${CTXLAB_DEPS_DIR}/include)
find_library(CTXLAB_SPM_LIB NAMES sentencepiece HINTS ${CTXLAB_DEPS_DIR}/lib)
if(NOT CTXLAB_PCRE2_INCLUDE OR NOT CTXLAB_PCRE2_LIB)
  message(FATAL_ERROR "PCRE2 not found (install libpcre2-dev)")
endif()
find_path(CTXLAB_ICU_INCLUDE unicode/normalizer2.h HINTS ${CTXLAB_DEPS_DIR}/include)
find_library(CTXLAB_ICUUC_LIB NAMES icuuc HINTS ${CTXLAB_DEPS_DIR}/lib)
find_library(CTXLAB_ICUDATA_LIB NAMES icudata HINTS ${CTXLAB_DEPS_DIR}/lib)
if(NOT CTXLAB_SPM_INCLUDE OR NOT CTXLAB_SPM_LIB)
  message(FATAL_ERROR "SentencePiece not found (install libsentencepiece-dev)")
endif()
if(NOT CTXLAB_ICU_INCLUDE OR NOT CTXLAB_ICUUC_LIB OR NOT CTXLAB_ICUDATA_LIB)
  message(FATAL_ERROR "ICU not found (install libicu-dev, or run scripts/device-extra-deps into CTXLAB_DEPS_DIR)")
endif()
add_library(ctxlab_pcre2 INTERFACE)
target_include_directories(ctxlab_pcre2 SYSTEM INTERFACE ${CTXLAB_PCRE2_INCLUDE})
target_link_libraries(ctxlab_pcre2 INTERFACE ${CTXLAB_PCRE2_LIB})
target_compile_definitions(ctxlab_pcre2 INTERFACE PCRE2_CODE_UNIT_WIDTH=8)
add_library(ctxlab_sentencepiece INTERFACE)
target_include_directories(ctxlab_sentencepiece SYSTEM INTERFACE ${CTXLAB_SPM_INCLUDE})
target_link_libraries(ctxlab_sentencepiece INTERFACE ${CTXLAB_SPM_LIB})
add_library(ctxlab_icu INTERFACE)
target_include_directories(ctxlab_icu SYSTEM INTERFACE ${CTXLAB_ICU_INCLUDE})
# libicudata is needed by libicuuc, not by our code, so an --as-needed link drops it, and then the
# executable's RUNPATH (CTXLAB_DEPS_DIR/lib) is not searched for it: keep it a direct dependency.
target_link_libraries(ctxlab_icu INTERFACE ${CTXLAB_ICUUC_LIB} "-Wl,--push-state,--no-as-needed"
                      ${CTXLAB_ICUDATA_LIB} "-Wl,--pop-state")

if(CTXLAB_TESTS)
  find_package(GTest QUIET)
  if(NOT GTest_FOUND AND CTXLAB_DEPS_DIR AND EXISTS ${CTXLAB_DEPS_DIR}/lib/libgtest.a)
    add_library(GTest::gtest STATIC IMPORTED GLOBAL)
    set_target_properties(GTest::gtest PROPERTIES
      IMPORTED_LOCATION ${CTXLAB_DEPS_DIR}/lib/libgtest.a
      INTERFACE_INCLUDE_DIRECTORIES ${CTXLAB_DEPS_DIR}/include
      INTERFACE_LINK_LIBRARIES Threads::Threads)
    add_library(GTest::gtest_main STATIC IMPORTED GLOBAL)
    set_target_properties(GTest::gtest_main PROPERTIES
      IMPORTED_LOCATION ${CTXLAB_DEPS_DIR}/lib/libgtest_main.a
      INTERFACE_LINK_LIBRARIES GTest::gtest)
    set(GTest_FOUND TRUE)
  endif()
  if(NOT GTest_FOUND)
    message(FATAL_ERROR "GoogleTest not found (install libgtest-dev, or pass -DCTXLAB_TESTS=OFF)")
  endif()
  include(GoogleTest)
endif()

# Warnings for our code only; dependency headers come in as SYSTEM.
function(ctxlab_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra)
endfunction()
