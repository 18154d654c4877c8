# CtxLab's own CUDA kernels (engine/model/cuda/*.cu: rotary embedding, the stacked q/k/v rotation,
# SwiGLU, the fused loss, RMSNorm's weight gradient; engine/train/cuda/*.cu:
# the master-weight AdamW step), built where this LibTorch has CUDA and a CUDA compiler is found,
# and linked into ctxlab_engine with CTXLAB_CUDA_KERNELS defined. Elsewhere (the Debian CPU build,
# CI) nothing here happens and the ATen paths of model/fused_ops.cpp serve.
# -DCTXLAB_CUDA_KERNELS=OFF leaves them out on purpose.
# Included at file scope from engine/CMakeLists.txt (enable_language may not run in a function).
option(CTXLAB_CUDA_KERNELS "Build CtxLab's CUDA kernels where nvcc and a CUDA LibTorch exist" ON)
if(CTXLAB_CUDA_KERNELS AND (TORCH_CUDA_LIBRARIES OR EXISTS "${TORCH_INSTALL_PREFIX}/lib/libtorch_cuda.so"))
  include(CheckLanguage)
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
      set(CMAKE_CUDA_ARCHITECTURES 80 90)  # A100, H100/H200
    endif()
    # The shared runtime: the process holds one libcudart (LibTorch's), not a second static copy.
    set(CMAKE_CUDA_RUNTIME_LIBRARY Shared)
    enable_language(CUDA)
    file(GLOB CTXLAB_CU_SRC CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/model/cuda/*.cu
         ${CMAKE_CURRENT_SOURCE_DIR}/train/cuda/*.cu)
    add_library(ctxlab_kernels STATIC ${CTXLAB_CU_SRC})
    set_target_properties(ctxlab_kernels PROPERTIES POSITION_INDEPENDENT_CODE ON CUDA_STANDARD 17)
    target_include_directories(ctxlab_kernels PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
    target_compile_options(ctxlab_kernels PRIVATE $<$<COMPILE_LANGUAGE:CUDA>:-O3>)
    target_link_libraries(ctxlab_engine PUBLIC ctxlab_kernels)
    target_compile_definitions(ctxlab_engine PUBLIC CTXLAB_CUDA_KERNELS=1)
    message(STATUS "CtxLab: CUDA kernels (${CMAKE_CUDA_COMPILER}; architectures ${CMAKE_CUDA_ARCHITECTURES}, OFF = LibTorch's -gencode flags)")
  else()
    message(STATUS "CtxLab: CUDA LibTorch but no CUDA compiler: ATen paths instead of CtxLab's kernels")
  endif()
endif()
