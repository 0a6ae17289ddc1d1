// Scenes of simple coloured shapes and their captions (the `caption-shapes` corpus).
//
// A scene holds one to three objects (shape, colour, size) laid out either
// alone, in a row (left to right) or in a column (top to bottom), so that
// every spatial relation a caption states is unambiguous: along the layout's
// axis the objects' boxes never overlap (at least a gap apart), across it
// their centres differ by at most a tenth of the picture.
//
// Captions follow a small regular grammar. The first is canonical: objects
// in layout order (left to right, top to bottom), one fixed phrasing per
// layout, so a model can learn it exactly:
//
//   one object     a small red circle
//   row of two     a small red circle to the left of a large blue square
//   column of two  a small red circle above a large blue square
//   row of three   a small red circle, a large blue square and a small green triangle from left to right
//   column of 3    a small red circle, a large blue square and a small green triangle from top to bottom
//
// The others say the same thing in other words ("a large blue square to the
// right of a small red circle", "there is a small red circle", ...), for
// BLEU/CIDEr-style multi-reference scoring. `ShapeCaption.parse` reads a
// canonical caption back into the scene's summary.
import Foundation
import RecurCore

/// The shapes a scene may hold.
public enum ShapeKind: String, CaseIterable, Sendable, Codable {
    case circle, square, triangle, diamond, cross, star

    /// The shapes scenes use unless told otherwise (star is left out: at 64
    /// pixels a small star is hard to tell from a cross).
    public static let defaults: [ShapeKind] = [.circle, .square, .triangle, .diamond, .cross]
}

/// The named colours of objects.
public enum ShapeColour: String, CaseIterable, Sendable, Codable {
    case red, green, blue, yellow, purple, orange

    /// The nominal RGB value (each object is jittered around it).
    public var rgb: (UInt8, UInt8, UInt8) {
        switch self {
        case .red: return (215, 35, 35)
        case .green: return (35, 160, 55)
        case .blue: return (35, 75, 215)
        case .yellow: return (235, 205, 30)
        case .purple: return (135, 50, 175)
        case .orange: return (240, 130, 20)
        }
    }
}

/// Small or large (about 0.19 and 0.30 of the picture's side).
public enum ShapeSize: String, CaseIterable, Sendable, Codable {
    case small, large
}

/// How the objects of a scene are laid out.
public enum ShapeArrangement: String, Sendable, Codable {
    /// One object.
    case single
    /// Left to right, centres at about the same height.
    case row
    /// Top to bottom, centres at about the same horizontal position.
    case column
}

/// A colour and a shape, e.g. "purple triangle" (what `--hold-out` names).
public struct ShapeCombination: Sendable, Hashable, Codable, CustomStringConvertible {
    public var colour: ShapeColour
    public var shape: ShapeKind

    public init(_ colour: ShapeColour, _ shape: ShapeKind) {
        self.colour = colour
        self.shape = shape
    }

