// Fused CPU ops for the elementwise activations in activations.h.
//
//   TfaForward(x: T, p: double, c: double[k]) -> y: T             attr fn
//   TfaBackward(x: T, dy: T, p: double, c: double[k]) -> dx: T, dp: double
//   TfaForwardSaved(x: T, p: double, c: double[k]) -> y: T, g: T   g = f'(x)
//   TfaAttach(x: T, y: T, g: T) -> y                                 gradient dy * g
//   TfaGatedForward(x: T [outer, 2, m]) -> y: T [outer, m]           y = a * gate(b)
//   TfaGatedBackward(x: T, dy: T [outer, m]) -> dx: T [outer, 2, m]  both halves' gradients
//
// One pass over memory each; vectorized with Eigen packets; split over TF's
// intra-op pool. p is the scalar differentiable parameter (swish beta, snake
// frequency; ignored otherwise), c the fixed ones (elu/celu alpha). dp is
// sum(dy * d f / d p) when attr param_grad is set, else 0.
#define EIGEN_USE_THREADS

#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#include "activations.h"
#include "tensorflow/core/framework/op.h"
#include "tensorflow/core/framework/op_kernel.h"
#include "tensorflow/core/framework/shape_inference.h"

namespace tfa {
namespace {

using ::tensorflow::OpKernel;
using ::tensorflow::OpKernelConstruction;
using ::tensorflow::OpKernelContext;
using ::tensorflow::Tensor;
using ::tensorflow::TensorShape;
using ::tensorflow::int64;
namespace errors = ::tensorflow::errors;

enum class Fn {
#define TFA_ENUM(name, F) name,
  TFA_ACTIVATIONS(TFA_ENUM)
#undef TFA_ENUM
      kCount
};

bool FnFromName(const std::string& s, Fn* fn) {
#define TFA_NAME(name, F)  \
  if (s == #name) {        \
    *fn = Fn::name;        \
    return true;           \
  }
  TFA_ACTIVATIONS(TFA_NAME)
#undef TFA_NAME
  return false;
}

int FixedCount(Fn fn) {
  switch (fn) {
#define TFA_FIXED(name, F) \
  case Fn::name:           \
    return F::kFixed;
    TFA_ACTIVATIONS(TFA_FIXED)
#undef TFA_FIXED
    default:
      return 0;
  }
}

// Compute types: half types in float; float32 forwards of kWide functions in
// double (rounded once on store); float32 backwards in float.
#ifndef TFA_WIDE_FLOAT32  // 1: every float32 forward in double (tests/measurements)
#define TFA_WIDE_FLOAT32 0
#endif
template <typename T, bool kWide>
struct FwdType {
  static constexpr bool kWideF32 = TFA_WIDE_FLOAT32 || kWide;
  using type = typename std::conditional<std::is_same<T, double>::value || (kWideF32 && std::is_same<T, float>::value),
                                         double, float>::type;
};
template <typename T>
struct BwdType {
  using type = typename std::conditional<std::is_same<T, double>::value, double, float>::type;
};

constexpr int64 kChunk = 2048;  // elements per work item and per conversion buffer

template <typename C>
Args<typename ei::packet_traits<C>::type> MakeArgs(double p, const double* c, int nc) {
  using P = typename ei::packet_traits<C>::type;
  Args<P> a;
  a.p = ei::pset1<P>(static_cast<C>(p));
  a.c0 = ei::pset1<P>(static_cast<C>(nc > 0 ? c[0] : 0.0));
  a.c1 = ei::pset1<P>(static_cast<C>(nc > 1 ? c[1] : 0.0));
  return a;
}

// --- forward over contiguous C arrays whose length m is a multiple of W --------
template <typename F, typename C>
EIGEN_STRONG_INLINE void FwdPackets(const C* x, C* y, int64 m, const Args<typename ei::packet_traits<C>::type>& a) {
  using P = typename ei::packet_traits<C>::type;
  constexpr int W = ei::unpacket_traits<P>::size;
  for (int64 i = 0; i < m; i += W) ei::pstoreu(y + i, F::fwd(ei::ploadu<P>(x + i), a));
}

template <typename F, typename C, bool kDp>
EIGEN_STRONG_INLINE void BwdPackets(const C* x, const C* dy, C* dx, int64 m,
                                    const Args<typename ei::packet_traits<C>::type>& a,
                                    typename ei::packet_traits<C>::type* acc) {
  using P = typename ei::packet_traits<C>::type;
  constexpr int W = ei::unpacket_traits<P>::size;
  for (int64 i = 0; i < m; i += W) {
    const P xv = ei::ploadu<P>(x + i);
    const P dyv = ei::ploadu<P>(dy + i);
    P dfdp;
    const P g = F::grad(xv, a, kDp ? &dfdp : nullptr);
    ei::pstoreu(dx + i, ei::pmul(dyv, g));
    if (kDp) *acc = ei::padd(*acc, ei::pmul(dyv, dfdp));
  }
}

#if defined(__AVX__)
EIGEN_STRONG_INLINE Eigen::internal::Packet4d LoadFromFloat(const float* p) { return _mm256_cvtps_pd(_mm_loadu_ps(p)); }
EIGEN_STRONG_INLINE void StoreToFloat(float* p, const Eigen::internal::Packet4d& v) {
  _mm_storeu_ps(p, _mm256_cvtpd_ps(v));
}
#elif defined(__SSE2__)
EIGEN_STRONG_INLINE Eigen::internal::Packet2d LoadFromFloat(const float* p) {
  return _mm_cvtps_pd(_mm_castpd_ps(_mm_load_sd(reinterpret_cast<const double*>(p))));
}
EIGEN_STRONG_INLINE void StoreToFloat(float* p, const Eigen::internal::Packet2d& v) {
  _mm_store_sd(reinterpret_cast<double*>(p), _mm_castps_pd(_mm_cvtpd_ps(v)));
}
#endif

#if defined(__AVX__)
// float16 / bfloat16 <-> float, a packet at a time (F16C; bit shifts for bfloat16), both
// rounding to nearest even. Tails go through the same packets (padded), so an element
// converts the same way wherever it sits in the tensor.
template <typename T>
struct HalfPackets;
template <>
struct HalfPackets<Eigen::half> {
  static EIGEN_STRONG_INLINE ei::Packet8f load(const Eigen::half* p) { return ei::half2float(ei::ploadu<ei::Packet8h>(p)); }
  static EIGEN_STRONG_INLINE void store(Eigen::half* p, const ei::Packet8f& v) { ei::pstoreu(p, ei::float2half(v)); }
};
template <>
struct HalfPackets<Eigen::bfloat16> {
  static EIGEN_STRONG_INLINE ei::Packet8f load(const Eigen::bfloat16* p) {
    return ei::Bf16ToF32(ei::ploadu<ei::Packet8bf>(p));
  }
  static EIGEN_STRONG_INLINE void store(Eigen::bfloat16* p, const ei::Packet8f& v) { ei::pstoreu(p, ei::F32ToBf16(v)); }
};
template <typename T>
constexpr bool kHalfPackets = std::is_same<T, Eigen::half>::value || std::is_same<T, Eigen::bfloat16>::value;

// Calls body(a, b, out) on each full packet of 8 elements, then once on zero-padded copies of
// the tail (b may be null).
template <typename T, typename Body>
EIGEN_STRONG_INLINE void HalfLoop(const T* a, const T* b, T* out, int64 n, Body body) {
  const int64 full = n - n % 8;
  for (int64 i = 0; i < full; i += 8) body(a + i, b ? b + i : nullptr, out + i);
  const int64 r = n - full;
  if (r == 0) return;
  T ab[8], bb[8], ob[8];
  for (int64 i = 0; i < 8; ++i) {
    ab[i] = i < r ? a[full + i] : T(0.0f);
    bb[i] = b && i < r ? b[full + i] : T(0.0f);
  }
  body(ab, b ? bb : nullptr, ob);
  for (int64 i = 0; i < r; ++i) out[full + i] = ob[i];
}
#endif

template <typename T, typename C>
constexpr bool HalfLoopEnabled() {
#if defined(__AVX__)
  return kHalfPackets<T> && std::is_same<C, float>::value;
#else
  return false;
#endif
}

// --- one chunk of T elements: direct when T == C, else through buffers ----------
template <typename F, typename T, typename C>
void FwdChunk(const T* x, T* y, int64 n, const Args<typename ei::packet_traits<C>::type>& a) {
  using P = typename ei::packet_traits<C>::type;
  constexpr int W = ei::unpacket_traits<P>::size;
  alignas(64) C xb[kChunk + W];
  alignas(64) C yb[kChunk + W];
  if constexpr (std::is_same<T, C>::value) {
    const int64 full = n - n % W;
    FwdPackets<F, C>(reinterpret_cast<const C*>(x), reinterpret_cast<C*>(y), full, a);
    const int64 r = n - full;
    if (r == 0) return;
    for (int64 i = 0; i < W; ++i) xb[i] = i < r ? static_cast<C>(x[full + i]) : C(0);
    FwdPackets<F, C>(xb, yb, W, a);
    for (int64 i = 0; i < r; ++i) y[full + i] = static_cast<T>(yb[i]);
    return;
  }
#if defined(__AVX__) || defined(__SSE2__)
  if constexpr (std::is_same<T, float>::value && std::is_same<C, double>::value) {
    // float32 -> double in registers, computed, rounded once on the way back
    const float* xf = reinterpret_cast<const float*>(x);
    float* yf = reinterpret_cast<float*>(y);
    const int64 full = n - n % W;
    for (int64 i = 0; i < full; i += W) {
      StoreToFloat(yf + i, F::fwd(LoadFromFloat(xf + i), a));
    }
    x += full;
    y += full;
    n -= full;
    if (n == 0) return;
  }
#endif
#if defined(__AVX__)
  if constexpr (HalfLoopEnabled<T, C>()) {
    using H = HalfPackets<T>;
    HalfLoop<T>(x, nullptr, y, n, [&](const T* xs, const T*, T* ys) { H::store(ys, F::fwd(H::load(xs), a)); });
    return;
  }
#endif
  const int64 m = (n + W - 1) / W * W;
  for (int64 i = 0; i < n; ++i) xb[i] = static_cast<C>(x[i]);
  for (int64 i = n; i < m; ++i) xb[i] = C(0);
  FwdPackets<F, C>(xb, yb, m, a);
  for (int64 i = 0; i < n; ++i) y[i] = static_cast<T>(yb[i]);
}

template <typename F, typename T, typename C, bool kDp>
double BwdChunk(const T* x, const T* dy, T* dx, int64 n, const Args<typename ei::packet_traits<C>::type>& a) {
  using P = typename ei::packet_traits<C>::type;
  constexpr int W = ei::unpacket_traits<P>::size;
  alignas(64) C xb[kChunk + W];
  alignas(64) C db[kChunk + W];
  alignas(64) C ob[kChunk + W];
  P acc = ei::pset1<P>(C(0));
  if constexpr (std::is_same<T, C>::value) {
    const int64 full = n - n % W;
    BwdPackets<F, C, kDp>(reinterpret_cast<const C*>(x), reinterpret_cast<const C*>(dy),
                          reinterpret_cast<C*>(dx), full, a, &acc);
    const int64 r = n - full;
    if (r > 0) {
      for (int64 i = 0; i < W; ++i) {
        xb[i] = i < r ? static_cast<C>(x[full + i]) : C(0);
        db[i] = i < r ? static_cast<C>(dy[full + i]) : C(0);
      }
      BwdPackets<F, C, kDp>(xb, db, ob, W, a, &acc);
      for (int64 i = 0; i < r; ++i) dx[full + i] = static_cast<T>(ob[i]);
    }
  } else if constexpr (HalfLoopEnabled<T, C>()) {
#if defined(__AVX__)
    using H = HalfPackets<T>;
    HalfLoop<T>(x, dy, dx, n, [&](const T* xs, const T* dys, T* dxs) {
      const P dyv = H::load(dys);
      P dfdp;
      const P g = F::grad(H::load(xs), a, kDp ? &dfdp : nullptr);
      H::store(dxs, ei::pmul(dyv, g));
      if (kDp) acc = ei::padd(acc, ei::pmul(dyv, dfdp));
    });
#endif
  } else {
    const int64 m = (n + W - 1) / W * W;
    for (int64 i = 0; i < n; ++i) {
      xb[i] = static_cast<C>(x[i]);
      db[i] = static_cast<C>(dy[i]);
    }
    for (int64 i = n; i < m; ++i) xb[i] = db[i] = C(0);
    BwdPackets<F, C, kDp>(xb, db, ob, m, a, &acc);
    for (int64 i = 0; i < n; ++i) dx[i] = static_cast<T>(ob[i]);
  }
  if (!kDp) return 0.0;
  alignas(64) C lanes[W];
  ei::pstoreu(lanes, acc);
  double s = 0.0;
  for (int i = 0; i < W; ++i) s += static_cast<double>(lanes[i]);
  return s;
}

// f and f' of a chunk of C elements in one loop body (tail through padded packets).
template <typename F, typename C>
void FwdGradChunk(const C* x, C* y, C* g, int64 n, const Args<typename ei::packet_traits<C>::type>& a) {
  using P = typename ei::packet_traits<C>::type;
  constexpr int W = ei::unpacket_traits<P>::size;
  auto one = [&](const C* xs, C* ys, C* gs) {
    const P xv = ei::ploadu<P>(xs);
    ei::pstoreu(ys, F::fwd(xv, a));
    ei::pstoreu(gs, F::grad(xv, a, static_cast<P*>(nullptr)));
  };
  const int64 full = n - n % W;
  for (int64 i = 0; i < full; i += W) one(x + i, y + i, g + i);
  const int64 r = n - full;
  if (r == 0) return;
  alignas(64) C xb[W], yb[W], gb[W];
  for (int64 i = 0; i < W; ++i) xb[i] = i < r ? x[full + i] : C(0);
  one(xb, yb, gb);
  for (int64 i = 0; i < r; ++i) {
    y[full + i] = yb[i];
    g[full + i] = gb[i];
  }
}

// Rough cycles per element for the cost model of parallelFor.
constexpr double kCyclesPerElement = 40.0;
// Up to this many chunks (2^16 elements) the op runs on the calling thread: on the 2-core
// machine, handing work to the intra-op pool costs 50-200 us per call (waking its threads),
// more than the second core saves below 2^17 elements. Measured, mish fwd+bwd: eager 2^12
// 239 -> 132 us, 2^14 368 -> 166 us; tf.function 2^16 0.31 -> 0.24 ms; and the other way from
// 2^17 (tf.function, 32 vs 128 chunks: mish 2^17 0.50 -> 0.40 ms, 2^18 0.61 -> 0.55; silu 2^18
// 0.42 -> 0.36). -DTFA_MAX_SERIAL_CHUNKS=N moves the limit to re-measure it elsewhere.
#ifndef TFA_MAX_SERIAL_CHUNKS
#define TFA_MAX_SERIAL_CHUNKS 32
#endif
constexpr int64 kMaxSerialChunks = TFA_MAX_SERIAL_CHUNKS;

#if defined(__AVX__) || defined(__SSE2__)
// float32 forward of a kWide function whose float math is accurate (F::kF32):
// float packets, except packets with a lane below F::kF32Below (or NaN), which
// are recomputed in double (the tails where float intermediates underflow).
// F::wide_lanes is true for small x (or beta x) and for NaN.
// With g, also g = f'(x) in float, in the same loop body (the compiler shares their terms).
template <typename F>
void FwdChunkF32(const float* x, float* y, int64 n, const Args<typename ei::packet_traits<float>::type>& af,
                 const Args<typename ei::packet_traits<double>::type>& ad, float* g = nullptr) {
  using PF = typename ei::packet_traits<float>::type;
  using PD = typename ei::packet_traits<double>::type;
  constexpr int WF = ei::unpacket_traits<PF>::size;
  constexpr int WD = ei::unpacket_traits<PD>::size;
  auto one = [&](const float* xs, float* ys, float* gs) {
    const PF xv = ei::ploadu<PF>(xs);
    const PF yf = F::fwd(xv, af);
    if (gs) ei::pstoreu(gs, F::grad(xv, af, static_cast<PF*>(nullptr)));
    const PF wide = F::wide_lanes(xv, af);
    if (ei::predux_any(wide)) {  // per lane, so a result never depends on its neighbours
      alignas(64) float yw[WF];
      for (int h = 0; h < WF; h += WD) StoreToFloat(yw + h, F::fwd(LoadFromFloat(xs + h), ad));
      ei::pstoreu(ys, ei::pselect(wide, ei::pload<PF>(yw), yf));
    } else {
      ei::pstoreu(ys, yf);
    }
  };
  const int64 full = n - n % WF;
  for (int64 i = 0; i < full; i += WF) one(x + i, y + i, g ? g + i : nullptr);
  const int64 r = n - full;
  if (r == 0) return;
  alignas(64) float xb[WF];
  alignas(64) float yb[WF];
  alignas(64) float gb[WF];
  for (int i = 0; i < WF; ++i) xb[i] = i < r ? x[full + i] : 0.0f;
  one(xb, yb, g ? gb : nullptr);
  for (int64 i = 0; i < r; ++i) y[full + i] = yb[i];
  if (g) std::memcpy(g + full, gb, r * sizeof(float));
}
#endif

// g = f'(x) for one chunk, as the backward op's factor of dy (its loop with dy = 1: exact).
template <typename F, typename T>
void GradChunk(const T* x, T* g, int64 n, const Args<typename ei::packet_traits<typename BwdType<T>::type>::type>& a) {
  static const std::vector<T> ones(kChunk, T(1.0f));
  BwdChunk<F, T, typename BwdType<T>::type, false>(x, ones.data(), g, n, a);
}

// y = f(x), and with g also g = f'(x) (the forward op that saves the derivative for a training
// step). Where f and f' compute in the same type they run in one loop body, so the compiler
// computes their common terms once (silu's e^-x, celu's exp); y is bitwise the plain forward's
// and g the backward op's factor of dy.
template <typename F, typename T>
void RunForward(OpKernelContext* ctx, const T* x, T* y, int64 n, double p, const double* c, int nc,
                T* g = nullptr) {
  using C = typename FwdType<T, F::kWide && !F::kF32>::type;
  using CB = typename BwdType<T>::type;
  const auto a = MakeArgs<C>(p, c, nc);
  const auto ad = MakeArgs<double>(p, c, nc);
  const auto ab = MakeArgs<CB>(p, c, nc);
  const int64 chunks = (n + kChunk - 1) / kChunk;
  auto work = [&](Eigen::Index b, Eigen::Index e) {
    for (Eigen::Index j = b; j < e; ++j) {
      const int64 s = j * kChunk;
      const int64 len = std::min(kChunk, n - s);
#if defined(__AVX__) || defined(__SSE2__)
      if constexpr (F::kWide && F::kF32 && std::is_same<T, float>::value && !TFA_WIDE_FLOAT32) {
        FwdChunkF32<F>(x + s, y + s, len, a, ad, g ? g + s : nullptr);
        continue;
      }
#endif
      if constexpr (std::is_same<T, C>::value && std::is_same<T, CB>::value) {
        if (g) {
          FwdGradChunk<F, T>(x + s, y + s, g + s, len, a);
          continue;
        }
      }
      FwdChunk<F, T, C>(x + s, y + s, len, a);
      if (g) GradChunk<F, T>(x + s, g + s, len, ab);
    }
  };
  if (chunks <= kMaxSerialChunks) {
    work(0, chunks);
    return;
  }
  const Eigen::TensorOpCost cost(kChunk * sizeof(T), kChunk * sizeof(T), kChunk * kCyclesPerElement);
  ctx->eigen_cpu_device().parallelFor(chunks, cost, work);
}

template <typename F, typename T>
double RunBackward(OpKernelContext* ctx, const T* x, const T* dy, T* dx, int64 n, double p, const double* c,
                   int nc, bool param_grad) {
  using C = typename BwdType<T>::type;
  const auto a = MakeArgs<C>(p, c, nc);
  const int64 chunks = (n + kChunk - 1) / kChunk;
  const bool dp = F::kParam && param_grad;
  std::vector<double> partial(dp ? chunks : 0, 0.0);
  auto work = [&](Eigen::Index b, Eigen::Index e) {
    for (Eigen::Index j = b; j < e; ++j) {
      const int64 s = j * kChunk;
      const int64 len = std::min(kChunk, n - s);
      if (dp) {
        partial[j] = BwdChunk<F, T, C, F::kParam>(x + s, dy + s, dx + s, len, a);
      } else {
        BwdChunk<F, T, C, false>(x + s, dy + s, dx + s, len, a);
      }
    }
  };
  if (chunks <= kMaxSerialChunks) {
    work(0, chunks);
  } else {
    const Eigen::TensorOpCost cost(2 * kChunk * sizeof(T), kChunk * sizeof(T), kChunk * 2 * kCyclesPerElement);
    ctx->eigen_cpu_device().parallelFor(chunks, cost, work);
  }
  double sum = 0.0;  // fixed order: deterministic for any thread count
  for (double v : partial) sum += v;
  return sum;
}

::tensorflow::Status ReadParams(OpKernelContext* ctx, int p_index, Fn fn, double* p, const double** c, int* nc) {
  const Tensor& pt = ctx->input(p_index);
  const Tensor& ct = ctx->input(p_index + 1);
  if (!::tensorflow::TensorShapeUtils::IsScalar(pt.shape())) {
    return errors::InvalidArgument("p must be a scalar; got shape ", pt.shape().DebugString());
  }
  if (ct.dims() != 1) return errors::InvalidArgument("c must be a vector; got shape ", ct.shape().DebugString());
  *nc = static_cast<int>(ct.dim_size(0));
  if (*nc < FixedCount(fn)) {
    return errors::InvalidArgument("this activation needs ", FixedCount(fn), " fixed parameters in c; got ", *nc);
  }
  *p = pt.scalar<double>()();
  *c = ct.flat<double>().data();
  return ::tensorflow::OkStatus();
}

// kSaved: TfaForwardSaved, which also outputs g = f'(x).
template <typename T, bool kSaved>
class ForwardOp : public OpKernel {
 public:
  explicit ForwardOp(OpKernelConstruction* ctx) : OpKernel(ctx) {
    std::string name;
    OP_REQUIRES_OK(ctx, ctx->GetAttr("fn", &name));
    OP_REQUIRES(ctx, FnFromName(name, &fn_), errors::InvalidArgument("unknown activation fn='", name, "'"));
  }

