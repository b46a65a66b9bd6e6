// archetype/kernels/attention.hpp — token-wise linear maps and multi-head scaled dot-product attention,
// on raw pointers.
//
// Contract: a sequence is [C][T] (channel-major: C channels of T tokens, token t of channel c at c·T + t,
// the layout of shape{C, T, 1}). Every kernel works on this layout directly, without transposes: the
// inner loops run over tokens (contiguous) or over the keys of one query row (contiguous).
//   token_linear_forward          y[o][t] = Σ_i w[o][i]·x[i][t] + b[o]      w [out][in] (nn.Linear layout),
//                                 b [out] or null, one sample                                (overwrites y)
//   token_linear_backward_data    dx[i][t] = Σ_o w[o][i]·dy[o][t], one sample                (overwrites dx)
//   token_linear_backward_params  dw[o][i] += Σ_n Σ_t dy[o][t]·x[i][t], db[o] += Σ_n Σ_t dy[o][t] for rows
//                                 o in [o0, o1) over n samples stored back to back (x: n × [in][T], dy:
//                                 n × [out][T]); samples in order, so threads over rows do not change results
//   attention_forward             one sample: qkv [3D][T] holds Q (rows 0..D), K (D..2D), V (2D..3D); head h
//                                 uses rows h·dh .. (h+1)·dh of each (dh = D / heads). For every head
//                                     P = softmax_rows(scale · QᵀK)   [T queries][T keys]
//                                     O[c][i] = Σ_j P[i][j]·V[c][j]
//                                 writes p [heads][T][T] and o [D][T] (overwrites)
//   attention_backward            one sample: from qkv, p and dO [D][T], writes dqkv [3D][T] (overwrites):
//                                     dV[c][j] = Σ_i P[i][j]·dO[c][i]      dP[i][j] = Σ_c dO[c][i]·V[c][j]
//                                     dS[i][j] = P[i][j]·(dP[i][j] − Σ_k P[i][k]·dP[i][k])
//                                     dQ[c][i] = scale·Σ_j dS[i][j]·K[c][j]   dK[c][j] = scale·Σ_i dS[i][j]·Q[c][i]
//                                 `dp` is T·T floats of scratch
// Softmax subtracts each row's maximum before exponentiating. All sums in float, in index order.
#pragma once

#include <cmath>
#include <cstddef>

