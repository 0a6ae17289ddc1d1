import RecurCore
import Synchronization

/// Reusable buffers for `Seq2Seq.trainStep`: one growable block per slot, kept
/// across steps and batches, so a training step allocates no large tensors
/// (no page faults, no zero-filling of the logits). Contents are NOT zeroed
/// between uses: every user overwrites what it reads or zeroes it itself.
final class Seq2SeqWorkspace: @unchecked Sendable {
    enum Slot: Int, CaseIterable {
        case embedding, gates, states, cells, extra, hh, attentional, combined, logits, dAttentional, dPre
        case du, dContext, dOut, dh, dc, dFeed, dGx, dGh, dEmbedding
        /// Transposed weights for the per-step products (see BLAS.transpose: why).
        case whhT, feedT, combineT
    }

    private var blocks: [TensorStorage?] = Array(repeating: nil, count: Slot.allCases.count)

    /// A view of `shape` on the slot's block (grown when too small; old contents are not kept).
    func tensor(_ slot: Slot, _ shape: [Int]) -> Tensor {
        let n = Tensor.elementCount(shape)
        if let b = blocks[slot.rawValue], b.count >= n { return Tensor(storage: b, offset: 0, shape: shape) }
        let b = TensorStorage(count: n)
        blocks[slot.rawValue] = b
        return Tensor(storage: b, offset: 0, shape: shape)
    }

    /// Floats held in all blocks.
    var capacity: Int { blocks.reduce(0) { $0 + ($1?.count ?? 0) } }
}

/// A pool of workspaces: each call takes one (or makes one) and gives it back,
/// so concurrent calls on one model never share buffers.
final class Seq2SeqWorkspacePool: Sendable {
    private let free = Mutex<[Seq2SeqWorkspace]>([])

    func with<R>(_ body: (Seq2SeqWorkspace) throws -> R) rethrows -> R {
        let ws = free.withLock { $0.popLast() } ?? Seq2SeqWorkspace()
        defer { free.withLock { $0.append(ws) } }
        return try body(ws)
    }

    /// Drops every idle workspace (their memory is freed).
    func removeAll() { free.withLock { $0.removeAll() } }
}