  void Compute(OpKernelContext* ctx) override {
    const Tensor& x = ctx->input(0);
    double p;
    const double* c;
    int nc;
    OP_REQUIRES_OK(ctx, ReadParams(ctx, 1, fn_, &p, &c, &nc));
    Tensor* y = nullptr;
    Tensor* g = nullptr;
    if (kSaved) {  // y never overwrites x here: where f and f' run in two loops, f' reads x after
      OP_REQUIRES_OK(ctx, ctx->allocate_output(0, x.shape(), &y));
      OP_REQUIRES_OK(ctx, ctx->allocate_output(1, x.shape(), &g));
    } else {
      OP_REQUIRES_OK(ctx, ctx->forward_input_or_allocate_output({0}, 0, x.shape(), &y));
    }
    const int64 n = x.NumElements();
    if (n == 0) return;
    const T* xs = x.flat<T>().data();
    T* ys = y->flat<T>().data();
    T* gs = kSaved ? g->flat<T>().data() : nullptr;
    switch (fn_) {
#define TFA_CASE(name, F)                              \
  case Fn::name:                                       \
    RunForward<F, T>(ctx, xs, ys, n, p, c, nc, gs);    \
    break;
      TFA_ACTIVATIONS(TFA_CASE)
#undef TFA_CASE
      default:
        break;
    }
  }

