// RecurPipelines: Pipeline files, stage records and the runner that chains stages (issue 7).
