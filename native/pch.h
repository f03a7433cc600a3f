// Precompiled header of the core (CMake build), reused by the addon and the core's test program. Keep it to the
// heavy, stable torch headers, and no Node header: the core builds without Node.
#pragma once
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/util/Exception.h>
#include <torch/csrc/autograd/custom_function.h>
#include <torch/csrc/autograd/grad_mode.h>
#include <functional>
#include <memory>
#include <string>
#include <vector>
