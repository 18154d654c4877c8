# Several processes through PyTorch's distributed engine (c10d, launched by torchrun): which of its
# process groups this LibTorch can give us, found by compiling against its own headers.
#   NCCL: a CUDA LibTorch whose ProcessGroupNCCL.hpp and nccl.h compile (the pip wheel's nccl.h
#         lives in site-packages/nvidia/nccl or nvidia/cu13; CTXLAB_NCCL_DIR points elsewhere).
#   Gloo: ProcessGroupGloo.hpp with gloo's headers (Debian: libgloo-dev; LibTorch 1.13 ships the
#         symbols in libtorch_cpu). The CPU build and its two-process tests use it.
# Neither: the engine builds without c10d and refuses a torchrun launch with one line.
# Debian's libtorch-dev lacks torch/csrc/distributed/autograd/context/context.h, which 1.13's
# reducer.hpp includes for two type names: engine/compat supplies those (see the file).

set(CTXLAB_NCCL_DIR "" CACHE PATH "folder with include/nccl.h and lib/libnccl.so (default: the wheel's nvidia/nccl)")
option(CTXLAB_DISTRIBUTED "build c10d support (torchrun launches) when this LibTorch has it" ON)

include(CheckCXXSourceCompiles)

function(_ctxlab_try_c10d result defs includes libs source)
  set(CMAKE_REQUIRED_FLAGS "-std=c++17")
  set(CMAKE_REQUIRED_DEFINITIONS ${defs})
  set(CMAKE_REQUIRED_INCLUDES ${TORCH_INCLUDE_DIRS} ${includes})
  set(CMAKE_REQUIRED_LIBRARIES ${TORCH_LIBRARIES} ${libs})
  set(CMAKE_REQUIRED_QUIET ON)
  check_cxx_source_compiles("${source}" ${result})
  set(${result} ${${result}} PARENT_SCOPE)
endfunction()

# Sets the global property CTXLAB_C10D_BACKENDS to the process groups found ("gloo;nccl", or empty).
function(ctxlab_distributed target)
  set_property(GLOBAL PROPERTY CTXLAB_C10D_BACKENDS "")
  if(NOT CTXLAB_DISTRIBUTED)
    message(STATUS "CtxLab: distributed training off (CTXLAB_DISTRIBUTED=OFF)")
    return()
  endif()
  find_path(CTXLAB_C10D_DIR torch/csrc/distributed/c10d/reducer.hpp HINTS ${TORCH_INCLUDE_DIRS} NO_DEFAULT_PATH)
  if(NOT CTXLAB_C10D_DIR)
    message(STATUS "CtxLab: this LibTorch ships no c10d headers: distributed training off")
    return()
  endif()
  set(compat "")
  find_path(CTXLAB_DIST_AUTOGRAD_DIR torch/csrc/distributed/autograd/context/context.h HINTS ${TORCH_INCLUDE_DIRS})
  if(NOT CTXLAB_DIST_AUTOGRAD_DIR)
    set(compat ${CMAKE_CURRENT_SOURCE_DIR}/compat)
  endif()
  set(reducer_src "
#include <torch/csrc/distributed/c10d/reducer.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <BACKEND_HEADER>
int main() { return sizeof(c10d::Reducer) > 0 ? 0 : 1; }")

  set(defs "")
  set(includes ${compat})
  set(libs "")
  set(names "")

  # Gloo: gloo's headers may sit beside torch's (some wheels) or in the system (libgloo-dev).
  find_path(CTXLAB_GLOO_INCLUDE gloo/algorithm.h HINTS ${TORCH_INCLUDE_DIRS} ${CTXLAB_DEPS_DIR}/include)
  if(CTXLAB_GLOO_INCLUDE)
    string(REPLACE "BACKEND_HEADER" "torch/csrc/distributed/c10d/ProcessGroupGloo.hpp" src "${reducer_src}")
    _ctxlab_try_c10d(CTXLAB_HAVE_C10D_GLOO "-DUSE_C10D_GLOO" "${compat};${CTXLAB_GLOO_INCLUDE}" "" "${src}")
    if(CTXLAB_HAVE_C10D_GLOO)
      list(APPEND defs USE_C10D_GLOO CTXLAB_HAVE_GLOO=1)
      list(APPEND includes ${CTXLAB_GLOO_INCLUDE})
      list(APPEND names gloo)
    endif()
  endif()

  # NCCL: only in a CUDA LibTorch (libtorch_cuda beside libtorch; TORCH_CUDA_LIBRARIES may be empty).
  if(TORCH_CUDA_LIBRARIES OR EXISTS "${TORCH_INSTALL_PREFIX}/lib/libtorch_cuda.so")
    get_filename_component(_site "${TORCH_INSTALL_PREFIX}/.." ABSOLUTE)
    # The wheels' layouts: nvidia/nccl (nvidia-nccl-cu12 and earlier), nvidia/cu13 (CUDA 13 wheels).
    find_path(CTXLAB_NCCL_INCLUDE nccl.h HINTS ${CTXLAB_NCCL_DIR}/include ${_site}/nvidia/nccl/include
              ${_site}/nvidia/cu13/include ${TORCH_INCLUDE_DIRS} $ENV{NCCL_HOME}/include)
    find_library(CTXLAB_NCCL_LIB NAMES nccl libnccl.so.2 HINTS ${CTXLAB_NCCL_DIR}/lib ${_site}/nvidia/nccl/lib
                 ${_site}/nvidia/cu13/lib $ENV{NCCL_HOME}/lib)
    if(CTXLAB_NCCL_INCLUDE)
      string(REPLACE "BACKEND_HEADER" "torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp" src "${reducer_src}")
      set(nccl_libs "")
      if(CTXLAB_NCCL_LIB)
        set(nccl_libs ${CTXLAB_NCCL_LIB})
      endif()
      _ctxlab_try_c10d(CTXLAB_HAVE_C10D_NCCL "-DUSE_C10D_NCCL" "${compat};${CTXLAB_NCCL_INCLUDE}" "${nccl_libs}" "${src}")
      if(CTXLAB_HAVE_C10D_NCCL)
        list(APPEND defs USE_C10D_NCCL CTXLAB_HAVE_NCCL=1)
        list(APPEND includes ${CTXLAB_NCCL_INCLUDE})
        list(APPEND libs ${nccl_libs})
        list(APPEND names nccl)
      endif()
    else()
      message(STATUS "CtxLab: CUDA LibTorch but no nccl.h (set CTXLAB_NCCL_DIR): no NCCL process group")
    endif()
  endif()

  if(NOT names)
    message(STATUS "CtxLab: no c10d process group compiles here (Gloo: install libgloo-dev): distributed training off")
    return()
  endif()
  # On the whole target and its users (not per file): the precompiled header the CLI and the tests
  # reuse must see the same definitions.
  target_compile_definitions(${target} PUBLIC ${defs})
  target_include_directories(${target} SYSTEM PUBLIC ${includes})
  target_link_libraries(${target} PUBLIC ${libs})
  string(REPLACE ";" ", " shown "${names}")
  message(STATUS "CtxLab: distributed training through c10d (${shown})")
  set_property(GLOBAL PROPERTY CTXLAB_C10D_BACKENDS "${names}")
endfunction()
