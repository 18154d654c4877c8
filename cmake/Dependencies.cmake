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
