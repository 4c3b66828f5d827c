// Elementwise arithmetic with NumPy broadcasting, and scalar forms.
#pragma once
#include "attn/autograd/var.h"

namespace attn::autograd {

Var add(const Var& a, const Var& b);
Var sub(const Var& a, const Var& b);
Var mul(const Var& a, const Var& b);
Var div(const Var& a, const Var& b);
Var scale(const Var& x, float alpha);      // alpha * x
Var add_scalar(const Var& x, float c);     // x + c

inline Var operator+(const Var& a, const Var& b) { return add(a, b); }
inline Var operator-(const Var& a, const Var& b) { return sub(a, b); }
inline Var operator*(const Var& a, const Var& b) { return mul(a, b); }
inline Var operator/(const Var& a, const Var& b) { return div(a, b); }
inline Var operator*(const Var& x, float alpha) { return scale(x, alpha); }

}  // namespace attn::autograd
