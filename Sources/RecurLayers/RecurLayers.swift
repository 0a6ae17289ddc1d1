// RecurLayers: Recurrent layers with forward and backward passes, optimizers, schedules and initializers (issue 4).
