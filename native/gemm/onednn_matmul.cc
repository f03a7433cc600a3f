#include "gemm/onednn_matmul.h"

#ifdef MDISTILL_WITH_ONEDNN

#include <ATen/Parallel.h>
#include <oneapi/dnnl/dnnl.hpp>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

namespace mdistill::gemm::onednn {

namespace {

using dnnl::memory;

dnnl::engine& CpuEngine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

bool DataType(at::ScalarType t, memory::data_type& out) {
  switch (t) {
    case at::kFloat: out = memory::data_type::f32; return true;
    case at::kBFloat16: out = memory::data_type::bf16; return true;
    default: return false;
  }
}

struct Layout {
  memory::dims dims, strides;
};

// The tensor's dims and strides padded to `rank` with leading 1s. An expanded (stride 0) batch dim becomes a
// broadcast dim of size 1; a size-1 dim gets the stride just outside everything inside it, as a dense layout would
// have, since libtorch leaves those strides arbitrary and oneDNN matches layouts by stride.
bool LayoutOf(const at::Tensor& t, int rank, Layout& out) {
  const int pad = rank - static_cast<int>(t.dim());
  if (pad < 0) return false;
  out.dims.assign(rank, 1);
  out.strides.assign(rank, 0);
  for (int i = 0; i < t.dim(); ++i) {
    out.dims[pad + i] = t.size(i);
    out.strides[pad + i] = t.stride(i);
  }
  for (int i = 0; i < rank; ++i) {
    if (out.strides[i] == 0 && out.dims[i] > 1) {
      if (i >= rank - 2) return false;  // an expanded row or column: not a matrix oneDNN can read
      out.dims[i] = 1;
    }
  }
  for (int i = rank - 1; i >= 0; --i) {
    if (out.dims[i] != 1) continue;
    memory::dim extent = 1;
    for (int j = i + 1; j < rank; ++j) extent = std::max(extent, out.strides[j] * out.dims[j]);
    out.strides[i] = extent;
  }
  return true;
}

struct Entry {
  bool usable = false;
  std::string impl;
  memory::desc a, b, out, bias, scratchpad;
  std::unique_ptr<dnnl::matmul> primitive;
};

struct Plan {
  std::string key;
  Layout a, b, out;
  memory::data_type abType{}, outType{}, biasType{};
  bool hasBias = false;
};

void Append(std::string& key, const void* data, size_t bytes) { key.append(static_cast<const char*>(data), bytes); }
void Append(std::string& key, const memory::dims& v) {
  const int64_t n = static_cast<int64_t>(v.size());
  Append(key, &n, sizeof n);
  Append(key, v.data(), v.size() * sizeof(memory::dim));
}

bool MakePlan(const MatmulCall& c, Plan& p) {
  if (!c.out.defined() || !c.a.defined() || !c.b.defined()) return false;
  if (!c.out.is_cpu() || !c.a.is_cpu() || !c.b.is_cpu()) return false;
  const int rank = static_cast<int>(c.out.dim());
  if (rank < 2 || c.a.dim() > rank || c.b.dim() > rank || c.out.numel() == 0 || c.a.numel() == 0 || c.b.numel() == 0) return false;
  if (c.a.scalar_type() != c.b.scalar_type()) return false;
  if (!DataType(c.a.scalar_type(), p.abType) || !DataType(c.out.scalar_type(), p.outType)) return false;
  if (p.abType == memory::data_type::f32 && p.outType != memory::data_type::f32) return false;
  p.hasBias = c.bias.defined();
  if (p.hasBias) {
    if (c.alpha != 1.0 || c.bias.dim() != 1 || c.bias.size(0) != c.out.size(-1) || !c.bias.is_contiguous()) return false;
    if (!DataType(c.bias.scalar_type(), p.biasType)) return false;
    if (p.abType == memory::data_type::f32 && p.biasType != memory::data_type::f32) return false;
  }
  if (!LayoutOf(c.a, rank, p.a) || !LayoutOf(c.b, rank, p.b) || !LayoutOf(c.out, rank, p.out)) return false;
  const int threads = at::get_num_threads();  // also sets this thread's OpenMP team size to libtorch's
  const float alpha = static_cast<float>(c.alpha);
  const int flags[] = {rank, static_cast<int>(p.abType), static_cast<int>(p.outType), p.hasBias ? static_cast<int>(p.biasType) : -1,
                       c.gelu ? 1 : 0, threads};
  p.key.clear();
  Append(p.key, flags, sizeof flags);
  Append(p.key, &alpha, sizeof alpha);
  for (const Layout* l : {&p.a, &p.b, &p.out}) {
    Append(p.key, l->dims);
    Append(p.key, l->strides);
  }
  return true;
}

std::shared_ptr<const Entry> Build(const Plan& p, const MatmulCall& c) {
  auto e = std::make_shared<Entry>();
  try {
    e->a = memory::desc(p.a.dims, p.abType, p.a.strides);
    e->b = memory::desc(p.b.dims, p.abType, p.b.strides);
    e->out = memory::desc(p.out.dims, p.outType, p.out.strides);
    dnnl::primitive_attr attr;
    attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);
    if (c.alpha != 1.0) attr.set_output_scales(0, {static_cast<float>(c.alpha)});
    if (c.gelu) {
      dnnl::post_ops ops;
      ops.append_eltwise(1.f, dnnl::algorithm::eltwise_gelu_erf, 0.f, 0.f);
      attr.set_post_ops(ops);
    }
    std::unique_ptr<dnnl::matmul::desc> desc;
    if (p.hasBias) {
      memory::dims dims(p.out.dims.size(), 1);
      dims.back() = p.out.dims.back();
      memory::dims strides(dims.size(), dims.back());
      strides.back() = 1;
      e->bias = memory::desc(dims, p.biasType, strides);
      desc = std::make_unique<dnnl::matmul::desc>(e->a, e->b, e->bias, e->out);
    } else {
      desc = std::make_unique<dnnl::matmul::desc>(e->a, e->b, e->out);
    }
    dnnl::matmul::primitive_desc pd(*desc, attr, CpuEngine());
    e->impl = pd.impl_info_str();
    // oneDNN's reference kernels are plain loops, far slower than ATen: never use them.
    if (e->impl.rfind("ref", 0) == 0) return e;
    e->scratchpad = pd.scratchpad_desc();
    e->primitive = std::make_unique<dnnl::matmul>(pd);
    e->usable = true;
  } catch (const dnnl::error&) {
    e->usable = false;  // no implementation for this layout (or invalid strides): ATen takes it
  }
  return e;
}

// Primitives by plan key. Creating one JIT-compiles kernels (about a millisecond); a training step reuses a few
// dozen shapes, so the cache stays small. It is cleared if something (a sweep over shapes) fills it.
class PrimitiveCache {
 public:
  std::shared_ptr<const Entry> Get(const Plan& p, const MatmulCall& c) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = entries_.find(p.key);
      if (it != entries_.end()) return it->second;
    }
    std::shared_ptr<const Entry> e = Build(p, c);  // outside the lock: other threads keep running their products
    std::lock_guard<std::mutex> lock(mutex_);
    if (entries_.size() >= kCapacity) entries_.clear();
    return entries_.emplace(p.key, std::move(e)).first->second;
  }

 private:
  static constexpr size_t kCapacity = 1024;
  std::mutex mutex_;
  std::unordered_map<std::string, std::shared_ptr<const Entry>> entries_;
};