 private:
  Fn fn_;
};

template <typename T>
class BackwardOp : public OpKernel {
 public:
  explicit BackwardOp(OpKernelConstruction* ctx) : OpKernel(ctx) {
    std::string name;
    OP_REQUIRES_OK(ctx, ctx->GetAttr("fn", &name));
    OP_REQUIRES(ctx, FnFromName(name, &fn_), errors::InvalidArgument("unknown activation fn='", name, "'"));
    OP_REQUIRES_OK(ctx, ctx->GetAttr("param_grad", &param_grad_));
  }

  void Compute(OpKernelContext* ctx) override {
    const Tensor& x = ctx->input(0);
    const Tensor& dy = ctx->input(1);
    OP_REQUIRES(ctx, x.shape() == dy.shape(),
                errors::InvalidArgument("x and dy must have the same shape; got ", x.shape().DebugString(),
                                        " and ", dy.shape().DebugString()));
    double p;
    const double* c;
    int nc;
    OP_REQUIRES_OK(ctx, ReadParams(ctx, 2, fn_, &p, &c, &nc));
    Tensor* dx = nullptr;
    OP_REQUIRES_OK(ctx, ctx->forward_input_or_allocate_output({1}, 0, x.shape(), &dx));
    Tensor* dp = nullptr;
    OP_REQUIRES_OK(ctx, ctx->allocate_output(1, TensorShape({}), &dp));
    double sum = 0.0;
    const int64 n = x.NumElements();
    if (n > 0) {
      const T* xs = x.flat<T>().data();
      const T* dys = dy.flat<T>().data();
      T* dxs = dx->flat<T>().data();
      switch (fn_) {
#define TFA_CASE(name, F)                                                   \
  case Fn::name:                                                            \
    sum = RunBackward<F, T>(ctx, xs, dys, dxs, n, p, c, nc, param_grad_);   \
    break;
        TFA_ACTIVATIONS(TFA_CASE)
#undef TFA_CASE
        default:
          break;
      }
    }
    dp->scalar<double>()() = sum;
  }

