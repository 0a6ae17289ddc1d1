// RecurModels: Encoder-decoder models, the language model, the classifier and the checkpoint format (issue 5).
