// RecurTraining: Datasets, batching, the training loop and metrics (issue 5).
