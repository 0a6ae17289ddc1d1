import Foundation
import RecurCore

// A plain, unfused reference for RecurrentStack.forward: one batch entry,
// one time step and one unit at a time, in Double, with libm's exp and tanh
// and the textbook equations of torch.nn.RNN/LSTM/GRU. Slow on purpose;
// tests compare the fused driver with it.
//
//   x: (T, B, I)   h0, c0: (L·D, B, H) or nil   lengths: [B] or nil
//   returns output (T, B, D·H), hN and cN (L·D, B, H) as flat row-major arrays

public enum RecurrentReference {
    public static func forward(_ stack: RecurrentStack, _ store: ParameterStore, _ x: Tensor,
                               h0: Tensor? = nil, c0: Tensor? = nil, lengths: [Int]? = nil)
        -> (output: [Float], hN: [Float], cN: [Float]?) {
        let cfg = stack.config, H = cfg.hiddenSize, D = cfg.directions, L = cfg.numLayers
        let T = x.shape[0], B = x.shape[1]
        let lens = lengths ?? Array(repeating: T, count: B)
        var input: [[[Double]]] = (0..<T).map { t in (0..<B).map { b in
            (0..<cfg.inputSize).map { Double(x.data[(t * B + b) * cfg.inputSize + $0]) } } }
        var hN = [Float](repeating: 0, count: L * D * B * H), cN = hN
        func sigmoid(_ v: Double) -> Double { 1 / (1 + Foundation.exp(-v)) }
        for l in 0..<L {
            var output = [[[Double]]](repeating: [[Double]](repeating: [Double](repeating: 0, count: D * H), count: B), count: T)
            for d in 0..<D {
                let k = l * D + d, w = stack.weights[k]
                let wih = store.value(w.weightIH), whh = store.value(w.weightHH)
                let bih = store.value(w.biasIH), bhh = store.value(w.biasHH)
                let In = cfg.layerInputSize(l)
                for b in 0..<B {
                    var h = (0..<H).map { Double(h0?.data[(k * B + b) * H + $0] ?? 0) }
                    var c = (0..<H).map { Double(c0?.data[(k * B + b) * H + $0] ?? 0) }
                    let times = d == 0 ? Array(0..<lens[b]) : Array((0..<lens[b]).reversed())
                    for t in times {
                        let xt = input[t][b]
                        // a_ih[g] = W_ih[g] · x + b_ih[g],  a_hh[g] = W_hh[g] · h + b_hh[g]
                        let rowsG = cfg.kind.gates * H
                        var aih = [Double](repeating: 0, count: rowsG), ahh = aih
                        for g in 0..<rowsG {
                            var s = Double(bih.data[g])
                            for i in 0..<In { s += Double(wih.data[g * In + i]) * xt[i] }
                            aih[g] = s
                            var r = Double(bhh.data[g])
                            for i in 0..<H { r += Double(whh.data[g * H + i]) * h[i] }
                            ahh[g] = r
                        }
                        switch cfg.kind {
                        case .rnnTanh: h = (0..<H).map { Foundation.tanh(aih[$0] + ahh[$0]) }
                        case .rnnRelu: h = (0..<H).map { max(0, aih[$0] + ahh[$0]) }
                        case .lstm:
                            for u in 0..<H {
                                let i = sigmoid(aih[u] + ahh[u]), f = sigmoid(aih[H + u] + ahh[H + u])
                                let g = Foundation.tanh(aih[2 * H + u] + ahh[2 * H + u])
                                let o = sigmoid(aih[3 * H + u] + ahh[3 * H + u])
                                c[u] = f * c[u] + i * g
                                h[u] = o * Foundation.tanh(c[u])
                            }
                        case .gru:
                            for u in 0..<H {
                                let r = sigmoid(aih[u] + ahh[u]), z = sigmoid(aih[H + u] + ahh[H + u])
                                let n = Foundation.tanh(aih[2 * H + u] + r * ahh[2 * H + u])
                                h[u] = (1 - z) * n + z * h[u]
                            }
                        }
                        for u in 0..<H { output[t][b][d * H + u] = h[u] }
                    }
                    for u in 0..<H {
                        hN[(k * B + b) * H + u] = Float(h[u])
                        cN[(k * B + b) * H + u] = Float(c[u])
                    }
                }
            }
            input = output
        }
        let out = input.flatMap { $0.flatMap { $0.map { Float($0) } } }
        return (out, hN, cfg.kind.hasCellState ? cN : nil)
    }
}
