// RecurPipelines: pipeline files, stage records and the runner that chains
// stages (issue 7).
//
// IO/ holds what every command meets in the shell, with no model needed:
// - StageRecord (on RecurCore's JSONValue): the JSON Lines record passed between stages;
//   unknown keys survive a read and write. `advanced(stage:model:text:...)`
//   makes the next stage's record (earlier results go to `history`).
// - RecordReader: plain lines or records, detected once per stream from the
//   first non-blank line; LineReader under it returns each line as it comes.
// - RecordWriter: one line per record with write(2), compact JSON, stable keys.
// - InputExpander: files, `-`, globs, directories by extension, @list.txt;
//   missing inputs become `.failed` items in place.
// - BatchRunner: --jobs N, results delivered in input order as they are
//   ready, one stderr line per failure; `run` over a list of inputs,
//   `runStream` over records arriving from a pipe. ExitStatus: 0 / 1 / 2 / 141.
// - UnixManners, ProgressLine, StandardError: SIGPIPE, "how to give input",
//   a progress line only when stderr is a terminal.
// - SubtitleDocument: SRT and WebVTT reading and writing with exact times.
//
// A text command wires them like this (sketch):
//
//     UnixManners.ignoreSIGPIPE()
//     let args = try UnixManners.inputArguments(inputs, command: "recur translate",
//                                               example: "echo 'Hello.' | recur translate")
//     let items = InputExpander(extensions: ["txt", "jsonl", "srt", "vtt"]).expand(args)
//     let out = RecordWriter(format: jsonl ? .jsonl : .plain)
//     let progress = ProgressLine(total: items.count)
//     do {
//         let summary = try BatchRunner.run(items, jobs: jobs, name: \.name, progress: progress,
//             work: { item in try RecordReader(input: item).readAll().map { r in
//                 r.advanced(stage: "translate", model: name, text: translate(r.text)) } },
//             deliver: { _, records in for r in records { try out.write(r) } })
//         throw ExitCode(summary.exitStatus.rawValue)
//     } catch let e as OutputClosed { throw ExitCode(ExitStatus.forError(e).rawValue) }