    /// Parses "purple triangle" (colour then shape, spaces or a hyphen between).
    public init(parsing text: String) throws {
        let words = text.lowercased().split(whereSeparator: { $0 == " " || $0 == "-" || $0 == "_" }).map(String.init)
        guard words.count == 2, let c = ShapeColour(rawValue: words[0]), let s = ShapeKind(rawValue: words[1]) else {
            throw RecurError(.usage, "cannot read the combination \"\(text)\": give a colour and a shape, e.g. \"purple triangle\" "
                + "(colours: \(ShapeColour.allCases.map(\.rawValue).joined(separator: ", ")); "
                + "shapes: \(ShapeKind.allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        self.init(c, s)
    }

    public var description: String { "\(colour.rawValue) \(shape.rawValue)" }
}

/// What a caption says about one object.
public struct ShapeDescription: Sendable, Hashable, Codable, CustomStringConvertible {
    public var size: ShapeSize
    public var colour: ShapeColour
    public var shape: ShapeKind

    public init(_ size: ShapeSize, _ colour: ShapeColour, _ shape: ShapeKind) {
        self.size = size
        self.colour = colour
        self.shape = shape
    }

    public var combination: ShapeCombination { ShapeCombination(colour, shape) }
    /// "a small red circle".
    public var phrase: String { "a \(size.rawValue) \(colour.rawValue) \(shape.rawValue)" }
    public var description: String { "\(size.rawValue) \(colour.rawValue) \(shape.rawValue)" }
}

/// What a canonical caption says: the layout and the objects in layout order.
public struct ShapeSummary: Sendable, Hashable, Codable {
    public var arrangement: ShapeArrangement
    public var objects: [ShapeDescription]

    public init(arrangement: ShapeArrangement, objects: [ShapeDescription]) {
        self.arrangement = arrangement
        self.objects = objects
    }
}

/// One object as drawn: what it is, where its centre is and how big its box is (pixels).
public struct ShapeObject: Sendable, Hashable, Codable {
    public var description: ShapeDescription
    /// Centre, pixels from the left and from the top.
    public var x: Float
    public var y: Float
    /// Side of the object's square bounding box, pixels.
    public var extent: Float
    /// The colour actually used (the named colour, jittered).
    public var rgb: [UInt8]
}

/// The backdrop: one colour, or two split along a line.
public struct ShapeBackground: Sendable, Hashable, Codable {
    public enum Split: String, Sendable, Codable { case none, vertical, horizontal, diagonal }
    public var first: [UInt8]
    public var second: [UInt8]
    public var split: Split
    /// Where the split lies, as a fraction of the side (0…1).
    public var position: Float
}

/// A whole scene: what to draw and what to say about it.
public struct ShapeScene: Sendable, Hashable, Codable {
    /// Picture side in pixels (square pictures).
    public var size: Int
    public var arrangement: ShapeArrangement
    /// The objects in canonical order (left to right for a row, top to bottom for a column).
    public var objects: [ShapeObject]
    public var background: ShapeBackground
    /// Standard deviation of the Gaussian pixel noise, in 0…255 levels.
    public var noise: Float
    /// The seed the noise is drawn from.
    public var noiseSeed: UInt64

    /// What the canonical caption must say.
    public var summary: ShapeSummary {
        ShapeSummary(arrangement: arrangement, objects: objects.map(\.description))
    }

    /// The reference captions, the canonical one first.
    public var captions: [String] { ShapeCaption.captions(summary) }
}

/// The caption grammar.
public enum ShapeCaption {
    /// The reference captions of a summary, the canonical one first.
    public static func captions(_ s: ShapeSummary) -> [String] {
        let p = s.objects.map(\.phrase)
        switch (s.arrangement, p.count) {
        case (.single, 1):
            return [p[0], "there is \(p[0])", "the picture shows \(p[0])"]
        case (.row, 2):
            return ["\(p[0]) to the left of \(p[1])", "\(p[1]) to the right of \(p[0])",
                    "there is \(p[0]) to the left of \(p[1])", "\(p[0]) and \(p[1]) side by side"]
        case (.column, 2):
            return ["\(p[0]) above \(p[1])", "\(p[1]) below \(p[0])",
                    "there is \(p[0]) above \(p[1])", "\(p[0]) and \(p[1]) one above the other"]
        case (.row, 3):
            return ["\(p[0]), \(p[1]) and \(p[2]) from left to right", "\(p[2]), \(p[1]) and \(p[0]) from right to left",
                    "\(p[0]) to the left of \(p[1]), which is to the left of \(p[2])"]
        case (.column, 3):
            return ["\(p[0]), \(p[1]) and \(p[2]) from top to bottom", "\(p[2]), \(p[1]) and \(p[0]) from bottom to top",
                    "\(p[0]) above \(p[1]), which is above \(p[2])"]
        default:
            preconditionFailure("no caption for \(s.arrangement) with \(p.count) objects")
        }
    }

    /// The canonical caption.
    public static func canonical(_ s: ShapeSummary) -> String { captions(s)[0] }

    /// Reads a canonical caption back (case and spacing around commas are
    /// forgiven); nil when it does not follow the grammar.
    public static func parse(_ caption: String) -> ShapeSummary? {
        let words = caption.lowercased().replacingOccurrences(of: ",", with: " , ")
            .split(separator: " ").map(String.init)
        var i = 0
        func object() -> ShapeDescription? {
            guard i + 4 <= words.count, words[i] == "a",
                  let size = ShapeSize(rawValue: words[i + 1]),
                  let colour = ShapeColour(rawValue: words[i + 2]),
                  let shape = ShapeKind(rawValue: words[i + 3]) else { return nil }
            i += 4
            return ShapeDescription(size, colour, shape)
        }
        func expect(_ phrase: String) -> Bool {
            let w = phrase.split(separator: " ").map(String.init)
            guard i + w.count <= words.count, Array(words[i..<(i + w.count)]) == w else { return false }
            i += w.count
            return true
        }
        guard let a = object() else { return nil }
        if i == words.count { return ShapeSummary(arrangement: .single, objects: [a]) }
        if expect("to the left of") || expect("above") {
            let arrangement: ShapeArrangement = words[i - 1] == "above" ? .column : .row
            guard let b = object(), i == words.count else { return nil }
            return ShapeSummary(arrangement: arrangement, objects: [a, b])
        }
        guard expect(","), let b = object(), expect("and"), let c = object() else { return nil }
        let arrangement: ShapeArrangement
        if expect("from left to right") { arrangement = .row } else if expect("from top to bottom") { arrangement = .column } else { return nil }
        guard i == words.count else { return nil }
        return ShapeSummary(arrangement: arrangement, objects: [a, b, c])
    }
}
