// RecurDecoding: Greedy, beam and sampled decoding (issue 5).
