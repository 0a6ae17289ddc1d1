import Foundation
import RecurCore
@testable import RecurLayers
import RecurTestSupport
import XCTest

/// PyTorch parity: scripts/make_torch_fixtures_rnn.py ran torch.nn.RNN/LSTM/GRU
/// (1 layer, 1 layer packed, 2 layers bidirectional packed) in float64 on
/// float32 weights; outputs, final states and every gradient must match to
/// 1e-5 relative (plus 2e-6 absolute for values near zero).
final class RecurrentParityTests: XCTestCase {
    private func fixture(_ name: String) throws -> SafeTensorsFile {
        guard let url = Bundle.module.url(forResource: "rnn_\(name)", withExtension: "safetensors",
                                          subdirectory: "Fixtures") else {
            throw RecurError(.io, "fixture rnn_\(name).safetensors missing: run scripts/make_torch_fixtures_rnn.py")
        }
        return try SafeTensorsFile(path: url.path)
    }

    private func check(_ kind: RecurrentKind, _ torchKind: String, _ variant: String,
                       file: StaticString = #filePath, line: UInt = #line) throws {
        let f = try fixture("\(torchKind)_\(variant)")
        let layers = Int(f.metadata["layers"] ?? "") ?? 0
        let bidirectional = f.metadata["bidirectional"] == "true"
        let I = Int(f.metadata["input"] ?? "") ?? 0, H = Int(f.metadata["hidden"] ?? "") ?? 0
        var layout = ParameterLayout()
        let layer = RecurrentStack(&layout, prefix: "", config: RecurrentConfig(
            kind: kind, inputSize: I, hiddenSize: H, numLayers: layers, bidirectional: bidirectional))
        let store = ParameterStore(layout)
        for name in layout.names { try f.load(name, into: store.value(name)!) }
        let x = try f.floats("x"), h0 = try f.floats("h0")
        let c0 = kind.hasCellState ? try f.floats("c0") : nil
        let lengths = try f.ints("lengths")
        let (out, cache) = layer.forward(store, x, h0: h0, c0: c0, lengths: lengths)
        let what = "\(torchKind)_\(variant)"
        assertClose(out.output, try f.floats("output"), atol: 2e-6, "\(what) output", file: file, line: line)
        assertClose(out.hN, try f.floats("hN"), atol: 2e-6, "\(what) hN", file: file, line: line)
        if let cN = out.cN { assertClose(cN, try f.floats("cN"), atol: 2e-6, "\(what) cN", file: file, line: line) }

        let w3 = kind.hasCellState ? try f.floats("W3") : nil
        store.zeroGrads()
        let g = layer.backward(store, cache, dOutput: try f.floats("W1"), dhN: try f.floats("W2"), dcN: w3)
        for name in layout.names {
            assertClose(store.grad(name)!, try f.floats("grad." + name), atol: 2e-6, "\(what) grad.\(name)",
                        file: file, line: line)
        }
        assertClose(g.dx, try f.floats("grad.x"), atol: 2e-6, "\(what) grad.x", file: file, line: line)
        assertClose(g.dh0, try f.floats("grad.h0"), atol: 2e-6, "\(what) grad.h0", file: file, line: line)
        if let dc0 = g.dc0 { assertClose(dc0, try f.floats("grad.c0"), atol: 2e-6, "\(what) grad.c0", file: file, line: line) }
    }

    private let variants = ["l1", "l1_packed", "l2_bi_packed"]

    func testRNNTanhMatchesPyTorch() throws {
        for v in variants { try check(.rnnTanh, "rnn_tanh", v) }
    }

    func testRNNReluMatchesPyTorch() throws {
        for v in variants { try check(.rnnRelu, "rnn_relu", v) }
    }

    func testLSTMMatchesPyTorch() throws {
        for v in variants { try check(.lstm, "lstm", v) }
    }

    func testGRUMatchesPyTorch() throws {
        for v in variants { try check(.gru, "gru", v) }
    }

    /// Parameter names and registration order are torch's, so a state dict
    /// moves over unchanged.
    func testParameterNamesFollowPyTorch() {
        var layout = ParameterLayout()
        _ = LSTM(&layout, prefix: "enc.", inputSize: 3, hiddenSize: 4, numLayers: 2, bidirectional: true)
        XCTAssertEqual(Array(layout.names.prefix(8)), [
            "enc.weight_ih_l0", "enc.weight_hh_l0", "enc.bias_ih_l0", "enc.bias_hh_l0",
            "enc.weight_ih_l0_reverse", "enc.weight_hh_l0_reverse", "enc.bias_ih_l0_reverse", "enc.bias_hh_l0_reverse",
        ])
        XCTAssertEqual(layout.ref("enc.weight_ih_l1")?.shape, [16, 8])
        XCTAssertEqual(layout.ref("enc.weight_hh_l1_reverse")?.shape, [16, 4])
        var l2 = ParameterLayout()
        _ = GRU(&l2, prefix: "", inputSize: 3, hiddenSize: 4)
        XCTAssertEqual(l2.ref("bias_hh_l0")?.shape, [12])
        var l3 = ParameterLayout()
        _ = RNN(&l3, prefix: "", inputSize: 3, hiddenSize: 4, nonlinearity: "relu")
        XCTAssertEqual(l3.ref("weight_hh_l0")?.shape, [4, 4])
    }
}
