// Precompiled header for every native TU (CMake build). Keep it to the heavy, stable headers.
#pragma once
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/util/Exception.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/csrc/autograd/grad_mode.h>
#include <napi.h>
#include <functional>
#include <memory>
#include <string>
#include <vector>
