# FindTensorRT.cmake - locate the TensorRT headers (required) and libnvinfer (optional).
#
# Search order, first hit wins:
#   1. TENSORRT_INCLUDE_DIR / TENSORRT_LIB_DIR   (CMake cache variable, else environment variable)
#   2. TENSORRT_ROOT                             (cache, else environment): <root>/include, <root>/lib
#   3. system paths: /usr/include/x86_64-linux-gnu, /usr/local/tensorrt, /usr/lib/x86_64-linux-gnu, ...
# A directory named explicitly in (1) or (2) that does not contain NvInferVersion.h is an error
# rather than silently falling back to whatever TensorRT the system has.
#
# Results:
#   TensorRT_FOUND, TensorRT_INCLUDE_DIR, TensorRT_LIBRARY (may be empty), TensorRT_VERSION,
#   TensorRT_VERSION_MAJOR / _MINOR / _PATCH
#   TensorRT::headers   INTERFACE target with the include directory (as SYSTEM headers)
#   TensorRT::nvinfer   IMPORTED library, only when libnvinfer was found

# find_path/find_library(... NO_CACHE) below need CMake 3.21; older versions take NO_CACHE for a
# search path and cache the result, so a re-pointed TENSORRT_INCLUDE_DIR would keep the old headers.
if(CMAKE_VERSION VERSION_LESS 3.21)
  message(FATAL_ERROR "FindTensorRT.cmake needs CMake >= 3.21 (find_path NO_CACHE); this is ${CMAKE_VERSION}")
endif()

include(FindPackageHandleStandardArgs)

function(_tpb_trt_setting out_var name)
  if(DEFINED ${name} AND NOT "${${name}}" STREQUAL "")
    set(${out_var} "${${name}}" PARENT_SCOPE)
  elseif(DEFINED ENV{${name}} AND NOT "$ENV{${name}}" STREQUAL "")
    set(${out_var} "$ENV{${name}}" PARENT_SCOPE)
  else()
    set(${out_var} "" PARENT_SCOPE)
  endif()
endfunction()

_tpb_trt_setting(_tpb_trt_include_setting TENSORRT_INCLUDE_DIR)
_tpb_trt_setting(_tpb_trt_lib_setting TENSORRT_LIB_DIR)
_tpb_trt_setting(_tpb_trt_root_setting TENSORRT_ROOT)

set(_tpb_trt_system_include_dirs /usr/include/x86_64-linux-gnu /usr/local/tensorrt/include /usr/include)
set(_tpb_trt_system_lib_dirs /usr/lib/x86_64-linux-gnu /usr/local/tensorrt/lib /usr/lib64 /usr/lib)

# --- headers -----------------------------------------------------------------------------------
set(_tpb_trt_explicit_include "")
if(_tpb_trt_include_setting)
  set(_tpb_trt_explicit_include "${_tpb_trt_include_setting}")
  set(_tpb_trt_explicit_include_source "TENSORRT_INCLUDE_DIR")
elseif(_tpb_trt_root_setting)
  set(_tpb_trt_explicit_include "${_tpb_trt_root_setting}/include")
  set(_tpb_trt_explicit_include_source "TENSORRT_ROOT")
endif()

if(_tpb_trt_explicit_include)
  find_path(TensorRT_INCLUDE_DIR NAMES NvInferVersion.h PATHS "${_tpb_trt_explicit_include}"
            NO_DEFAULT_PATH NO_CACHE)
  if(NOT TensorRT_INCLUDE_DIR)
    message(FATAL_ERROR
      "FindTensorRT: ${_tpb_trt_explicit_include_source} points to '${_tpb_trt_explicit_include}', "
      "which has no NvInferVersion.h. Fix the variable (cache -D or environment) or unset it to "
      "search the system paths.")
  endif()
else()
  find_path(TensorRT_INCLUDE_DIR NAMES NvInferVersion.h PATHS ${_tpb_trt_system_include_dirs}
            NO_DEFAULT_PATH NO_CACHE)
