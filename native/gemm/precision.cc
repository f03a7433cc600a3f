#include "gemm/precision.h"

#include "core/torch_compat.h"

namespace mdistill::gemm {

bool Bf16Wanted() { return compat::AutocastEnabled(at::kCPU) && compat::AutocastDtype(at::kCPU) == at::kBFloat16; }

at::ScalarType OperandType(const at::Tensor& a, const at::Tensor& b) {
  if (a.scalar_type() == at::kDouble || b.scalar_type() == at::kDouble) return at::kDouble;
  if (a.scalar_type() == at::kBFloat16 || b.scalar_type() == at::kBFloat16) return at::kBFloat16;
  return Bf16Wanted() ? at::kBFloat16 : at::kFloat;
}

at::ScalarType ResultType(at::ScalarType model, at::ScalarType operand, bool productsReadIt) {
  if (operand == at::kDouble) return at::kDouble;
  if (model == at::kBFloat16 || (productsReadIt && operand == at::kBFloat16)) return at::kBFloat16;
  return at::kFloat;
}

}  // namespace mdistill::gemm