 private:
  Fn fn_;
  bool param_grad_;
};

// out = y (the same buffer). Ties y to x for autodiff: its registered gradient is dy * g, with g
// the derivative TfaForwardSaved computed alongside y, so a backward pass needs neither x nor
// a second evaluation.
class AttachOp : public OpKernel {
 public:
  explicit AttachOp(OpKernelConstruction* ctx) : OpKernel(ctx) {}
  void Compute(OpKernelContext* ctx) override { ctx->set_output(0, ctx->input(1)); }
};

// --- gated units: y = a * g(b) on x viewed as [outer, 2, m] (a = x[:, 0], b = x[:, 1]) ----------
enum class Gate {
#define TFA_GATE_ENUM(name, G) name,
  TFA_GATES(TFA_GATE_ENUM)
#undef TFA_GATE_ENUM
};

bool GateFromName(const std::string& s, Gate* gate) {
#define TFA_GATE_NAME(name, G) \
  if (s == #name) {            \
    *gate = Gate::name;        \
    return true;               \
  }
  TFA_GATES(TFA_GATE_NAME)
#undef TFA_GATE_NAME
  return false;
}

// One packet: y = a g(b); or, with dy, da = dy g(b) and db = (dy g'(b)) a (dy times the slope
// first: a gate's slope is bounded, so that product cannot overflow where db is finite).
template <typename G, typename T>
EIGEN_STRONG_INLINE void GatedPacket(const T* a, const T* b, const T* dy, T* y, T* da, T* db) {
  using P = typename ei::packet_traits<T>::type;
  const Args<P> args = MakeArgs<T>(1.0, nullptr, 0);
  const P av = ei::ploadu<P>(a);
  const P bv = ei::ploadu<P>(b);
  if (dy == nullptr) {
    ei::pstoreu(y, gated_product(av, G::fwd(bv, args)));
    return;
  }
  const P dyv = ei::ploadu<P>(dy);
  ei::pstoreu(da, gated_product(dyv, G::fwd(bv, args)));
  ei::pstoreu(db, gated_product(gated_product(dyv, G::grad(bv, args, static_cast<P*>(nullptr))), av));
}

// n contiguous elements of each half (forward: dy, da, db null; backward: y null); the tail
// through zero-padded packets, so an element's result never depends on where it sits.
template <typename G, typename T>
void GatedChunk(const T* a, const T* b, const T* dy, T* y, T* da, T* db, int64 n) {
  constexpr int W = ei::unpacket_traits<typename ei::packet_traits<T>::type>::size;
  const int64 full = n - n % W;
  for (int64 i = 0; i < full; i += W) {
    GatedPacket<G, T>(a + i, b + i, dy ? dy + i : nullptr, y ? y + i : nullptr, da ? da + i : nullptr,
                      db ? db + i : nullptr);
  }
  const int64 r = n - full;
  if (r == 0) return;
  T ab[W], bb[W], dyb[W], yb[W], dab[W], dbb[W];
  for (int64 i = 0; i < W; ++i) {
    ab[i] = i < r ? a[full + i] : T(0);
    bb[i] = i < r ? b[full + i] : T(0);
    dyb[i] = dy && i < r ? dy[full + i] : T(0);
  }
  GatedPacket<G, T>(ab, bb, dy ? dyb : nullptr, yb, dab, dbb);
  for (int64 i = 0; i < r; ++i) {
    if (y) y[full + i] = yb[i];
    if (da) da[full + i] = dab[i];
    if (db) db[full + i] = dbb[i];
  }
}

// Forward (dy null): y[o, j] = x[o, 0, j] g(x[o, 1, j]); backward: dx[o, 0 or 1, j] from dy[o, j].
// Work items are kChunk elements of the flat [outer, m] index, split where a row ends: m is
// often small (a [batch, 2 d] input has m = d), so items of one row each would be tiny.
template <typename G, typename T>
void RunGated(OpKernelContext* ctx, const T* x, const T* dy, T* out, int64 outer, int64 m) {
  const int64 total = outer * m;
  const int64 chunks = (total + kChunk - 1) / kChunk;
  auto work = [&](Eigen::Index first, Eigen::Index last) {
    for (int64 k = first * kChunk, end = std::min(total, static_cast<int64>(last) * kChunk); k < end;) {
      const int64 o = k / m, j = k % m;
      const int64 len = std::min(end - k, m - j);
      const T* a = x + o * 2 * m + j;
      if (dy == nullptr) {
        GatedChunk<G, T>(a, a + m, nullptr, out + k, nullptr, nullptr, len);
      } else {
        T* da = out + o * 2 * m + j;
        GatedChunk<G, T>(a, a + m, dy + k, nullptr, da, da + m, len);
      }
      k += len;
    }
  };
  if (chunks <= kMaxSerialChunks) {
    work(0, chunks);
    return;
  }
  const double io = dy == nullptr ? 3.0 : 5.0;  // elements read + written per element
  const Eigen::TensorOpCost cost(io * kChunk * sizeof(T), 0, kChunk * kCyclesPerElement);
  ctx->eigen_cpu_device().parallelFor(chunks, cost, work);
}

// TfaGatedForward(x [outer, 2, m]) -> y [outer, m]; TfaGatedBackward(x, dy [outer, m]) -> dx.
template <typename T, bool kBackward>
class GatedOp : public OpKernel {
 public:
  explicit GatedOp(OpKernelConstruction* ctx) : OpKernel(ctx) {
    std::string name;
    OP_REQUIRES_OK(ctx, ctx->GetAttr("fn", &name));
    OP_REQUIRES(ctx, GateFromName(name, &gate_), errors::InvalidArgument("unknown gated unit fn='", name, "'"));
  }

