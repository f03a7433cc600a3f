#include "gemm/product.h"

#include <ATen/record_function.h>

#include "gemm/gemm_engine.h"
#include "gemm/onednn_matmul.h"

namespace mdistill::gemm {

void ProductInto(const at::Tensor& out, const at::Tensor& a, const at::Tensor& b, const ProductOptions& o) {
  RECORD_FUNCTION("mdistill::gemm::ProductInto", std::vector<c10::IValue>({a, b}));  // names the products in profiles
  if (ActiveEngine() == Engine::kOneDnn && out.is_cpu()) {
    onednn::MatmulCall call{out, a, b, o.bias, o.gelu, o.alpha};
    if (onednn::TryMatmul(call)) return;
  }
  const at::ScalarType type = out.scalar_type();
  at::Tensor r = at::matmul(a.to(type), b.to(type));
  if (o.alpha != 1.0) r.mul_(o.alpha);
  if (o.bias.defined()) r.add_(o.bias.to(type));
  if (o.gelu) r = at::gelu(r);
  out.copy_(r);
}

}  // namespace mdistill::gemm