endif()

if(NOT TensorRT_INCLUDE_DIR)
  string(REPLACE ";" ", " _tpb_trt_paths "${_tpb_trt_system_include_dirs}")
  message(FATAL_ERROR
    "FindTensorRT: TensorRT headers (NvInferVersion.h) not found.\n"
    "Tried, in order:\n"
    "  TENSORRT_INCLUDE_DIR (cache variable or environment): not set\n"
    "  TENSORRT_ROOT (cache variable or environment, <root>/include): not set\n"
    "  system paths: ${_tpb_trt_paths}\n"
    "Set one of them, e.g. -DTENSORRT_INCLUDE_DIR=/path/to/TensorRT/include or "
    "TENSORRT_ROOT=/path/to/TensorRT, or configure with -DTPB_KERNELS_ONLY=ON to build only "
    "the CUDA kernels.")
endif()

# --- version -----------------------------------------------------------------------------------
# 8.x defines NV_TENSORRT_MAJOR directly; 10.x+ defines it through TRT_MAJOR_ENTERPRISE.
file(READ "${TensorRT_INCLUDE_DIR}/NvInferVersion.h" _tpb_trt_version_header)
foreach(_part MAJOR MINOR PATCH)
  set(TensorRT_VERSION_${_part} "")
  if(_tpb_trt_version_header MATCHES "#define[ \t]+TRT_${_part}_ENTERPRISE[ \t]+([0-9]+)")
    set(TensorRT_VERSION_${_part} "${CMAKE_MATCH_1}")
  elseif(_tpb_trt_version_header MATCHES "#define[ \t]+NV_TENSORRT_${_part}[ \t]+([0-9]+)")
    set(TensorRT_VERSION_${_part} "${CMAKE_MATCH_1}")
  endif()
endforeach()
set(TensorRT_VERSION "${TensorRT_VERSION_MAJOR}.${TensorRT_VERSION_MINOR}.${TensorRT_VERSION_PATCH}")

# --- library (optional: the plugin itself needs no libnvinfer symbol) -------------------------
set(_tpb_trt_lib_hints "")
if(_tpb_trt_lib_setting)
  list(APPEND _tpb_trt_lib_hints "${_tpb_trt_lib_setting}")
endif()
if(_tpb_trt_root_setting)
  list(APPEND _tpb_trt_lib_hints "${_tpb_trt_root_setting}/lib" "${_tpb_trt_root_setting}/lib64")
endif()
find_library(TensorRT_LIBRARY NAMES nvinfer PATHS ${_tpb_trt_lib_hints} ${_tpb_trt_system_lib_dirs}
             NO_DEFAULT_PATH NO_CACHE)
if(NOT TensorRT_LIBRARY)
  set(TensorRT_LIBRARY "")
endif()

find_package_handle_standard_args(TensorRT
  REQUIRED_VARS TensorRT_INCLUDE_DIR
  VERSION_VAR TensorRT_VERSION)

if(TensorRT_FOUND AND NOT TARGET TensorRT::headers)
  add_library(TensorRT::headers INTERFACE IMPORTED)
  set_target_properties(TensorRT::headers PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${TensorRT_INCLUDE_DIR}")
  # IMPORTED targets' include directories are SYSTEM by default: warnings inside the TensorRT
  # headers themselves (unused parameters in inline defaults) do not leak into our -Wall -Wextra.
endif()
if(TensorRT_FOUND AND TensorRT_LIBRARY AND NOT TARGET TensorRT::nvinfer)
  add_library(TensorRT::nvinfer UNKNOWN IMPORTED)
  set_target_properties(TensorRT::nvinfer PROPERTIES IMPORTED_LOCATION "${TensorRT_LIBRARY}")
  target_link_libraries(TensorRT::nvinfer INTERFACE TensorRT::headers)
endif()
