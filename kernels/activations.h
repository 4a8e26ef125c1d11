// Elementwise activation math as Eigen packet functors.
//
// Each activation is one struct with
//   kWide      float32 forward evaluated in double and rounded once (as the
//              Python path does for transcendental composites);
//   kParam     it takes a differentiable scalar parameter p (swish beta,
//              snake frequency), whose gradient the backward op reduces;
//   kFixed     how many fixed (non-differentiable) parameters c[] it reads;
//   fwd(x, a)           f(x)
//   grad(x, a, &dfdp)   f'(x); when kParam, also writes d f / d p.
// The formulas are the ones declared in tf_activations/catalog/*.py, written
// with the same guards (so +-inf and NaN give the same answers).
//
// Adding an activation: one struct here and one line in TFA_ACTIVATIONS.
#pragma once

#include <cmath>
#include <type_traits>

#include "unsupported/Eigen/CXX11/Tensor"
#include "unsupported/Eigen/SpecialFunctions"

#ifndef TFA_F32_DEFAULT
#define TFA_F32_DEFAULT false
#endif

// kF32: a float32 forward may use float math (measured within 4 ulp of the
// float64 reference) except on packets where wide_lanes() is set: there
// float intermediates underflow (exp below -80), so those are redone in double.
#ifdef __FMA__
#define TFA_HAVE_FMA true
#else
#define TFA_HAVE_FMA false
#endif

#define TFA_WIDE_BELOW(expr)                                                      \
  template <typename P> static EIGEN_STRONG_INLINE P wide_lanes(const P& x, const Args<P>& a) { \
    (void)a;                                                                      \
    return ei::pcmp_lt_or_nan(expr, k<P>(-80.0));                                 \
  }