namespace archetype::kernels {

inline void token_linear_forward(const float* x, const float* w, const float* b, float* y, std::size_t in,
                                 std::size_t out, std::size_t t_count) {
    for (std::size_t o = 0; o < out; ++o) {
        float* yo = y + o * t_count;
        const float bias = b ? b[o] : 0.0f;
        for (std::size_t t = 0; t < t_count; ++t) yo[t] = 0.0f;
        const float* wo = w + o * in;
        for (std::size_t i = 0; i < in; ++i) {
            const float wi = wo[i];
            const float* xi = x + i * t_count;
            for (std::size_t t = 0; t < t_count; ++t) yo[t] += wi * xi[t];
        }
        for (std::size_t t = 0; t < t_count; ++t) yo[t] += bias;
    }
}

inline void token_linear_backward_data(const float* dy, const float* w, float* dx, std::size_t in, std::size_t out,
                                       std::size_t t_count) {
    for (std::size_t k = 0; k < in * t_count; ++k) dx[k] = 0.0f;
    for (std::size_t o = 0; o < out; ++o) {
        const float* dyo = dy + o * t_count;
        const float* wo = w + o * in;
        for (std::size_t i = 0; i < in; ++i) {
            const float wi = wo[i];
            float* dxi = dx + i * t_count;
            for (std::size_t t = 0; t < t_count; ++t) dxi[t] += wi * dyo[t];
        }
    }
}

inline void token_linear_backward_params(const float* x, const float* dy, float* dw, float* db, std::size_t n,
                                         std::size_t in, std::size_t out, std::size_t t_count, std::size_t o0,
                                         std::size_t o1) {
    for (std::size_t o = o0; o < o1; ++o) {
        float* dwo = dw + o * in;
        for (std::size_t s = 0; s < n; ++s) {
            const float* xs = x + s * in * t_count;
            const float* dyo = dy + (s * out + o) * t_count;
            for (std::size_t i = 0; i < in; ++i) {
                const float* xi = xs + i * t_count;
                float acc = 0.0f;
                for (std::size_t t = 0; t < t_count; ++t) acc += dyo[t] * xi[t];
                dwo[i] += acc;
            }
            if (db) {
                float acc = 0.0f;
                for (std::size_t t = 0; t < t_count; ++t) acc += dyo[t];
                db[o] += acc;
            }
        }
    }
}

// Row-wise softmax of p [rows][cols] in place.
inline void softmax_rows_inplace(float* p, std::size_t rows, std::size_t cols) {
    for (std::size_t i = 0; i < rows; ++i) {
        float* pi = p + i * cols;
        float m = pi[0];
        for (std::size_t j = 1; j < cols; ++j) m = pi[j] > m ? pi[j] : m;
        float sum = 0.0f;
        for (std::size_t j = 0; j < cols; ++j) {
            pi[j] = std::exp(pi[j] - m);
            sum += pi[j];
        }
        const float inv = 1.0f / sum;
        for (std::size_t j = 0; j < cols; ++j) pi[j] *= inv;
    }
}

inline void attention_forward(const float* qkv, float* p, float* o, std::size_t heads, std::size_t dh,
                              std::size_t t_count, float scale) {
    const std::size_t d_model = heads * dh, tt = t_count * t_count;
    for (std::size_t h = 0; h < heads; ++h) {
        const float* q = qkv + h * dh * t_count;
        const float* k = qkv + (d_model + h * dh) * t_count;
        const float* v = qkv + (2 * d_model + h * dh) * t_count;
        float* ph = p + h * tt;
        float* oh = o + h * dh * t_count;
        for (std::size_t e = 0; e < tt; ++e) ph[e] = 0.0f;
        for (std::size_t c = 0; c < dh; ++c) {
            const float* qc = q + c * t_count;
            const float* kc = k + c * t_count;
            for (std::size_t i = 0; i < t_count; ++i) {
                const float qi = scale * qc[i];
                float* pi = ph + i * t_count;
                for (std::size_t j = 0; j < t_count; ++j) pi[j] += qi * kc[j];
            }
        }
        softmax_rows_inplace(ph, t_count, t_count);
        for (std::size_t c = 0; c < dh; ++c) {
            const float* vc = v + c * t_count;
            float* oc = oh + c * t_count;
            for (std::size_t i = 0; i < t_count; ++i) {
                const float* pi = ph + i * t_count;
                float acc = 0.0f;
                for (std::size_t j = 0; j < t_count; ++j) acc += pi[j] * vc[j];
                oc[i] = acc;
            }
        }
    }
}

inline void attention_backward(const float* qkv, const float* p, const float* dout, float* dqkv, float* dp,
                               std::size_t heads, std::size_t dh, std::size_t t_count, float scale) {
    const std::size_t d_model = heads * dh, tt = t_count * t_count;
    for (std::size_t h = 0; h < heads; ++h) {
        const std::size_t q_row = h * dh, k_row = d_model + h * dh, v_row = 2 * d_model + h * dh;
        const float* q = qkv + q_row * t_count;
        const float* k = qkv + k_row * t_count;
        const float* v = qkv + v_row * t_count;
        float* dq = dqkv + q_row * t_count;
        float* dk = dqkv + k_row * t_count;
        float* dv = dqkv + v_row * t_count;
        const float* ph = p + h * tt;
        const float* doh = dout + h * dh * t_count;
        for (std::size_t e = 0; e < tt; ++e) dp[e] = 0.0f;
        for (std::size_t c = 0; c < dh; ++c) {
            const float* vc = v + c * t_count;
            const float* doc = doh + c * t_count;
            float* dvc = dv + c * t_count;
            for (std::size_t j = 0; j < t_count; ++j) dvc[j] = 0.0f;
            for (std::size_t i = 0; i < t_count; ++i) {
                const float g = doc[i];
                const float* pi = ph + i * t_count;
                float* dpi = dp + i * t_count;
                for (std::size_t j = 0; j < t_count; ++j) {
                    dpi[j] += g * vc[j];
                    dvc[j] += g * pi[j];
                }
            }
        }
        // dP -> dS (softmax backward), in place, scaled by `scale` for the Q and K gradients.
        for (std::size_t i = 0; i < t_count; ++i) {
            const float* pi = ph + i * t_count;
            float* dpi = dp + i * t_count;
            float dot = 0.0f;
            for (std::size_t j = 0; j < t_count; ++j) dot += pi[j] * dpi[j];
            for (std::size_t j = 0; j < t_count; ++j) dpi[j] = scale * pi[j] * (dpi[j] - dot);
        }
        for (std::size_t c = 0; c < dh; ++c) {
            const float* qc = q + c * t_count;
            const float* kc = k + c * t_count;
            float* dqc = dq + c * t_count;
            float* dkc = dk + c * t_count;
            for (std::size_t j = 0; j < t_count; ++j) dkc[j] = 0.0f;
            for (std::size_t i = 0; i < t_count; ++i) {
                const float* dsi = dp + i * t_count;
                const float qi = qc[i];
                float acc = 0.0f;
                for (std::size_t j = 0; j < t_count; ++j) {
                    acc += dsi[j] * kc[j];
                    dkc[j] += qi * dsi[j];
                }
                dqc[i] = acc;
            }
        }
    }
}

}  // namespace archetype::kernels