  void Compute(OpKernelContext* ctx) override {
    const Tensor& x = ctx->input(0);
    OP_REQUIRES(ctx, x.dims() == 3 && x.dim_size(1) == 2,
                errors::InvalidArgument("x must have shape [outer, 2, m]; got ", x.shape().DebugString()));
    const int64 outer = x.dim_size(0), m = x.dim_size(2);
    const T* dy = nullptr;
    Tensor* out = nullptr;
    if (kBackward) {
      const Tensor& dyt = ctx->input(1);
      OP_REQUIRES(ctx, dyt.dims() == 2 && dyt.dim_size(0) == outer && dyt.dim_size(1) == m,
                  errors::InvalidArgument("dy must have shape [", outer, ", ", m, "]; got ",
                                          dyt.shape().DebugString()));
      dy = dyt.flat<T>().data();
      OP_REQUIRES_OK(ctx, ctx->allocate_output(0, x.shape(), &out));
    } else {
      OP_REQUIRES_OK(ctx, ctx->allocate_output(0, TensorShape({outer, m}), &out));
    }
    if (outer * m == 0) return;
    const T* xs = x.flat<T>().data();
    T* os = out->flat<T>().data();
    switch (gate_) {
#define TFA_GATE_CASE(name, G)                            \
  case Gate::name:                                        \
    RunGated<G, T>(ctx, xs, dy, os, outer, m);            \
    break;
      TFA_GATES(TFA_GATE_CASE)
#undef TFA_GATE_CASE
    }
  }