std::atomic<uint64_t> productsRun{0};

PrimitiveCache& Cache() {
  static PrimitiveCache cache;
  return cache;
}

std::shared_ptr<const Entry> Lookup(const MatmulCall& c) {
  Plan p;
  if (!MakePlan(c, p)) return nullptr;
  return Cache().Get(p, c);
}

}  // namespace

bool Compiled() { return true; }

std::string Version() {
  const dnnl_version_t* v = dnnl_version();
  return std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
}

std::string IsaName() {
  switch (dnnl::get_effective_cpu_isa()) {
    case dnnl::cpu_isa::all: return "all";
    case dnnl::cpu_isa::sse41: return "sse41";
    case dnnl::cpu_isa::avx: return "avx";
    case dnnl::cpu_isa::avx2: return "avx2";
    case dnnl::cpu_isa::avx2_vnni: return "avx2_vnni";
    case dnnl::cpu_isa::avx512_mic: return "avx512_mic";
    case dnnl::cpu_isa::avx512_mic_4ops: return "avx512_mic_4ops";
    case dnnl::cpu_isa::avx512_core: return "avx512_core";
    case dnnl::cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
    case dnnl::cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
    case dnnl::cpu_isa::avx512_core_amx: return "avx512_core_amx";
  }
  return "unknown";
}

// The ISA values are bit sets: each one contains the bits of the ISAs it extends.
bool IsaHasAvx512() {
  const auto isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
  const auto core = static_cast<unsigned>(dnnl::cpu_isa::avx512_core);
  return (isa & core) == core;
}

bool IsaHasBf16() {
  const auto isa = static_cast<unsigned>(dnnl::get_effective_cpu_isa());
  const auto bf16 = static_cast<unsigned>(dnnl::cpu_isa::avx512_core_bf16);
  return (isa & bf16) == bf16;
}

bool TryMatmul(const MatmulCall& c) {
  std::shared_ptr<const Entry> e = Lookup(c);
  if (!e || !e->usable) return false;
  dnnl::engine& engine = CpuEngine();
  std::unordered_map<int, memory> args{
      {DNNL_ARG_SRC, memory(e->a, engine, c.a.data_ptr())},
      {DNNL_ARG_WEIGHTS, memory(e->b, engine, c.b.data_ptr())},
      {DNNL_ARG_DST, memory(e->out, engine, c.out.data_ptr())},
  };
  if (c.bias.defined()) args.emplace(DNNL_ARG_BIAS, memory(e->bias, engine, c.bias.data_ptr()));
  at::Tensor scratch;
  const size_t scratchBytes = e->scratchpad.get_size();
  if (scratchBytes > 0) {
    scratch = at::empty({static_cast<int64_t>(scratchBytes)}, c.out.options().dtype(at::kByte));
    args.emplace(DNNL_ARG_SCRATCHPAD, memory(e->scratchpad, engine, scratch.data_ptr()));
  }
  thread_local dnnl::stream stream(engine);
  e->primitive->execute(stream, args);
  stream.wait();
  productsRun.fetch_add(1, std::memory_order_relaxed);
  return true;
}

uint64_t ProductsRun() { return productsRun.load(std::memory_order_relaxed); }

std::string ImplementationFor(const MatmulCall& c) {
  std::shared_ptr<const Entry> e = Lookup(c);
  return e && e->usable ? e->impl : "";
}

}  // namespace mdistill::gemm::onednn

#else  // no oneDNN in this build: ATen runs every product

namespace mdistill::gemm::onednn {
bool Compiled() { return false; }
std::string Version() { return ""; }
std::string IsaName() { return ""; }
bool IsaHasAvx512() { return false; }
bool IsaHasBf16() { return false; }
bool TryMatmul(const MatmulCall&) { return false; }
uint64_t ProductsRun() { return 0; }
std::string ImplementationFor(const MatmulCall&) { return ""; }
}  // namespace mdistill::gemm::onednn

#endif