namespace tfa {

namespace ei = Eigen::internal;

template <typename P>
struct Args {
  P p;     // differentiable parameter (or 1)
  P c0;    // fixed parameters
  P c1;
};

// ---- building blocks (tf_activations/catalog/_math.py) ----------------------
template <typename P> EIGEN_STRONG_INLINE P k(double v) {
  return ei::pset1<P>(static_cast<typename ei::unpacket_traits<P>::type>(v));
}
template <typename P> EIGEN_STRONG_INLINE P vmax(const P& a, const P& b) {
  return ei::pmax<Eigen::PropagateNaN>(a, b);
}
template <typename P> EIGEN_STRONG_INLINE P vmin(const P& a, const P& b) {
  return ei::pmin<Eigen::PropagateNaN>(a, b);
}
// tf.where(c, a, b)
template <typename P> EIGEN_STRONG_INLINE P where(const P& c, const P& a, const P& b) {
  return ei::pselect(c, a, b);
}
template <typename P> EIGEN_STRONG_INLINE P gt(const P& a, const P& b) { return ei::pcmp_lt(b, a); }
template <typename P> EIGEN_STRONG_INLINE P ge(const P& a, const P& b) { return ei::pcmp_le(b, a); }
template <typename P> EIGEN_STRONG_INLINE P lt(const P& a, const P& b) { return ei::pcmp_lt(a, b); }
// 1 where the mask is set, else 0
template <typename P> EIGEN_STRONG_INLINE P step(const P& mask) {
  return ei::pand(mask, k<P>(1.0));
}
template <typename P> EIGEN_STRONG_INLINE P isinf(const P& x) {
  return ei::pcmp_eq(ei::pabs(x), k<P>(INFINITY));
}
// a * b with 0 wherever b == 0 (limits such as inf * sigmoid(-inf))
template <typename P> EIGEN_STRONG_INLINE P times(const P& a, const P& b) {
  return where(ei::pcmp_eq(b, ei::pzero(b)), ei::pzero(b), ei::pmul(a, b));
}
// -|z| as where(z >= 0, -z, z)
template <typename P> EIGEN_STRONG_INLINE P neg_abs(const P& z) {
  return where(ge(z, ei::pzero(z)), ei::pnegate(z), z);
}
template <typename P> EIGEN_STRONG_INLINE P sigmoid(const P& z) {
  const P one = k<P>(1.0);
  const P e = ei::pexp(neg_abs(z));
  const P r = ei::pdiv(one, ei::padd(one, e));  // one division for both branches
  return where(ge(z, ei::pzero(z)), r, ei::pmul(e, r));
}
template <typename P> EIGEN_STRONG_INLINE P sigmoid_slope(const P& z) {
  const P e = ei::pexp(neg_abs(z));
  const P d = ei::padd(k<P>(1.0), e);
  return ei::pdiv(e, ei::pmul(d, d));
}
// sigmoid(z) and sigmoid'(z) = e r^2 (e = exp(-|z|), r = 1 / (1 + e)) from one exp and one
// division: a backward pass needs both.
template <typename P> EIGEN_STRONG_INLINE void sigmoid_and_slope(const P& z, P* s, P* slope) {
  const P e = ei::pexp(neg_abs(z));
  const P r = ei::pdiv(k<P>(1.0), ei::padd(k<P>(1.0), e));
  const P er = ei::pmul(e, r);
  *s = where(ge(z, ei::pzero(z)), r, er);
  *slope = ei::pmul(er, r);
}
// expm1(z) for z <= 0 (every caller clamps or negates first; NaN passes).
// Eigen's own expm1 packet is an exp, a log and a division per element; this
// is one exp or one polynomial: exp(z) - 1 below -ln 2, where exp(z) <= 1/2
// and nothing cancels; above it z + z^2 Q(z), Q the Taylor series of
// (e^z - 1 - z) / z^2 cut where its next term is below the type's epsilon on
// [-ln 2, 0] (float: z^10 / 10!, double: z^17 / 17!).
constexpr double inv_factorial(int n) {
  double r = 1.0;
  for (int i = 2; i <= n; ++i) r /= i;
  return r;
}
template <typename P> EIGEN_STRONG_INLINE P expm1_nonpositive(const P& z) {
  using S = typename ei::unpacket_traits<P>::type;
  constexpr int kTerms = sizeof(S) == sizeof(double) ? 17 : 10;
  P q = k<P>(inv_factorial(kTerms));
  for (int i = kTerms - 1; i >= 2; --i) q = ei::pmadd(q, z, k<P>(inv_factorial(i)));
  const P near_zero = ei::pmadd(ei::pmul(z, z), q, z);
  return where(ge(z, k<P>(-0.69314718055994530942)), near_zero, ei::psub(ei::pexp(z), k<P>(1.0)));
}

// alpha expm1(x / alpha) for z = x / alpha <= 0, written with x (not alpha z) near 0:
// x + x z Q(z). With alpha near the type's maximum z is subnormal there and
// flushed to 0, which must still give x, not 0.
template <typename P> EIGEN_STRONG_INLINE P scaled_expm1_nonpositive(const P& x, const P& z, const P& alpha) {
  using S = typename ei::unpacket_traits<P>::type;
  constexpr int kTerms = sizeof(S) == sizeof(double) ? 17 : 10;
  P q = k<P>(inv_factorial(kTerms));
  for (int i = kTerms - 1; i >= 2; --i) q = ei::pmadd(q, z, k<P>(inv_factorial(i)));
  const P near_zero = ei::pmadd(ei::pmul(x, z), q, x);
  return where(ge(z, k<P>(-0.69314718055994530942)), near_zero,
               ei::pmul(alpha, ei::psub(ei::pexp(z), k<P>(1.0))));
}

// c[0] z^(N-1) + c[1] z^(N-2) + ... + c[N-1] by Horner's rule, one fma per coefficient.
template <typename P, size_t N> EIGEN_STRONG_INLINE P horner(const P& z, const double (&c)[N]) {
  P r = k<P>(c[0]);
  for (size_t i = 1; i < N; ++i) r = ei::pmadd(r, z, k<P>(c[i]));
  return r;
}

// sin and cos of a double packet with one argument reduction for every lane.
// Eigen's psin/pcos switch the whole packet to a finer reduction when any lane
// is >= 15, so a lane's result would depend on its neighbours; here every lane
// takes the finer one (lanes >= 1e14 go through std::sin/cos, lane by lane).
template <typename P> EIGEN_STRONG_INLINE void sincos_uniform(const P& x, P* sin_out, P* cos_out) {
  using PI = typename ei::unpacket_traits<P>::integer_packet;
  const P x_abs = ei::pabs(x);
  const P two_over_pi = k<P>(0.63661977236758134307553505349006);
  const P split = k<P>(1 << 24);
  const P q_high = ei::pmul(ei::pfloor(ei::pmul(x_abs, ei::pdiv(two_over_pi, split))), split);
  const PI q_int = ei::pcast<P, PI>(ei::padd(ei::psub(ei::pmul(x_abs, two_over_pi), q_high), k<P>(0.5)));
  const P s = ei::trig_reduce_medium_double(x_abs, q_high, ei::pcast<PI, P>(q_int));
  const P ss = ei::pmul(s, s);
  // Eigen's Pade approximants (< 1 ulp on [-pi/4, pi/4])
  constexpr double kCosNum[] = {80737373, -13853547000, 727718024880, -11275015752000, 23594700729600};
  constexpr double kCosDen[] = {147173, 39328920, 5772800880, 522334612800, 23594700729600};
  constexpr double kSinNum[] = {4585922449, -1066023933480, 83284044283440, -2303682236856000, 15605159573203200};
  constexpr double kSinDen[] = {1029037, 345207016, 61570292784, 6603948711360, 346781323848960};
  const P scos = ei::pdiv(horner(ss, kCosNum), horner(ss, kCosDen));
  const P sn = horner(ss, kSinNum);
  const P sd = horner(ss, kSinDen);
  const P ssin = ei::pdiv(ei::pmul(s, sn), ei::pmul(k<P>(45), sd));
  const P even = ei::preinterpret<P>(ei::pcmp_eq(ei::pand(q_int, ei::pset1<PI>(1)), ei::pzero(q_int)));
  const P sign = k<P>(-0.0);
  const P sin_sign = ei::pand(ei::pxor(x, ei::preinterpret<P>(ei::plogical_shift_left<62>(q_int))), sign);
  const P cos_sign =
      ei::pand(ei::preinterpret<P>(ei::plogical_shift_left<62>(ei::padd(q_int, ei::pset1<PI>(1)))), sign);
  P sv = ei::pxor(where(even, ssin, scos), sin_sign);
  P cv = ei::pxor(where(even, scos, ssin), cos_sign);
  if (ei::predux_any(ei::pcmp_le(k<P>(1e14), x_abs))) {
    constexpr int W = ei::unpacket_traits<P>::size;
    alignas(64) double xs[W], sb[W], cb[W];
    ei::pstoreu(xs, x);
    ei::pstoreu(sb, sv);
    ei::pstoreu(cb, cv);
    for (int i = 0; i < W; ++i) {
      if (std::abs(xs[i]) >= 1e14 && std::isfinite(xs[i])) {
        sb[i] = std::sin(xs[i]);
        cb[i] = std::cos(xs[i]);
      }
    }
    sv = ei::ploadu<P>(sb);
    cv = ei::ploadu<P>(cb);
  }
  *sin_out = sv;
  *cos_out = cv;
}
// float packets: Eigen's reduction does not depend on the neighbours there
template <typename P> EIGEN_STRONG_INLINE void sincos(const P& x, P* s, P* c) {
  if constexpr (std::is_same<typename ei::unpacket_traits<P>::type, double>::value) {
    sincos_uniform(x, s, c);
  } else {
    *s = ei::psin(x);
    *c = ei::pcos(x);
  }
}

// where(z >= 0, -t / (2 + t), t / (2 + t)), t = expm1(2 neg_abs(z))
template <typename P> EIGEN_STRONG_INLINE P tanh_(const P& z) {
  const P t = expm1_nonpositive(ei::pmul(k<P>(2.0), neg_abs(z)));
  const P d = ei::padd(k<P>(2.0), t);
  return where(ge(z, ei::pzero(z)), ei::pdiv(ei::pnegate(t), d), ei::pdiv(t, d));
}
template <typename P> EIGEN_STRONG_INLINE P sech2(const P& z) {
  const P e = ei::pexp(ei::pmul(k<P>(2.0), neg_abs(z)));
  const P d = ei::padd(k<P>(1.0), e);
  return ei::pdiv(ei::pmul(k<P>(4.0), e), ei::pmul(d, d));
}
// y, except on lanes where exp(z) is not a normal number of the packet's type
// (z below about -708 in double, -87 in float) while y = x e^z (1 + O(e^z))
// may still be: there x e^z as (x h) h, h = e^(z / 2), as _math.times_sigmoid
// does. Only packets with such a lane pay for the second exp.
template <typename P> EIGEN_STRONG_INLINE P with_exp_tail(const P& y, const P& x, const P& z) {
  using S = typename ei::unpacket_traits<P>::type;
  const P tail = lt(z, k<P>(sizeof(S) == sizeof(double) ? -708.0 : -87.0));
  if (!ei::predux_any(tail)) return y;
  const P h = ei::pexp(ei::pmul(k<P>(0.5), z));
  return where(tail, times(times(x, h), h), y);
}
template <typename P> EIGEN_STRONG_INLINE P clip(const P& x, double lo, double hi) {
  return vmin(vmax(x, k<P>(lo)), k<P>(hi));
}

// ---- activations ------------------------------------------------------------
constexpr double kSqrtHalf = 0.70710678118654752440084436210485;
constexpr double kInvSqrt2Pi = 0.39894228040143267793994605993438;
constexpr double kTanhGeluC = 0.79788456080286535587989211986876;  // sqrt(2/pi)
constexpr double kTanhGeluA = 0.044715;
constexpr double kMishLinearAbove = 20.0;
constexpr double kSeluAlpha = 1.6732632423543772848170429916717;
constexpr double kSeluScale = 1.0507009873554804934193349852946;

struct Sigmoid {
  static constexpr bool kWide = true, kParam = false;
  static constexpr int kFixed = 0;
  static constexpr bool kF32 = true || TFA_F32_DEFAULT;  // float math measured 2.73 ulp
  TFA_WIDE_BELOW(x)
  template <typename P> static EIGEN_STRONG_INLINE P fwd(const P& x, const Args<P>&) { return sigmoid(x); }
  template <typename P> static EIGEN_STRONG_INLINE P grad(const P& x, const Args<P>&, P*) {
    return sigmoid_slope(x);
  }
};

struct Tanh {
  static constexpr bool kWide = true, kParam = false;
  static constexpr int kFixed = 0;
  static constexpr bool kF32 = true || TFA_F32_DEFAULT;  // float math measured 2.49 ulp
  TFA_WIDE_BELOW(x)
  template <typename P> static EIGEN_STRONG_INLINE P fwd(const P& x, const Args<P>&) { return tanh_(x); }
  template <typename P> static EIGEN_STRONG_INLINE P grad(const P& x, const Args<P>&, P*) { return sech2(x); }
};

struct Mish {
  static constexpr bool kWide = true, kParam = false;
  static constexpr int kFixed = 0;
  static constexpr bool kF32 = TFA_F32_DEFAULT;  // float math measured 4.03 ulp (exp error): double
  TFA_WIDE_BELOW(x)
  template <typename P> static EIGEN_STRONG_INLINE void parts(const P& x, P& e, P& n) {
    e = ei::pexp(vmin(x, k<P>(kMishLinearAbove)));
    n = ei::pmul(e, ei::padd(e, k<P>(2.0)));
  }
  template <typename P> static EIGEN_STRONG_INLINE P fwd(const P& x, const Args<P>&) {
    P e, n;
    parts(x, e, n);
    // (x n) / (n + 2): one rounding fewer than x (n / (n + 2)); x n <= 20 e^40 cannot overflow
    // where it is used (x > 20 takes the other branch).
    // n + 2 as fma(e, e + 2, 2): one rounding fewer again (float32 stays within 4 ulp)
    const P d = ei::pmadd(e, ei::padd(e, k<P>(2.0)), k<P>(2.0));
    return with_exp_tail(where(gt(x, k<P>(kMishLinearAbove)), x, ei::pdiv(times(x, n), d)), x, x);
  }
  template <typename P> static EIGEN_STRONG_INLINE P grad(const P& x, const Args<P>&, P*) {
    P e, n;
    parts(x, e, n);
    const P r = ei::pdiv(k<P>(1.0), ei::padd(n, k<P>(2.0)));  // 1 / (n + 2)
    const P gate = ei::pmul(n, r);
    const P slope = ei::pmul(ei::pmul(ei::pmul(k<P>(4.0), ei::padd(n, k<P>(1.0))), ei::pmul(r, r)),
                             ei::pdiv(e, ei::padd(k<P>(1.0), e)));
    const P g = where(gt(x, k<P>(kMishLinearAbove)), k<P>(1.0), ei::padd(gate, times(x, slope)));
    const P tail = lt(x, k<P>(-80.0));
    if (!ei::predux_any(tail)) return g;
    return where(tail, tail_grad(x), g);
  }
  // Below x = -80 e^x nears the subnormal range (flushed to 0 from -87.3 in float32) while
  // mish' ~ (1 + x) e^x stays normal to -91.8: both terms' factor e = h h, h = e^(x/2), is
  // taken out and multiplied back last. Only packets with such a lane pay for it.
  template <typename P> static EIGEN_STRONG_INLINE P tail_grad(const P& x) {
    const P h = ei::pexp(ei::pmul(k<P>(0.5), vmin(x, k<P>(kMishLinearAbove))));
    const P e = ei::pmul(h, h);
    const P n = ei::pmul(e, ei::padd(e, k<P>(2.0)));
    const P r = ei::pdiv(k<P>(1.0), ei::padd(n, k<P>(2.0)));
    const P slope_per_e = ei::pdiv(ei::pmul(ei::pmul(k<P>(4.0), ei::padd(n, k<P>(1.0))), ei::pmul(r, r)),
                                   ei::padd(k<P>(1.0), e));
    const P per_e = ei::padd(ei::pmul(ei::padd(e, k<P>(2.0)), r), times(x, slope_per_e));
    return times(times(per_e, h), h);
  }
};

struct Swish {  // x * sigmoid(p x)
  static constexpr bool kWide = true, kParam = true;
  static constexpr int kFixed = 0;
  static constexpr bool kF32 = false || TFA_F32_DEFAULT;  // float beta*x: error grows with |beta x|
  TFA_WIDE_BELOW(ei::pmul(a.p, x))
  template <typename P> static EIGEN_STRONG_INLINE P fwd(const P& x, const Args<P>& a) {
    const P z = ei::pmul(a.p, x);
    return with_exp_tail(times(x, sigmoid(z)), x, z);
  }
  template <typename P> static EIGEN_STRONG_INLINE P grad(const P& x, const Args<P>& a, P* dp) {
    const P z = ei::pmul(a.p, x);
    P s, slope;
    sigmoid_and_slope(z, &s, &slope);
    if (dp) *dp = times(ei::pmul(x, x), slope);
    return ei::padd(s, times(z, slope));
  }
};

struct Silu {  // swish with beta = 1 (no parameter gradient)
  static constexpr bool kWide = true, kParam = false;
  static constexpr int kFixed = 0;
  static constexpr bool kF32 = true || TFA_F32_DEFAULT;
  TFA_WIDE_BELOW(x)
  template <typename P> static EIGEN_STRONG_INLINE P fwd(const P& x, const Args<P>&) {
    // x / (1 + e^-x): one exp, one division, no branch select; e^-x overflows only in the
    // tail, which with_exp_tail recomputes (and -inf / inf there)
    return with_exp_tail(ei::pdiv(x, ei::padd(k<P>(1.0), ei::pexp(ei::pnegate(x)))), x, x);
  }
  template <typename P> static EIGEN_STRONG_INLINE P grad(const P& x, const Args<P>&, P*) {
    // s + x s (1 - s) from e^-x, the forward's exp (one exp for both where they share a loop);
    // 1 - s as e^-x s, which does not cancel. Below the tail limit e^-x overflows: there the
    // e^-|x| form, for packets with such a lane.
    using S = typename ei::unpacket_traits<P>::type;
    const P e = ei::pexp(ei::pnegate(x));
    const P s = ei::pdiv(k<P>(1.0), ei::padd(k<P>(1.0), e));
    const P g = ei::padd(s, times(x, ei::pmul(ei::pmul(e, s), s)));
    const P tail = lt(x, k<P>(sizeof(S) == sizeof(double) ? -708.0 : -87.0));
    if (!ei::predux_any(tail)) return g;
    P s_tail, slope;
    sigmoid_and_slope(x, &s_tail, &slope);
    return where(tail, ei::padd(s_tail, times(x, slope)), g);
  }
};

struct Gelu {  // exact: x/2 erfc(-x/sqrt2)
  static constexpr bool kWide = true, kParam = false;
  static constexpr int kFixed = 0;
  static constexpr bool kF32 = false || TFA_F32_DEFAULT;
  TFA_WIDE_BELOW(x)
  template <typename P> static EIGEN_STRONG_INLINE P phi(const P& x) {
    return ei::pmul(k<P>(0.5), ei::perfc(ei::pmul(k<P>(-kSqrtHalf), x)));
  }
  template <typename P> static EIGEN_STRONG_INLINE P fwd(const P& x, const Args<P>&) {
    return times(x, phi(x));
  }
  template <typename P> static EIGEN_STRONG_INLINE P grad(const P& x, const Args<P>&, P*) {
    const P pdf = ei::pmul(k<P>(kInvSqrt2Pi), ei::pexp(ei::pmul(k<P>(-0.5), ei::pmul(x, x))));
    return ei::padd(phi(x), times(x, pdf));
  }
};

struct GeluTanh {  // x * sigmoid(2u), u = c (x + a x^3)
  static constexpr bool kWide = true, kParam = false;
  static constexpr int kFixed = 0;
  static constexpr bool kF32 = false || TFA_F32_DEFAULT;
  TFA_WIDE_BELOW(x)
  template <typename P> static EIGEN_STRONG_INLINE P z2(const P& x) {
    const P cube = ei::pmul(ei::pmul(x, x), x);
    const P u = ei::pmul(k<P>(kTanhGeluC), ei::padd(x, ei::pmul(k<P>(kTanhGeluA), cube)));
    return ei::pmul(k<P>(2.0), u);
  }
  template <typename P> static EIGEN_STRONG_INLINE P fwd(const P& x, const Args<P>&) {
    const P z = z2(x);
    return with_exp_tail(times(x, sigmoid(z)), x, z);
  }
  template <typename P> static EIGEN_STRONG_INLINE P grad(const P& x, const Args<P>&, P*) {
    const P z = z2(x);
    const P dz = ei::pmul(k<P>(2.0 * kTanhGeluC),
                          ei::padd(k<P>(1.0), ei::pmul(k<P>(3.0 * kTanhGeluA), ei::pmul(x, x))));
    P s, slope;
    sigmoid_and_slope(z, &s, &slope);
    return ei::padd(s, times(ei::pmul(x, dz), slope));
  }
};

struct HardSwish {  // x * clip(x + 3, 0, 6) / 6, float32 math
  static constexpr bool kWide = false, kParam = false;
  static constexpr int kFixed = 0;
  static constexpr bool kF32 = false || TFA_F32_DEFAULT;
  TFA_WIDE_BELOW(x)
  template <typename P> static EIGEN_STRONG_INLINE P fwd(const P& x, const Args<P>&) {
    return times(x, ei::pdiv(clip(ei::padd(x, k<P>(3.0)), 0.0, 6.0), k<P>(6.0)));
  }
  template <typename P> static EIGEN_STRONG_INLINE P grad(const P& x, const Args<P>&, P*) {
    const P inside = clip(x, -3.0, 3.0);  // 2x + 3 must not overflow in the unused branch
    const P inner = ei::pdiv(ei::pmul(step(gt(x, k<P>(-3.0))),
                                      ei::padd(ei::pmul(k<P>(2.0), inside), k<P>(3.0))),
                             k<P>(6.0));
    return where(ge(x, k<P>(3.0)), k<P>(1.0), inner);
  }
};

struct HardSigmoid {  // clip(x + 3, 0, 6) / 6
  static constexpr bool kWide = false, kParam = false;
  static constexpr int kFixed = 0;
  static constexpr bool kF32 = false || TFA_F32_DEFAULT;
  TFA_WIDE_BELOW(x)
  template <typename P> static EIGEN_STRONG_INLINE P fwd(const P& x, const Args<P>&) {
    return ei::pdiv(clip(ei::padd(x, k<P>(3.0)), 0.0, 6.0), k<P>(6.0));
  }
  template <typename P> static EIGEN_STRONG_INLINE P grad(const P& x, const Args<P>&, P*) {
    return ei::pdiv(step(ei::pand(gt(x, k<P>(-3.0)), lt(x, k<P>(3.0)))), k<P>(6.0));
  }
};

struct Elu {  // c0 = alpha
  static constexpr bool kWide = true, kParam = false;
  static constexpr int kFixed = 1;
  static constexpr bool kF32 = true || TFA_F32_DEFAULT;
  TFA_WIDE_BELOW(x)
  template <typename P> static EIGEN_STRONG_INLINE P fwd(const P& x, const Args<P>& a) {
    const P zero = ei::pzero(x);
    return where(gt(x, zero), x, ei::pmul(a.c0, expm1_nonpositive(vmin(x, zero))));
  }
  template <typename P> static EIGEN_STRONG_INLINE P grad(const P& x, const Args<P>& a, P*) {
    const P zero = ei::pzero(x);
    return where(gt(x, zero), k<P>(1.0), ei::pmul(a.c0, ei::pexp(vmin(x, zero))));
  }
};

struct Selu {
  static constexpr bool kWide = true, kParam = false;
  static constexpr int kFixed = 0;
  static constexpr bool kF32 = true || TFA_F32_DEFAULT;
  TFA_WIDE_BELOW(x)
  template <typename P> static EIGEN_STRONG_INLINE P fwd(const P& x, const Args<P>&) {
    const P zero = ei::pzero(x);
    return where(gt(x, zero), ei::pmul(k<P>(kSeluScale), x),
                 ei::pmul(k<P>(kSeluScale * kSeluAlpha), expm1_nonpositive(vmin(x, zero))));
  }
  template <typename P> static EIGEN_STRONG_INLINE P grad(const P& x, const Args<P>&, P*) {
    const P zero = ei::pzero(x);
    return where(gt(x, zero), k<P>(kSeluScale),
                 ei::pmul(k<P>(kSeluScale * kSeluAlpha), ei::pexp(vmin(x, zero))));
  }
};

struct Celu {  // c0 = alpha
  static constexpr bool kWide = true, kParam = false;
  static constexpr int kFixed = 1;
  static constexpr bool kF32 = true || TFA_F32_DEFAULT;  // float math measured 0.95 ulp
  TFA_WIDE_BELOW(x)
  template <typename P> static EIGEN_STRONG_INLINE P fwd(const P& x, const Args<P>& a) {
    const P zero = ei::pzero(x);
    return where(gt(x, zero), x, scaled_expm1_nonpositive(x, vmin(ei::pdiv(x, a.c0), zero), a.c0));
  }
  template <typename P> static EIGEN_STRONG_INLINE P grad(const P& x, const Args<P>& a, P*) {
    const P zero = ei::pzero(x);
    return where(gt(x, zero), k<P>(1.0), ei::pexp(vmin(ei::pdiv(x, a.c0), zero)));
  }
};

struct Softplus {  // max(x, 0) + log1p(exp(-|x|))
  static constexpr bool kWide = true, kParam = false;
  static constexpr int kFixed = 0;
  static constexpr bool kF32 = false || TFA_F32_DEFAULT;
  TFA_WIDE_BELOW(x)
  template <typename P> static EIGEN_STRONG_INLINE P fwd(const P& x, const Args<P>&) {
    return ei::padd(vmax(x, ei::pzero(x)), ei::plog1p(ei::pexp(neg_abs(x))));
  }
  template <typename P> static EIGEN_STRONG_INLINE P grad(const P& x, const Args<P>&, P*) {
    return sigmoid(x);
  }
};

struct Lisht {  // x * tanh(x)
  static constexpr bool kWide = true, kParam = false;
  static constexpr int kFixed = 0;
  static constexpr bool kF32 = false || TFA_F32_DEFAULT;
  TFA_WIDE_BELOW(x)
  template <typename P> static EIGEN_STRONG_INLINE P fwd(const P& x, const Args<P>&) {
    return ei::pmul(x, tanh_(x));
  }
  template <typename P> static EIGEN_STRONG_INLINE P grad(const P& x, const Args<P>&, P*) {
    return ei::padd(tanh_(x), times(x, sech2(x)));
  }
};

// lisht in float math throughout (default mode): x tanh(x) within 3 ulp of the float64
// result where the double-evaluated Lisht is within 1; tanh and sech^2 share one expm1.
struct LishtFloat {
  static constexpr bool kWide = false, kParam = false;
  static constexpr int kFixed = 0;
  static constexpr bool kF32 = false;
  TFA_WIDE_BELOW(x)
  // t = expm1(-2|x|), r = 1 / (2 + t): tanh|x| = |t| r, sech^2 x = 4 (1 + t) r^2. f and f'
  // write them alike, so the saved forward computes them once for both.
  template <typename P> static EIGEN_STRONG_INLINE void parts(const P& x, P& t, P& r) {
    t = expm1_nonpositive(ei::pmul(k<P>(2.0), neg_abs(x)));
    r = ei::pdiv(k<P>(1.0), ei::padd(k<P>(2.0), t));
  }
  template <typename P> static EIGEN_STRONG_INLINE P fwd(const P& x, const Args<P>&) {
    P t, r;
    parts(x, t, r);
    return ei::pmul(ei::pabs(x), ei::pabs(ei::pmul(t, r)));  // |x| tanh|x|: +0 at +-0
  }
  template <typename P> static EIGEN_STRONG_INLINE P grad(const P& x, const Args<P>&, P*) {
    P t, r;
    parts(x, t, r);
    const P th_abs = ei::pnegate(ei::pmul(t, r));
    const P th = where(ge(x, ei::pzero(x)), th_abs, ei::pnegate(th_abs));
    const P s2 = ei::pmul(ei::pmul(k<P>(4.0), ei::padd(k<P>(1.0), t)), ei::pmul(r, r));
    return ei::padd(th, times(x, s2));
  }
};

struct Snake {  // x + sin(p x)^2 / p
  static constexpr bool kWide = true, kParam = true;
  static constexpr int kFixed = 0;
  static constexpr bool kF32 = false || TFA_F32_DEFAULT;
  TFA_WIDE_BELOW(x)
  // Where p x is not finite (x = +-inf, or |x| near the float32 maximum) sin^2(p x) / p is far
  // below half an ulp of x: f = x, and f' is the mean of 1 + sin(2 p x), 1 (_snake_phase_lost).
  template <typename P> static EIGEN_STRONG_INLINE P fwd(const P& x, const Args<P>& a) {
    const P lost = isinf(ei::pmul(a.p, x));
    const P fin = where(lost, ei::pzero(x), x);
    P s, c;
    sincos(ei::pmul(a.p, fin), &s, &c);
    return where(lost, x, ei::padd(fin, ei::pdiv(ei::pmul(s, s), a.p)));
  }
  template <typename P> static EIGEN_STRONG_INLINE P grad(const P& x, const Args<P>& a, P* dp) {
    // 2 sin cos, not sin(2ax): 2ax overflows float32 for |ax| > 1.7e38.
    const P lost = isinf(ei::pmul(a.p, x));
    const P fin = where(lost, ei::pzero(x), x);
    const P ax = ei::pmul(a.p, fin);
    P s, c;
    sincos(ax, &s, &c);
    if (dp) {
      const P sp = ei::pdiv(s, a.p);
      *dp = ei::psub(ei::pdiv(ei::pmul(ei::pmul(ei::pmul(k<P>(2.0), fin), s), c), a.p), ei::pmul(sp, sp));
    }
    return where(lost, k<P>(1.0), ei::padd(k<P>(1.0), ei::pmul(ei::pmul(k<P>(2.0), s), c)));
  }
};

// gelu in float math for float32 (default mode). Eigen's float erfc of the rounded -x/sqrt2
// is off by up to 180 ulp near x = -12 (the rounding of x/sqrt2 is amplified by 2 z^2 in
// exp(-z^2)), so this forms Phi(-|x|) = erfc(z)/2 = t exp(-x^2/2) Q(t) / 2 itself:
// t = 1 / (1 + z/2), z = |x|/sqrt2; exp(-x^2/2) from x^2 = h + l split exactly with an fma
// (h/2 exact, e^(-l/2) ~ 1 - l/2); Q(t) = erfc(z) e^(z^2) / t, smooth on t in (0.17, 1], a
// degree-10 polynomial fitted by least squares (weights 1/Q) to 40-digit mpmath values at
// 4000 points z in [0, 9.6]: relative error 1.7e-8. Float64 tensors take Gelu's double erfc.
// Below x = -12.9 gelu nears the subnormal range: those lanes are redone in double. Without
// FMA the split is lost, so there the float32 forward stays in double (kF32).
struct GeluFloat : Gelu {
  static constexpr bool kF32 = TFA_HAVE_FMA;
  template <typename P> static EIGEN_STRONG_INLINE P wide_lanes(const P& x, const Args<P>&) {
    return ei::pcmp_lt_or_nan(x, k<P>(-12.9));
  }
  // Phi(x) and phi(x) = exp(-x^2/2) / sqrt(2 pi), for |x| up to 13.5 (beyond: phi = 0)
  template <typename P> static EIGEN_STRONG_INLINE void parts(const P& x, P& cdf, P& pdf) {
    constexpr double q[] = {0.04006672714419378,  -0.21468199657496637, 0.438072913224454,
                            -0.3672034992004157,  0.04515257079801743,  -0.002737709919795168,
                            0.06925548115048316,  0.18205911468130614,  0.2457201611245588,
                            0.28220605036473423,  0.2820902039437799};  // t^10 .. t^0
    const P ax = vmin(ei::pabs(x), k<P>(13.5));
    const P h = ei::pmul(ax, ax);
    const P l = ei::pmsub(ax, ax, h);
    const P e = ei::pmul(ei::pexp(ei::pmul(k<P>(-0.5), h)), ei::pnmadd(k<P>(0.5), l, k<P>(1.0)));
    const P t = ei::pdiv(k<P>(1.0), ei::pmadd(k<P>(0.5 * kSqrtHalf), ax, k<P>(1.0)));
    const P half_erfc = ei::pmul(ei::pmul(k<P>(0.5), t), ei::pmul(e, horner(t, q)));  // Phi(-|x|)
    cdf = where(lt(x, ei::pzero(x)), half_erfc, ei::psub(k<P>(1.0), half_erfc));
    pdf = where(lt(ei::pabs(x), k<P>(13.5)), ei::pmul(k<P>(kInvSqrt2Pi), e), ei::pzero(x));
  }
  template <typename P> static EIGEN_STRONG_INLINE P fwd(const P& x, const Args<P>& a) {
    if constexpr (sizeof(typename ei::unpacket_traits<P>::type) == sizeof(double)) return Gelu::fwd(x, a);
    P cdf, pdf;
    parts(x, cdf, pdf);
    return times(x, cdf);  // -inf Phi(-inf) = 0 (half types have no double lanes)
  }
  template <typename P> static EIGEN_STRONG_INLINE P grad(const P& x, const Args<P>& a, P* dp) {
    if constexpr (sizeof(typename ei::unpacket_traits<P>::type) == sizeof(double)) return Gelu::grad(x, a, dp);
    P cdf, pdf;
    parts(x, cdf, pdf);
    return ei::padd(cdf, times(x, pdf));
  }
};

// snake in float math throughout (default mode)
struct SnakeFloat : Snake {
  static constexpr bool kWide = false;
};

// name (the op's `fn` attr), functor. swish_beta1: swish with beta == 1 computed as silu
// (beta x = x exactly, so float math is as accurate); dispatched only where beta needs no
// gradient, and differentiated as silu.
// ---- gated units: a * g(b) on the halves [a, b] of an axis (catalog/vector.py) ----
// p * q, but 0 where one factor is 0 and the other infinite (a closed gate on an infinite
// value, no upstream gradient on an infinite slope); a NaN in either stays (the catalog's
// _product).
template <typename P> EIGEN_STRONG_INLINE P gated_product(const P& p, const P& q) {
  const P zero = ei::pzero(p);
  const P dead = ei::por(ei::pand(isinf(p), ei::pcmp_eq(q, zero)), ei::pand(isinf(q), ei::pcmp_eq(p, zero)));
  return where(dead, zero, ei::pmul(p, q));
}
// relu as the reglu gate: b <= 0 gives 0, so a NaN b stays NaN; its slope 1 above 0, 0 at and
// below it, NaN at NaN.
struct ReluGate {
  template <typename P> static EIGEN_STRONG_INLINE P fwd(const P& b, const Args<P>&) {
    return where(ei::pcmp_le(b, ei::pzero(b)), ei::pzero(b), b);
  }
  template <typename P> static EIGEN_STRONG_INLINE P grad(const P& b, const Args<P>&, P*) {
    return where(ei::pcmp_eq(b, b), step(gt(b, ei::pzero(b))), b);
  }
};
// The gates, by the gated op's attr fn. Only reglu's: fused swiglu and geglu kernels were
// measured slower than XLA's plain formula at 2^16-2^20 elements (kernels/README.md).
#define TFA_GATES(X) X(reglu, ReluGate)

#define TFA_ACTIVATIONS(X)       \
  X(sigmoid, Sigmoid)            \
  X(tanh, Tanh)                  \
  X(mish, Mish)                  \
  X(swish, Swish)                \
  X(silu, Silu)                  \
  X(swish_beta1, Silu)           \
  X(gelu, Gelu)                  \
  X(gelu_tanh, GeluTanh)         \
  X(hard_swish, HardSwish)       \
  X(hard_sigmoid, HardSigmoid)   \
  X(elu, Elu)                    \
  X(selu, Selu)                  \
  X(celu, Celu)                  \
  X(softplus, Softplus)          \
  X(lisht, Lisht)                \
  X(snake, Snake)                \
  X(lisht_float, LishtFloat)     \
  X(gelu_float, GeluFloat)       \
  X(snake_float, SnakeFloat)

}  // namespace tfa
