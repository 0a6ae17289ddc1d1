import RecurFrontends

// TextNormalizer is saved with models (ModelFile's `normalizer` metadata) and
// may sit in recipes: `{"form": "nfc", "lowercase": false}`. Both keys are
// optional when decoding (defaults: nfc, no lowercasing). Written out by hand
// because Codable cannot be synthesized outside the type's own file.

extension TextNormalizer.Form: Codable {}

extension TextNormalizer: Codable {
    private enum CodingKeys: String, CodingKey { case form, lowercase }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(form: try c.decodeIfPresent(Form.self, forKey: .form) ?? .nfc,
                  lowercase: try c.decodeIfPresent(Bool.self, forKey: .lowercase) ?? false)
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(form, forKey: .form)
        try c.encode(lowercase, forKey: .lowercase)
    }
}
