import ArgumentParser

// PLACEHOLDER: replaced by the helper that owns this command.
struct BenchRNN: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rnn", abstract: "RNN, LSTM and GRU training and inference throughput.")
    func run() throws { throw ValidationError("rnn is not built yet") }
}