 private:
  Gate gate_;
};

}  // namespace
}  // namespace tfa

namespace tensorflow {

// TfaForward, TfaForwardSaved: p a scalar, c a vector, every output shaped like x.
Status ForwardShape(shape_inference::InferenceContext* c) {
  shape_inference::ShapeHandle unused;
  TF_RETURN_IF_ERROR(c->WithRank(c->input(1), 0, &unused));
  TF_RETURN_IF_ERROR(c->WithRank(c->input(2), 1, &unused));
  for (int i = 0; i < c->num_outputs(); ++i) c->set_output(i, c->input(0));
  return OkStatus();
}

REGISTER_OP("TfaForward")
    .Input("x: T")
    .Input("p: double")
    .Input("c: double")
    .Output("y: T")
    .Attr("T: {half, bfloat16, float, double}")
    .Attr("fn: string")
    .SetShapeFn(ForwardShape)
    .Doc("Fused activation forward (tf_activations).");

REGISTER_OP("TfaForwardSaved")
    .Input("x: T")
    .Input("p: double")
    .Input("c: double")
    .Output("y: T")
    .Output("g: T")
    .Attr("T: {half, bfloat16, float, double}")
    .Attr("fn: string")
    .SetShapeFn(ForwardShape)
    .Doc("Fused activation forward that also returns g = f'(x) (for a training step).");

REGISTER_OP("TfaAttach")
    .Input("x: T")
    .Input("y: T")
    .Input("g: T")
    .Output("out: T")
    .Attr("T: {half, bfloat16, float, double}")
    .SetShapeFn([](shape_inference::InferenceContext* c) {
      shape_inference::ShapeHandle merged;
      TF_RETURN_IF_ERROR(c->Merge(c->input(1), c->input(2), &merged));
      c->set_output(0, merged);
      return OkStatus();
    })
    .Doc("out = y; gradient dy * g with respect to x (tf_activations).");

REGISTER_OP("TfaBackward")
    .Input("x: T")
    .Input("dy: T")
    .Input("p: double")
    .Input("c: double")
    .Output("dx: T")
    .Output("dp: double")
    .Attr("T: {half, bfloat16, float, double}")
    .Attr("fn: string")
    .Attr("param_grad: bool = false")
    .SetShapeFn([](shape_inference::InferenceContext* c) {
      shape_inference::ShapeHandle merged, unused;
      TF_RETURN_IF_ERROR(c->Merge(c->input(0), c->input(1), &merged));
      TF_RETURN_IF_ERROR(c->WithRank(c->input(2), 0, &unused));
      TF_RETURN_IF_ERROR(c->WithRank(c->input(3), 1, &unused));
      c->set_output(0, merged);
      c->set_output(1, c->Scalar());
      return OkStatus();
    })
    .Doc("Fused activation backward: dx = dy * f'(x), dp = sum(dy * df/dp).");

REGISTER_OP("TfaGatedForward")
    .Input("x: T")
    .Output("y: T")
    .Attr("T: {float, double}")
    .Attr("fn: string")
    .SetShapeFn([](shape_inference::InferenceContext* c) {
      shape_inference::ShapeHandle x;
      TF_RETURN_IF_ERROR(c->WithRank(c->input(0), 3, &x));
      c->set_output(0, c->MakeShape({c->Dim(x, 0), c->Dim(x, 2)}));
      return OkStatus();
    })
    .Doc("Fused gated unit (tf_activations): y = x[:, 0] * gate(x[:, 1]) for x of shape [outer, 2, m].");

REGISTER_OP("TfaGatedBackward")
    .Input("x: T")
    .Input("dy: T")
    .Output("dx: T")
    .Attr("T: {float, double}")
    .Attr("fn: string")
    .SetShapeFn([](shape_inference::InferenceContext* c) {
      shape_inference::ShapeHandle x;
      TF_RETURN_IF_ERROR(c->WithRank(c->input(0), 3, &x));
      c->set_output(0, x);
      return OkStatus();
    })
    .Doc("Fused gated unit backward: both halves' gradients, dy * gate(b) and dy * gate'(b) * a.");

#define TFA_REGISTER_GATED(T)                                                                    \
  REGISTER_KERNEL_BUILDER(Name("TfaGatedForward").Device(DEVICE_CPU).TypeConstraint<T>("T"),     \
                          ::tfa::GatedOp<T, false>);                                             \
  REGISTER_KERNEL_BUILDER(Name("TfaGatedBackward").Device(DEVICE_CPU).TypeConstraint<T>("T"),    \
                          ::tfa::GatedOp<T, true>);
TFA_REGISTER_GATED(float)
TFA_REGISTER_GATED(double)
#undef TFA_REGISTER_GATED

#define TFA_REGISTER(T)                                                                          \
  REGISTER_KERNEL_BUILDER(Name("TfaForward").Device(DEVICE_CPU).TypeConstraint<T>("T"),          \
                          ::tfa::ForwardOp<T, false>);                                           \
  REGISTER_KERNEL_BUILDER(Name("TfaForwardSaved").Device(DEVICE_CPU).TypeConstraint<T>("T"),     \
                          ::tfa::ForwardOp<T, true>);                                            \
  REGISTER_KERNEL_BUILDER(Name("TfaAttach").Device(DEVICE_CPU).TypeConstraint<T>("T"),           \
                          ::tfa::AttachOp);                                                      \
  REGISTER_KERNEL_BUILDER(Name("TfaBackward").Device(DEVICE_CPU).TypeConstraint<T>("T"),         \
                          ::tfa::BackwardOp<T>);
TFA_REGISTER(Eigen::half)
TFA_REGISTER(Eigen::bfloat16)
TFA_REGISTER(float)
TFA_REGISTER(double)
#undef TFA_REGISTER

}  // namespace tensorflow
